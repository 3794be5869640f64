// Commit: one version of an image. It names the root tree (a tree holding a
// single entry "." that carries the root directory's own metadata), its
// parents, when and why it was made, summary figures for listings, and the
// hardlink groups of the tree. Hardlinks live here rather than in trees so
// that a directory's tree stays the same object in every image that has it.
//
// Serialized as escaped "key value" lines, canonical, named by SHA-256.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/hash.h"
#include "base/result.h"

namespace goldroot {

struct Commit {
  Digest root;
  std::vector<Digest> parents;
  int64_t created = 0;
  std::string name;
  std::string message;
  uint64_t size = 0;     // bytes of regular file content
  uint64_t entries = 0;  // every path in the tree, the root excluded
  // Each group is the relative paths ("usr/bin/perl") of one inode, sorted.
  std::vector<std::vector<std::string>> hardlinks;

  std::string serialize() const;
  static Result<Commit> parse(std::string_view data);
};

}  // namespace goldroot
