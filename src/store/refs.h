// Refs: named pointers to commits, one small file each under
// SITE/store/refs/<kind>/<name>, replaced atomically (temp, fsync, rename,
// fsync dir). Kinds: "images" (what `image import --name` moves) and
// "channels" (test / gold / previous). Not thread-safe across writers; the
// site lock serializes them.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "base/hash.h"
#include "base/result.h"
#include "sys/env.h"

namespace goldroot {

enum class RefKind { kImage, kChannel };

const char* ref_kind_dir(RefKind kind);

// A valid ref or image name: 1–100 of [A-Za-z0-9._-], not starting with '.'
// or '-'. Returns an error sentence naming the problem otherwise.
Status validate_ref_name(const std::string& name, const char* what);

class Refs {
 public:
  Refs(Env* env, std::string store_dir);

  Result<std::optional<Digest>> read(RefKind kind, const std::string& name) const;
  Status write(RefKind kind, const std::string& name, const Digest& commit);
  Status remove(RefKind kind, const std::string& name);
  Result<std::map<std::string, Digest>> list(RefKind kind) const;

 private:
  std::string path(RefKind kind, const std::string& name) const;
  Env* env_;
  std::string dir_;
};

}  // namespace goldroot
