// JSON from sources we do not trust (a host's report, a downloaded
// manifest, a login body): nlohmann::json parses deep nesting fine but
// copies and dumps it recursively, so a few hundred kilobytes of '[' would
// overflow the stack of whoever touches the value. parse_untrusted_json
// refuses nesting deeper than `max_depth` before parsing.
#pragma once

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

namespace goldroot {

// Whether no array or object in `text` (strings skipped) nests deeper than
// `max_depth`.
bool json_nesting_within(std::string_view text, size_t max_depth);

// Json::parse without exceptions; a discarded value (is_discarded()) when
// `text` is malformed or nests deeper than `max_depth`.
template <typename Json = nlohmann::json>
Json parse_untrusted_json(std::string_view text, size_t max_depth = 64) {
  if (!json_nesting_within(text, max_depth)) return Json(Json::value_t::discarded);
  return Json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace goldroot
