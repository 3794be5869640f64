#include "store/store.h"

#include "base/strings.h"
#include "store/channel_journal.h"

namespace goldroot {

Store::Store(Env* env, std::string store_dir)
    : env_(env), dir_(store_dir), objects_(env, store_dir), refs_(env, store_dir) {}

Status Store::create() {
  TRY(env_->create_dir(dir_));
  TRY(env_->create_dir(dir_ + "/objects"));
  for (int i = 0; i < 256; ++i) {
    std::string prefix;
    append_hex(&prefix, static_cast<unsigned char>(i));
    TRY(env_->create_dir(dir_ + "/objects/" + prefix));
  }
  TRY(env_->create_dir(dir_ + "/tmp"));
  TRY(env_->create_dir(dir_ + "/refs"));
  TRY(env_->create_dir(dir_ + "/refs/images"));
  TRY(env_->create_dir(dir_ + "/refs/channels"));
  TRY(env_->create_dir(dir_ + "/cache"));
  return env_->sync_filesystem(dir_);
}

Result<Digest> Store::resolve(const std::string& ref) const {
  std::string base = ref;
  uint64_t generations = 0;
  size_t tilde = ref.rfind('~');
  if (tilde != std::string::npos) {
    std::string count = ref.substr(tilde + 1);
    if (count.empty()) count = "1";
    if (!parse_uint64(count, &generations))
      return make_error(ErrorCode::kInvalidArgument,
                        "'" + ref + "' is not a valid REF: expected NAME~N with N a number");
    base = ref.substr(0, tilde);
  }

  std::optional<Digest> found = TRY(refs_.read(RefKind::kImage, base));
  if (!found && validate_ref_name(base, "channel").ok()) {
    // Through the journal: after a crash a channel ref may lag behind it.
    auto channels = TRY(channel_view(env_, refs_, dir_));
    if (auto it = channels.find(base); it != channels.end()) found = it->second;
  }
  if (!found && base.size() >= 4 && is_hex(base)) {
    auto candidates = objects_.find_commits(base, 2);
    if (candidates.size() > 1)
      return make_error(ErrorCode::kInvalidArgument,
                        "commit prefix '" + base + "' is ambiguous; give more digits");
    if (candidates.size() == 1) found = candidates[0];
  }
  if (!found)
    return make_error(ErrorCode::kNotFound,
                      "no image, channel or commit matches '" + base + "'");

  Digest commit = *found;
  for (uint64_t i = 0; i < generations; ++i) {
    Commit parsed = TRY(objects_.read_commit(commit));
    if (parsed.parents.empty())
      return make_error(ErrorCode::kNotFound,
                        "'" + ref + "' goes back further than the history of '" + base + "' (" +
                            std::to_string(i) + " ancestors)");
    commit = parsed.parents[0];
  }
  if (!objects_.has(ObjectType::kCommit, commit))
    return make_error(ErrorCode::kCorruption, "'" + ref + "' points at missing commit " +
                                                  commit.hex());
  return commit;
}

Result<std::map<Digest, std::vector<std::string>>> Store::ref_roots() const {
  std::map<Digest, std::vector<std::string>> roots;
  for (RefKind kind : {RefKind::kImage, RefKind::kChannel}) {
    for (const auto& [name, digest] : TRY(refs_.list(kind)))
      roots[digest].push_back(std::string(kind == RefKind::kImage ? "image " : "channel ") + name);
  }
  return roots;
}

Result<uint64_t> Store::gc_generation() const {
  auto data = env_->read_file(dir_ + "/gc-generation");
  if (!data.ok()) {
    if (data.error().code == ErrorCode::kNotFound) return uint64_t{0};
    return std::move(data).error();
  }
  uint64_t generation;
  if (!parse_uint64(trim(*data), &generation))
    return make_error(ErrorCode::kCorruption, dir_ + "/gc-generation is corrupt");
  return generation;
}

Status Store::advance_gc_generation() {
  uint64_t generation = TRY(gc_generation());
  return env_->write_file_atomic(dir_ + "/gc-generation", std::to_string(generation + 1) + "\n");
}

void Store::clean_tmp() {
  auto names = env_->list_dir(dir_ + "/tmp");
  if (!names.ok()) return;
  for (const std::string& name : *names) remove_tree(dir_ + "/tmp/" + name);
}

}  // namespace goldroot
