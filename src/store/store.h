// Store: a site's image store — objects, refs, and the rules that tie them
// together (ref resolution, what is reachable). Owns nothing but paths; the
// caller holds the site lock for as long as it uses the Store.
#pragma once

#include <set>
#include <string>

#include "store/object_store.h"
#include "store/refs.h"

namespace goldroot {

class Store {
 public:
  Store(Env* env, std::string store_dir);

  // Creates the directory layout (idempotent).
  Status create();

  ObjectStore& objects() { return objects_; }
  const ObjectStore& objects() const { return objects_; }
  Refs& refs() { return refs_; }
  const Refs& refs() const { return refs_; }
  Env* env() const { return env_; }
  const std::string& dir() const { return dir_; }

  // A REF is an image name, a channel name, a full or unique-prefix commit
  // id, or any of those followed by ~N (the Nth first-parent ancestor).
  Result<Digest> resolve(const std::string& ref) const;

  // Every commit any ref points at, with the names of the refs
  // ("image web", "channel gold"). Extra roots (running clients) come later.
  Result<std::map<Digest, std::vector<std::string>>> ref_roots() const;

  // Counts the garbage collections that removed objects. A reader that saw
  // an object at generation G may assume it is still there while the
  // generation is G (nothing but gc removes objects). Missing file: 0.
  Result<uint64_t> gc_generation() const;
  // Durably moves to the next generation; gc calls it before removing.
  Status advance_gc_generation();

  // Removes leftovers of interrupted transactions.
  void clean_tmp();

 private:
  Env* env_;
  std::string dir_;
  ObjectStore objects_;
  Refs refs_;
};

}  // namespace goldroot
