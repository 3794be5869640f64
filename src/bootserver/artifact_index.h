// ArtifactIndex: which exported artifacts, kernels and initrds the boot
// server may hand out, by content digest. Built from the export records in
// SITE/exports and rebuilt when a digest is asked for that it does not know
// (an export made while the server runs). Only files named by an export
// record are served: the store's other objects (an image's /etc/shadow…)
// are never reachable by digest.
//
// An artifact is offered only after its file was hashed and found to be
// what its record says (size and SHA-256): once when the server starts and
// once when an export appears or its file changes. One that differs is
// refused with a line on stderr, so a damaged or truncated export is never
// handed to a lab whose every boot would fail its digest check.
//
// An erofs artifact's dm-verity tree (`<artifact>.verity`, image/export.h)
// is checked the same way against the size and SHA-256 its record gives.
// Without a good tree the image is still offered, but without its verity
// (so hosts fetch it in full), and a line on stderr says how to fix it.
//
// Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "image/export.h"

namespace goldroot {

class ArtifactIndex {
 public:
  ArtifactIndex(const Store* store, std::string exports_dir);

  // The artifact file for "<sha256>.<format>", if exported.
  std::optional<Artifact> image(const std::string& digest_and_format);
  // The verity tree of the exported image whose sha256 is `image_sha256`
  // (hex), if its tree checked out.
  struct Tree {
    std::string path;
    Digest sha256;  // of the tree file
  };
  std::optional<Tree> verity_tree(const std::string& image_sha256);
  // The store object path of a kernel or initrd with this digest.
  std::optional<std::string> boot_file(const std::string& digest);
  // The artifact of `commit` in `format`, if exported; its verity is
  // cleared when its tree is not offered.
  Result<std::optional<Artifact>> for_commit(const Digest& commit, ExportFormat format);

 private:
  // Rereads SITE/exports if its mtime moved since the last read (an export
  // adds files there); a miss costs one stat, whatever clients ask for.
  void rescan();
  // Whether the file at `path` holds what its record says; hashes it
  // unless this file (same inode, size and mtime) was checked before.
  bool verified(const std::string& path, const Digest& sha256, uint64_t size);

  // What identifies one version of a file: a new export is a new inode.
  struct FileStamp {
    int64_t inode, size, mtime_seconds, mtime_nanoseconds;
    bool operator==(const FileStamp&) const = default;
  };
  struct Checked {
    FileStamp stamp;
    bool good;
  };

  const Store* store_;
  std::string exports_dir_;
  std::mutex mutex_;
  std::map<std::string, Artifact> images_;        // "<sha256>.<format>"
  std::map<std::string, std::string> boot_files_;  // sha256 -> object path
  std::map<std::string, Tree> trees_;               // image sha256 -> its verity tree
  std::optional<std::pair<int64_t, int64_t>> scanned_mtime_;
  std::mutex rescan_mutex_;                 // one rescan (and its hashing) at a time
  std::map<std::string, Checked> checked_;  // by path; under rescan_mutex_
};

}  // namespace goldroot
