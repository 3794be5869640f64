#include "overlay/content_diff.h"

#include <unistd.h>

#include <cerrno>

#include "image/tree_builder.h"
#include "overlay/text_diff.h"
#include "overlay/upper_tree.h"

namespace goldroot {

namespace {

constexpr uint64_t kLargest = 64 << 20;

Result<std::string> read_all(int fd, const std::string& display) {
  std::string data;
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("reading " + display, errno);
    }
    if (n == 0) return data;
    data.append(buffer, static_cast<size_t>(n));
    if (data.size() > kLargest)
      return make_error(ErrorCode::kInvalidArgument,
                        display + " is larger than 64 MiB; --content shows config-sized files");
  }
}

// One side of the diff: nullopt when the file is absent.
using Side = std::optional<std::string>;

Result<Side> lower_side(Lower& lower, const std::string& lower_path, const std::string& shown) {
  std::optional<Entry> entry = TRY(lower.lookup(lower_path));
  if (!entry) return Side();
  if (entry->type != FileType::kRegular)
    return make_error(ErrorCode::kInvalidArgument,
                      shown + " is a " + std::string(file_type_name(entry->type)) +
                          " in the lower, not a regular file");
  UniqueFd fd = TRY(lower.open_content(lower_path, *entry));
  return Side(TRY(read_all(fd.get(), shown + " in the lower")));
}

}  // namespace

Result<std::string> content_diff(Lower& lower, const std::string& upper_dir,
                                 const std::string& path, const ChangeOptions& options) {
  auto parts = TRY(split_relative_path(path, "path"));
  std::string relative;
  for (const std::string& part : parts) relative = child_path(relative, part);
  const std::string shown = absolute_path(relative);
  UpperTree upper = TRY(UpperTree::read(upper_dir, OverlayConventions(options.xattrs)));
  UpperTree::Resolved merged = upper.resolve(relative);

  std::string baseline = relative;
  Side now;
  if (merged.upper) {
    const UpperNode& node = *merged.upper;
    if (node.entry.type != FileType::kRegular)
      return make_error(ErrorCode::kInvalidArgument,
                        shown + " is a " + std::string(file_type_name(node.entry.type)) +
                            " on this machine, not a regular file");
    if (upper.moved(node)) baseline = *node.origin;
    if (node.metacopy) {
      if (!node.origin) return make_error(ErrorCode::kCorruption, shown + " has no lower data");
      now = TRY(lower_side(lower, *node.origin, shown));
    } else {
      UniqueFd fd = TRY(upper.open_file(node));
      now = TRY(read_all(fd.get(), shown));
    }
  } else if (merged.lower) {
    now = TRY(lower_side(lower, *merged.lower, shown));
  }
  Side before = TRY(lower_side(lower, baseline, absolute_path(baseline)));
  if (!before && !now)
    return make_error(ErrorCode::kNotFound,
                      shown + " exists neither in the lower nor on this machine");
  if ((before && looks_binary(*before)) || (now && looks_binary(*now)))
    return make_error(ErrorCode::kInvalidArgument,
                      shown + " is a binary file; --content shows text files only");
  return unified_diff(before.value_or(""), now.value_or(""),
                      before ? "lower" + absolute_path(baseline) : "/dev/null",
                      now ? "merged" + shown : "/dev/null");
}

}  // namespace goldroot
