// Entry and Tree: the store's model of a directory.
//
// A Tree is the sorted list of a directory's entries, each with every piece
// of metadata a root filesystem needs (type, permission bits with
// setuid/setgid/sticky, owner, nanosecond mtime, device numbers, symlink
// target, xattrs). Regular files point at a content object by digest;
// directories point at their own Tree. Metadata lives in the tree, not the
// content object, so identical bytes are stored once whatever their owners.
//
// Trees serialize to a canonical binary form whose SHA-256 names them.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/hash.h"
#include "base/result.h"

namespace goldroot {

enum class FileType : uint8_t {
  kRegular = 1,
  kDirectory = 2,
  kSymlink = 3,
  kCharDevice = 4,
  kBlockDevice = 5,
  kFifo = 6,
  kSocket = 7,
};

const char* file_type_name(FileType type);
FileType file_type_from_mode(mode_t mode);
mode_t mode_type_bits(FileType type);

using Xattrs = std::vector<std::pair<std::string, std::string>>;  // sorted by name

struct Entry {
  std::string name;
  FileType type = FileType::kRegular;
  uint32_t mode = 0;  // permission bits only (07777)
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime_sec = 0;
  uint32_t mtime_nsec = 0;
  uint64_t size = 0;   // regular files
  uint64_t rdev = 0;   // devices
  Digest digest;       // regular: content object; directory: tree object
  std::string target;  // symlinks
  Xattrs xattrs;

  bool same_metadata(const Entry& other) const;
  // Names of the metadata that differ: "mode", "owner", "mtime", "xattrs".
  std::vector<std::string> metadata_differences(const Entry& other) const;
  bool same_content(const Entry& other) const;
  bool operator==(const Entry& other) const = default;
};

struct Tree {
  std::vector<Entry> entries;  // sorted by name, unique

  std::string serialize() const;
  static Result<Tree> parse(std::string_view data);
  const Entry* find(std::string_view name) const;
};

// Paths are shown escaped so that any byte sequence prints on one line.
std::string escape_path(std::string_view raw);
Result<std::string> unescape_path(std::string_view escaped);

// "drwxr-xr-x"-style mode string.
std::string mode_string(FileType type, uint32_t mode);

}  // namespace goldroot
