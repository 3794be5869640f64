#include "image/stat_cache.h"

#include <cstring>

namespace goldroot {

namespace {

constexpr std::string_view kMagic = "goldroot-statcache-2\n";
constexpr size_t kRecordBytes = 8 * 4 + 32;

int64_t nanoseconds(const struct timespec& t) {
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

void put(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }
uint64_t get(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

}  // namespace

StatCache::StatCache(Env* env, const std::string& dir, const std::string& source)
    : env_(env), path_(dir + "/stat-" + Sha256::of(source).hex().substr(0, 32)) {}

StatCache::Record StatCache::make_record(const struct stat& st, const Digest& digest) {
  return {static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size),
          nanoseconds(st.st_mtim), nanoseconds(st.st_ctim), digest};
}

void StatCache::load(uint64_t gc_generation) {
  previous_.clear();
  generation_ = gc_generation;
  objects_present_ = false;
  auto data = env_->read_file(path_);
  if (!data.ok() || data->size() < kMagic.size() + 32) return;
  std::string_view body(*data);
  Digest stored;
  std::memcpy(stored.bytes.data(), body.data() + body.size() - 32, 32);
  body.remove_suffix(32);
  if (Sha256::of(body) != stored || body.substr(0, kMagic.size() + 8).size() < kMagic.size() + 8 ||
      body.substr(0, kMagic.size()) != kMagic)
    return;
  body.remove_prefix(kMagic.size());
  uint64_t saved_generation = get(body.data());
  body.remove_prefix(8);
  while (!body.empty()) {
    if (body.size() < 4) return previous_.clear();
    uint32_t length;
    std::memcpy(&length, body.data(), 4);
    body.remove_prefix(4);
    if (body.size() < length + kRecordBytes) return previous_.clear();
    std::string path(body.substr(0, length));
    const char* p = body.data() + length;
    Record record{get(p), get(p + 8), static_cast<int64_t>(get(p + 16)),
                  static_cast<int64_t>(get(p + 24)), {}};
    std::memcpy(record.digest.bytes.data(), p + 32, 32);
    previous_.emplace(std::move(path), record);
    body.remove_prefix(length + kRecordBytes);
  }
  objects_present_ = saved_generation == gc_generation;
}

std::optional<Digest> StatCache::lookup(const std::string& path, const struct stat& st) const {
  auto it = previous_.find(path);
  if (it == previous_.end()) return std::nullopt;
  const Record& r = it->second;
  Record now = make_record(st, r.digest);
  if (r.inode != now.inode || r.size != now.size || r.mtime_ns != now.mtime_ns ||
      r.ctime_ns != now.ctime_ns)
    return std::nullopt;
  return r.digest;
}

void StatCache::record(const std::string& path, const struct stat& st, const Digest& digest) {
  current_[path] = make_record(st, digest);
}

Status StatCache::save(int64_t started_ns) {
  constexpr int64_t kRacyWindow = 2'000'000'000;
  std::string out(kMagic);
  put(out, generation_);
  for (const auto& [path, r] : current_) {
    if (r.mtime_ns >= started_ns - kRacyWindow || r.ctime_ns >= started_ns - kRacyWindow)
      continue;
    uint32_t length = static_cast<uint32_t>(path.size());
    out.append(reinterpret_cast<const char*>(&length), 4);
    out += path;
    put(out, r.inode);
    put(out, r.size);
    put(out, static_cast<uint64_t>(r.mtime_ns));
    put(out, static_cast<uint64_t>(r.ctime_ns));
    out.append(reinterpret_cast<const char*>(r.digest.bytes.data()), 32);
  }
  Digest checksum = Sha256::of(out);
  out.append(reinterpret_cast<const char*>(checksum.bytes.data()), 32);
  std::string temporary = path_ + ".tmp";
  auto file = TRY(env_->new_writable_file(temporary));
  TRY(file->append(out));
  TRY(file->close());
  return env_->rename(temporary, path_);
}

}  // namespace goldroot
