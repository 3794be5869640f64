#include "replica/replica_set.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "base/strings.h"

namespace goldroot {

namespace {

// Layers may hold any name (a user's .bashrc); the rest of the set holds
// no hidden or temporary file.
bool plain_component(std::string_view part, bool in_layers) {
  if (part.empty() || part == "." || part == ".." || ends_with(part, kReplicaPartSuffix))
    return false;
  return in_layers || (part.front() != '.' && !ends_with(part, ".tmp"));
}

// The hex digest an object's path names ("store/objects/ab/cdef….file").
std::optional<Digest> object_digest(std::string_view path) {
  if (!starts_with(path, "store/objects/")) return std::nullopt;
  std::string_view rest = path.substr(std::string_view("store/objects/").size());
  size_t slash = rest.find('/');
  size_t dot = rest.rfind('.');
  if (slash != 2 || dot == std::string_view::npos || dot < slash) return std::nullopt;
  std::string hex = std::string(rest.substr(0, 2)) + std::string(rest.substr(3, dot - 3));
  return Digest::from_hex(hex);
}

const char* kind_name(ReplicaKind kind) {
  switch (kind) {
    case ReplicaKind::kFile: return "file";
    case ReplicaKind::kSymlink: return "symlink";
    case ReplicaKind::kDirectory: return "directory";
  }
  return "file";
}

}  // namespace

bool is_replicated(std::string_view path) {
  if (path.empty() || path.front() == '/') return false;
  for (std::string_view rest = path;;) {
    size_t slash = rest.find('/');
    if (!plain_component(rest.substr(0, slash), starts_with(path, "layers/"))) return false;
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (path == "site.json" || path == "store/channel-journal") return true;
  if (starts_with(path, "exports/"))
    return !starts_with(path, "exports/uki/") && !starts_with(path, "exports/initrd/");
  for (std::string_view prefix : {"layers/", "store/objects/", "store/refs/"})
    if (starts_with(path, prefix)) return true;
  return false;
}

int publish_rank(std::string_view path) {
  if (starts_with(path, "store/objects/")) return 0;
  if (starts_with(path, "exports/")) return ends_with(path, ".json") ? 2 : 1;
  if (starts_with(path, "layers/")) return 3;
  if (starts_with(path, "store/refs/")) return 4;
  if (path == "store/channel-journal") return 5;
  return 6;
}

std::string index_to_json(const std::vector<ReplicaFile>& files) {
  nlohmann::json list = nlohmann::json::array();
  for (const ReplicaFile& file : files) {
    nlohmann::json entry = {{"path", file.path}, {"kind", kind_name(file.kind)},
                            {"mode", file.mode}, {"uid", file.uid}, {"gid", file.gid}};
    if (file.kind == ReplicaKind::kFile) {
      entry["size"] = file.size;
      entry["sha256"] = file.sha256.hex();
    }
    if (file.kind == ReplicaKind::kSymlink) entry["target"] = file.target;
    list.push_back(std::move(entry));
  }
  return nlohmann::json{{"version", 1}, {"files", std::move(list)}}.dump();
}

Result<std::vector<ReplicaFile>> index_from_json(std::string_view text) {
  nlohmann::json index = nlohmann::json::parse(text, nullptr, false);
  if (!index.is_object() || index.value("version", 0) != 1 || !index.contains("files") ||
      !index["files"].is_array())
    return make_error(ErrorCode::kCorruption, "the primary's replica index is not version 1 JSON");
  std::vector<ReplicaFile> files;
  for (const nlohmann::json& entry : index["files"]) {
    auto malformed = [&] {
      return make_error(ErrorCode::kCorruption,
                        "the primary's replica index has a malformed entry: " + entry.dump());
    };
    auto is_uint = [&](const char* key) {
      return entry.contains(key) && entry[key].is_number_unsigned();
    };
    auto is_string = [&](const char* key) { return entry.contains(key) && entry[key].is_string(); };
    if (!entry.is_object() || !is_string("path") || !is_string("kind") || !is_uint("mode") ||
        !is_uint("uid") || !is_uint("gid") || entry["mode"].get<uint64_t>() > 07777 ||
        entry["uid"].get<uint64_t>() > UINT32_MAX || entry["gid"].get<uint64_t>() > UINT32_MAX)
      return malformed();
    ReplicaFile file;
    file.path = entry["path"].get<std::string>();
    if (!is_replicated(file.path))
      return make_error(ErrorCode::kCorruption, "the primary's replica index lists '" + file.path +
                                                    "', which no replica copies");
    file.mode = entry["mode"].get<uint32_t>();
    file.uid = entry["uid"].get<uint32_t>();
    file.gid = entry["gid"].get<uint32_t>();
    std::string kind = entry["kind"].get<std::string>();
    if (kind == "file") {
      if (!is_uint("size") || !is_string("sha256")) return malformed();
      file.size = entry["size"].get<uint64_t>();
      auto digest = Digest::from_hex(entry["sha256"].get<std::string>());
      if (!digest) return malformed();
      file.sha256 = *digest;
      if (starts_with(file.path, "store/objects/") && object_digest(file.path) != *digest)
        return make_error(ErrorCode::kCorruption, "the primary's replica index gives object " +
                                                      file.path + " another sha256 than its name");
    } else if (kind == "symlink" || kind == "directory") {
      if (!starts_with(file.path, "layers/"))
        return make_error(ErrorCode::kCorruption, "the primary's replica index lists " + file.path +
                                                      " as a " + kind + "; only layers have those");
      file.kind = kind == "symlink" ? ReplicaKind::kSymlink : ReplicaKind::kDirectory;
      if (file.kind == ReplicaKind::kSymlink) {
        if (!is_string("target") || entry["target"].get<std::string>().empty()) return malformed();
        file.target = entry["target"].get<std::string>();
      }
    } else {
      return malformed();
    }
    files.push_back(std::move(file));
  }
  // Nothing is written through a symlink: no entry lies beneath one.
  std::set<std::string_view> symlinks;
  for (const ReplicaFile& file : files)
    if (file.kind == ReplicaKind::kSymlink) symlinks.insert(file.path);
  for (const ReplicaFile& file : files)
    for (size_t slash = file.path.find('/'); slash != std::string::npos;
         slash = file.path.find('/', slash + 1))
      if (symlinks.count(std::string_view(file.path).substr(0, slash)))
        return make_error(ErrorCode::kCorruption, "the primary's replica index lists " + file.path +
                                                      " beneath a symlink");
  return files;
}

Result<std::pair<uint64_t, Digest>> DigestCache::digest(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return errno_error("stat " + path, errno);
  Stamp stamp{st.st_ino, static_cast<uint64_t>(st.st_size), st.st_mtim.tv_sec,
              st.st_mtim.tv_nsec};
  {
    std::lock_guard lock(mutex_);
    auto found = digests_.find(path);
    if (found != digests_.end() && found->second.first == stamp)
      return std::make_pair(std::get<1>(stamp), found->second.second);
  }
  uint64_t size = 0;
  Digest sha256 = TRY(sha256_of_file(path, &size));
  // A file replaced while it was read is hashed again next time.
  if (size == std::get<1>(stamp)) {
    std::lock_guard lock(mutex_);
    digests_[path] = {stamp, sha256};
  }
  return std::make_pair(size, sha256);
}

Result<std::vector<ReplicaFile>> list_replica_set(const std::string& root, DigestCache* cache) {
  namespace fs = std::filesystem;
  std::vector<ReplicaFile> files;
  // Adds `relative` if it belongs to the set; false if it vanished.
  auto add = [&](const std::string& relative) -> Status {
    if (!is_replicated(relative)) return {};
    std::string path = root + "/" + relative;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return {};  // removed since listed (gc)
      return errno_error("lstat " + path, errno);
    }
    ReplicaFile file;
    file.path = relative;
    file.mode = static_cast<uint32_t>(st.st_mode & 07777);
    file.uid = st.st_uid;
    file.gid = st.st_gid;
    bool in_layers = starts_with(relative, "layers/");
    if (S_ISLNK(st.st_mode) && in_layers) {
      file.kind = ReplicaKind::kSymlink;
      std::error_code error;
      file.target = fs::read_symlink(path, error).string();
      if (error) return make_error(ErrorCode::kIo, "reading symlink " + path + ": " + error.message());
    } else if (S_ISDIR(st.st_mode) && in_layers) {
      file.kind = ReplicaKind::kDirectory;
    } else if (!S_ISREG(st.st_mode)) {
      return {};
    } else if (starts_with(relative, "store/objects/")) {
      auto digest = object_digest(relative);
      if (!digest) return {};  // not an object's name: not offered
      file.size = static_cast<uint64_t>(st.st_size);
      file.sha256 = *digest;
    } else if (cache) {
      auto digest = cache->digest(path);
      if (!digest.ok()) {
        if (digest.error().code == ErrorCode::kNotFound) return {};
        return std::move(digest).error();
      }
      std::tie(file.size, file.sha256) = *digest;
    }
    files.push_back(std::move(file));
    return {};
  };
  TRY(add("site.json"));
  TRY(add("store/channel-journal"));
  for (const char* top : {"layers", "store/objects", "store/refs", "exports"}) {
    std::string dir = root + "/" + top;
    std::error_code error;
    // Symlinked directories are listed (under layers/), not entered.
    fs::recursive_directory_iterator walk(dir, error), end;
    if (error == std::errc::no_such_file_or_directory) continue;
    for (; !error && walk != end; walk.increment(error))
      TRY(add(walk->path().lexically_relative(root).generic_string()));
    if (error) return make_error(ErrorCode::kIo, "listing " + dir + ": " + error.message());
  }
  std::sort(files.begin(), files.end(),
            [](const ReplicaFile& a, const ReplicaFile& b) { return a.path < b.path; });
  return files;
}

}  // namespace goldroot
