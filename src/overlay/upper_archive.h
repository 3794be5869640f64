// UpperArchive: an overlayfs upper dir as a pax tar stream, produced in
// pieces — what goldroot-agent uploads for `goldroot capture --host`.
//
// The upper goes raw, as the kernel left it, so the receiver can unpack it
// and read it with the same code as a local upper (capture.h): whiteouts
// (0/0 character devices, and xattr whiteouts), and every xattr including
// the overlay's own (opaque, redirect, metacopy, origin) as
// SCHILY.xattr.* records, which libarchive and GNU tar restore. Metadata-
// only copies (metacopy) carry no bytes: theirs are the lower's. Hard links
// are tar links; the root dir is the member ".". Sockets cannot be put in a
// tar and are skipped (counted). Nanosecond mtimes are kept.
//
// open() walks the tree first, reading only metadata; read() then writes
// the archive, reading each file when its turn comes, so memory follows the
// number of entries, never their bytes. A live upper may change meanwhile:
// a file that shrank is padded with zeros and one that grew is cut to the
// size the walk saw, and either is named in `changed_while_read` (GNU tar's
// "file changed as we read it").
//
// Owns a descriptor of the upper dir and of the file being read. Not
// thread-safe.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "overlay/conventions.h"
#include "sys/unique_fd.h"

namespace goldroot {

struct UpperArchiveStats {
  uint64_t entries = 0;
  uint64_t file_bytes = 0;  // regular data in the archive
  uint64_t skipped_sockets = 0;
  std::vector<std::string> changed_while_read;  // "/etc/x"
};

class UpperArchive {
 public:
  static Result<UpperArchive> open(const std::string& upper_dir, XattrNamespace xattrs);

  // Fills up to `size` bytes of `buffer` with the next part of the archive;
  // 0 once it is complete.
  Result<size_t> read(char* buffer, size_t size);

  const UpperArchiveStats& stats() const { return stats_; }

 private:
  struct Item {
    std::string path;  // relative; "." for the root
    struct stat st;
    Xattrs xattrs;
    std::string link;       // symlink target, or the earlier path of a hard link
    bool hard_link = false;
    uint64_t data = 0;      // bytes of file data in the archive
  };

  UpperArchive() = default;
  Status walk(int dir_fd, const std::string& path, const OverlayConventions& conventions);
  void add_item(Item item, const OverlayConventions& conventions);
  // Puts the headers of items_[next_] into pending_ and opens its file.
  Status start_item();

  std::string dir_;
  UniqueFd root_;
  std::vector<Item> items_;
  std::map<std::pair<dev_t, ino_t>, std::string> first_links_;  // inode -> first path
  UpperArchiveStats stats_;

  size_t next_ = 0;        // the item whose headers come next
  std::string pending_;    // header bytes not yet handed out
  size_t pending_at_ = 0;
  UniqueFd file_;          // the file whose data is going out
  const Item* current_ = nullptr;
  uint64_t data_left_ = 0;  // of current_'s data
  uint64_t padding_left_ = 0;
  bool shortened_ = false;  // current_'s file ended early
  bool trailer_written_ = false;
};

}  // namespace goldroot
