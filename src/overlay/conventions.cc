#include "overlay/conventions.h"

#include <sys/sysmacros.h>

#include <algorithm>

namespace goldroot {

OverlayConventions::OverlayConventions(XattrNamespace space)
    : prefix_(space == XattrNamespace::kUser ? "user.overlay." : "trusted.overlay.") {}

std::optional<std::string> OverlayConventions::get(const Xattrs& raw,
                                                   std::string_view suffix) const {
  for (const auto& [name, value] : raw)
    if (name.size() == prefix_.size() + suffix.size() && name.starts_with(prefix_) &&
        std::string_view(name).substr(prefix_.size()) == suffix)
      return value;
  return std::nullopt;
}

Xattrs OverlayConventions::visible(const Xattrs& raw) const {
  const std::string escaped = prefix_ + "overlay.";
  Xattrs shown;
  for (const auto& [name, value] : raw) {
    if (name.starts_with(escaped))
      shown.emplace_back(prefix_ + name.substr(escaped.size()), value);
    else if (!name.starts_with(prefix_))
      shown.emplace_back(name, value);
  }
  std::sort(shown.begin(), shown.end());
  return shown;
}

bool OverlayConventions::is_opaque(const Xattrs& raw) const {
  auto value = get(raw, "opaque");
  return value && *value == "y";
}

bool OverlayConventions::holds_xwhiteouts(const Xattrs& raw) const {
  auto value = get(raw, "opaque");
  return (value && *value == "x") || get(raw, "whiteouts").has_value();
}

bool OverlayConventions::is_xwhiteout(const struct stat& st, const Xattrs& raw) const {
  return S_ISREG(st.st_mode) && st.st_size == 0 && get(raw, "whiteout").has_value();
}

bool OverlayConventions::is_metacopy(const Xattrs& raw) const {
  return get(raw, "metacopy").has_value();
}

bool is_whiteout_device(const struct stat& st) {
  return S_ISCHR(st.st_mode) && ::major(st.st_rdev) == 0 && ::minor(st.st_rdev) == 0;
}

}  // namespace goldroot
