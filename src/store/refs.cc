#include "store/refs.h"

#include "base/strings.h"
#include "store/tree.h"

namespace goldroot {

const char* ref_kind_dir(RefKind kind) {
  return kind == RefKind::kImage ? "images" : "channels";
}

Status validate_ref_name(const std::string& name, const char* what) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::string(what) + " name '" + escape_path(name) + "' " + why);
  };
  if (name.empty()) return bad("is empty");
  if (name.size() > 100) return bad("is longer than 100 characters");
  if (name[0] == '.' || name[0] == '-') return bad("may not start with '.' or '-'");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return bad("may only contain letters, digits, '.', '_' and '-'");
  }
  return {};
}

Refs::Refs(Env* env, std::string store_dir) : env_(env), dir_(std::move(store_dir) + "/refs") {}

std::string Refs::path(RefKind kind, const std::string& name) const {
  return dir_ + "/" + ref_kind_dir(kind) + "/" + name;
}

Result<std::optional<Digest>> Refs::read(RefKind kind, const std::string& name) const {
  if (!validate_ref_name(name, "ref").ok()) return std::optional<Digest>();
  auto data = env_->read_file(path(kind, name));
  if (!data.ok()) {
    if (data.error().code == ErrorCode::kNotFound) return std::optional<Digest>();
    return std::move(data).error();
  }
  auto digest = Digest::from_hex(trim(*data));
  if (!digest)
    return make_error(ErrorCode::kCorruption,
                      std::string("ref ") + ref_kind_dir(kind) + "/" + name + " is corrupt");
  return std::optional<Digest>(*digest);
}

Status Refs::write(RefKind kind, const std::string& name, const Digest& commit) {
  TRY(validate_ref_name(name, "ref"));
  TRY(env_->create_dir(dir_));
  TRY(env_->create_dir(dir_ + "/" + ref_kind_dir(kind)));
  return env_->write_file_atomic(path(kind, name), commit.hex() + "\n");
}

Status Refs::remove(RefKind kind, const std::string& name) {
  TRY(env_->remove_file(path(kind, name)));
  return env_->sync_dir(dir_ + "/" + ref_kind_dir(kind));
}

Result<std::map<std::string, Digest>> Refs::list(RefKind kind) const {
  std::map<std::string, Digest> refs;
  std::string dir = dir_ + "/" + ref_kind_dir(kind);
  if (!env_->exists(dir)) return refs;
  for (const std::string& name : TRY(env_->list_dir(dir))) {
    if (!validate_ref_name(name, "ref").ok() || ends_with(name, ".tmp")) continue;
    auto digest = TRY(read(kind, name));
    if (digest) refs[name] = *digest;
  }
  return refs;
}

}  // namespace goldroot
