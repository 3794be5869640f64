#include "layer/layer_diff.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "base/strings.h"
#include "sys/unique_fd.h"

namespace goldroot {

namespace {

Result<std::string> content_of(const RenderedLayer& layer, const std::string& path,
                               const MergedNode& node) {
  if (node.kind == NodeKind::kTemplate) return layer.contents.at(path);
  UniqueFd fd(::open(node.source.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return errno_error("reading " + node.source, errno);
  std::string data;
  char buffer[65536];
  for (ssize_t n; (n = ::read(fd.get(), buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("reading " + node.source, errno);
    data.append(buffer, static_cast<size_t>(n));
  }
  return data;
}

bool is_regular(NodeKind kind) { return kind == NodeKind::kFile || kind == NodeKind::kTemplate; }

std::string octal(mode_t mode) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "%04o", static_cast<unsigned>(mode & 07777));
  return buffer;
}

}  // namespace

Result<std::vector<LayerDifference>> diff_layers(const RenderedLayer& first,
                                                 const RenderedLayer& second) {
  using Change = LayerDifference::Change;
  std::vector<LayerDifference> out;
  const auto& a = first.merged.nodes;
  const auto& b = second.merged.nodes;
  auto i = a.begin();
  auto j = b.begin();
  while (i != a.end() || j != b.end()) {
    if (j == b.end() || (i != a.end() && i->first < j->first)) {
      out.push_back({Change::kOnlyFirst, i->first, i->second.layer, "", {}});
      ++i;
      continue;
    }
    if (i == a.end() || j->first < i->first) {
      out.push_back({Change::kOnlySecond, j->first, "", j->second.layer, {}});
      ++j;
      continue;
    }
    const MergedNode& x = i->second;
    const MergedNode& y = j->second;
    std::vector<std::string> what;
    bool comparable = x.kind == y.kind || (is_regular(x.kind) && is_regular(y.kind));
    if (!comparable) {
      what.push_back(std::string("type ") + node_kind_name(x.kind) + " -> " +
                     node_kind_name(y.kind));
    } else if (is_regular(x.kind)) {
      bool same_source =
          x.kind == NodeKind::kFile && y.kind == NodeKind::kFile && x.source == y.source;
      if (!same_source &&
          TRY(content_of(first, i->first, x)) != TRY(content_of(second, j->first, y)))
        what.push_back("content");
    } else if (x.kind == NodeKind::kSymlink && x.link_target != y.link_target) {
      what.push_back("target " + x.link_target + " -> " + y.link_target);
    } else if (x.kind == NodeKind::kSpecial && x.st.st_rdev != y.st.st_rdev) {
      what.push_back("device");
    }
    if (comparable && x.kind != NodeKind::kWhiteout) {
      if (x.kind != NodeKind::kSymlink && (x.st.st_mode & 07777) != (y.st.st_mode & 07777))
        what.push_back("mode " + octal(x.st.st_mode) + " -> " + octal(y.st.st_mode));
      if (x.st.st_uid != y.st.st_uid || x.st.st_gid != y.st.st_gid)
        what.push_back("owner " + std::to_string(x.st.st_uid) + ":" + std::to_string(x.st.st_gid) +
                       " -> " + std::to_string(y.st.st_uid) + ":" + std::to_string(y.st.st_gid));
      if (x.opaque != y.opaque) what.push_back(x.opaque ? "opaque -> merged" : "merged -> opaque");
    }
    if (!what.empty()) out.push_back({Change::kDiffers, i->first, x.layer, y.layer, what});
    ++i;
    ++j;
  }
  return out;
}

std::string format_difference(const LayerDifference& d) {
  switch (d.change) {
    case LayerDifference::Change::kOnlyFirst:
      return "- " + d.path + "  (" + d.first_layer + ")";
    case LayerDifference::Change::kOnlySecond:
      return "+ " + d.path + "  (" + d.second_layer + ")";
    case LayerDifference::Change::kDiffers:
      return "~ " + d.path + "  " + join(d.what, ", ") + "  (" + d.first_layer + " | " +
             d.second_layer + ")";
  }
  return d.path;
}

nlohmann::json to_json(const LayerDifference& d) {
  const char* change = d.change == LayerDifference::Change::kOnlyFirst    ? "only_first"
                       : d.change == LayerDifference::Change::kOnlySecond ? "only_second"
                                                                          : "differs";
  return {{"change", change},
          {"path", d.path},
          {"first_layer", d.first_layer},
          {"second_layer", d.second_layer},
          {"what", d.what}};
}

}  // namespace goldroot
