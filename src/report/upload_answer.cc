#include "report/upload_answer.h"

#include "base/json.h"

namespace goldroot {

namespace {

using Json = nlohmann::json;

Error malformed(const std::string& what) { return make_error(ErrorCode::kCorruption, what); }

std::string quoted(const char* name) { return std::string("\"") + name + "\""; }

// A count: a JSON integer >= 0 (nlohmann keeps those as unsigned).
Result<uint64_t> count_field(const Json& json, const char* name, bool required) {
  auto found = json.find(name);
  if (found == json.end() || found->is_null()) {
    if (required) return malformed(quoted(name) + " is missing");
    return uint64_t{0};
  }
  if (!found->is_number_unsigned()) return malformed(quoted(name) + " is not a whole number");
  return found->get<uint64_t>();
}

}  // namespace

Result<UploadAnswer> UploadAnswer::parse(std::string_view output) {
  Json json = parse_untrusted_json(output);
  if (json.is_discarded()) return malformed("it is not JSON");
  if (!json.is_object()) return malformed("it is not a JSON object");
  UploadAnswer answer;
  auto sha256 = json.find("sha256");
  if (sha256 == json.end() || sha256->is_null()) return malformed("\"sha256\" is missing");
  if (!sha256->is_string()) return malformed("\"sha256\" is not a string");
  auto digest = Digest::from_hex(sha256->get_ref<const std::string&>());
  if (!digest) return malformed("\"sha256\" is not 64 hex digits");
  answer.sha256 = *digest;
  answer.bytes = TRY(count_field(json, "bytes", true));
  answer.entries = TRY(count_field(json, "entries", false));
  answer.skipped_sockets = TRY(count_field(json, "skipped_sockets", false));
  if (auto paths = json.find("changed_while_read"); paths != json.end() && !paths->is_null()) {
    if (!paths->is_array()) return malformed("\"changed_while_read\" is not a list");
    for (const Json& path : *paths) {
      if (!path.is_string()) return malformed("\"changed_while_read\" holds something not a path");
      answer.changed_while_read.push_back(path.get<std::string>());
    }
  }
  return answer;
}

}  // namespace goldroot
