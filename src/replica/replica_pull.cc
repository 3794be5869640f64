#include "replica/replica_pull.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "base/strings.h"
#include "boot/http_fetch.h"
#include "crypto/tls_identity.h"
#include "sys/unique_fd.h"

namespace goldroot {

namespace {

constexpr uint64_t kMaxIndexBytes = uint64_t{256} << 20;

// Percent-encodes all but unreserved characters and '/'.
std::string url_path(std::string_view path) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

boot::FetchOptions fetch_options(const ReplicaSource& source) {
  boot::FetchOptions options;
  options.headers = {"Authorization: Bearer " + source.admin_token};
  options.pinned_public_key = source.tls_pin;
  return options;
}

uint64_t file_size(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// Creates the directories above `relative` under `root`.
Status make_parents(Env* env, const std::string& root, const std::string& relative) {
  for (size_t slash = relative.find('/'); slash != std::string::npos;
       slash = relative.find('/', slash + 1))
    TRY(env->create_dir(root + "/" + relative.substr(0, slash)));
  return {};
}

// Fetches `file` into its .part (resuming what is there), checks it and
// publishes it. Returns the bytes that crossed the network.
Result<uint64_t> fetch_file(Env* env, const std::string& root, const ReplicaSource& source,
                            const ReplicaFile& file) {
  std::string final_path = root + "/" + file.path;
  std::string part = final_path + std::string(kReplicaPartSuffix);
  std::string url = source.primary_url + "api/v1/replica/files/" + url_path(file.path);
  TRY(make_parents(env, root, file.path));
  uint64_t fetched = 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    uint64_t offset = file_size(part);
    if (offset > file.size || attempt > 0) offset = 0;
    UniqueFd fd(::open(part.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd.valid()) return errno_error("open " + part, errno);
    if (::ftruncate(fd.get(), static_cast<off_t>(offset)) != 0 ||
        ::lseek(fd.get(), static_cast<off_t>(offset), SEEK_SET) < 0)
      return errno_error("truncate " + part, errno);
    if (offset < file.size) {
      auto got = TRY(boot::fetch_range_to_fd(url, offset, file.size - offset, fd.get(),
                                             fetch_options(source))
                         .context("fetching " + file.path + " from the primary"));
      fetched += got.written;
      if (got.status == 200 && offset > 0) continue;  // Range ignored: start over
    }
    fd.reset();
    uint64_t size = 0;
    Digest sha256 = TRY(sha256_of_file(part, &size));
    if (size == file.size && sha256 == file.sha256) {
      TRY(env->publish_file(part, final_path));
      return fetched;
    }
    if (attempt == 0 && offset > 0) continue;  // a stale .part: once more, whole
    (void)env->remove_file(part);
    return make_error(ErrorCode::kCorruption,
                      "the primary sent " + file.path + " with " + std::to_string(size) +
                          " bytes and sha256 " + sha256.hex() + ", not the " +
                          std::to_string(file.size) + " bytes and sha256 " + file.sha256.hex() +
                          " its index gives; not kept");
  }
  return make_error(ErrorCode::kIo, "the primary ignores Range requests for " + file.path);
}

// Makes `entry` (a symlink or directory) as listed, replacing whatever
// else is at its path; sets every entry's mode and owner.
Status place(const std::string& root, const ReplicaFile& entry) {
  std::string path = root + "/" + entry.path;
  struct stat st;
  bool exists = ::lstat(path.c_str(), &st) == 0;
  if (entry.kind == ReplicaKind::kSymlink) {
    std::error_code error;
    if (exists && !(S_ISLNK(st.st_mode) && std::filesystem::read_symlink(path, error) == entry.target)) {
      std::filesystem::remove_all(path, error);
      exists = false;
    }
    if (!exists && ::symlink(entry.target.c_str(), path.c_str()) != 0)
      return errno_error("creating symlink " + path, errno);
  } else if (entry.kind == ReplicaKind::kDirectory) {
    if (exists && !S_ISDIR(st.st_mode)) {
      if (::unlink(path.c_str()) != 0) return errno_error("removing " + path, errno);
      exists = false;
    }
    if (!exists && ::mkdir(path.c_str(), 0700) != 0) return errno_error("mkdir " + path, errno);
  }
  if (::lchown(path.c_str(), entry.uid, entry.gid) != 0)
    return errno_error("chown " + path, errno);
  if (entry.kind != ReplicaKind::kSymlink && ::chmod(path.c_str(), entry.mode) != 0)
    return errno_error("chmod " + path, errno);
  return {};
}

}  // namespace

Result<ReplicaSource> replica_source(const Site& site) {
  auto primary = TRY(site.primary_url());
  if (!primary)
    return make_error(ErrorCode::kNotFound,
                      site.root() + " is a primary site; 'goldroot init --secondary-of URL' makes "
                                    "a secondary");
  std::string token = TRY(site.env()->read_file(site.keys_dir() + "/admin.token"));
  return ReplicaSource{.primary_url = *primary,
                       .admin_token = std::string(trim(token)),
                       .tls_pin = TRY(tls_public_key_pin(site.keys_dir()))};
}

std::string describe(const PullSummary& summary) {
  return "fetched " + std::to_string(summary.fetched_files) + " files (" +
         human_bytes(summary.fetched_bytes) + "), kept " +
         std::to_string(summary.files - summary.fetched_files) + " (" +
         human_bytes(summary.kept_bytes) + "), removed " + std::to_string(summary.removed_files);
}

Result<PullSummary> pull_replica(Env* env, const std::string& root, const ReplicaSource& source,
                                 DigestCache& cache) {
  std::string text =
      TRY(boot::fetch_text(source.primary_url + "api/v1/replica/index", kMaxIndexBytes,
                           fetch_options(source))
              .context("asking " + source.primary_url + " for its replica index"));
  std::vector<ReplicaFile> entries = TRY(index_from_json(text));
  // Directories first (parents before children), then files in publish order.
  std::stable_sort(entries.begin(), entries.end(), [](const ReplicaFile& a, const ReplicaFile& b) {
    bool a_dir = a.kind == ReplicaKind::kDirectory, b_dir = b.kind == ReplicaKind::kDirectory;
    if (a_dir != b_dir) return a_dir;
    if (a_dir) return a.path < b.path;
    return publish_rank(a.path) < publish_rank(b.path);
  });
  std::vector<ReplicaFile> held = TRY(list_replica_set(root));
  std::map<std::string, const ReplicaFile*> local;
  for (const ReplicaFile& entry : held) local[entry.path] = &entry;

  PullSummary summary;
  summary.files = entries.size();
  std::set<std::string> listed;
  for (const ReplicaFile& entry : entries) {
    listed.insert(entry.path);
    TRY(make_parents(env, root, entry.path));
    if (entry.kind != ReplicaKind::kFile) {
      TRY(place(root, entry));
      continue;
    }
    auto found = local.find(entry.path);
    bool same = false;
    if (found != local.end() && found->second->kind == ReplicaKind::kFile) {
      auto digest = cache.digest(root + "/" + entry.path);
      same = digest.ok() && digest->first == entry.size && digest->second == entry.sha256;
    } else if (found != local.end()) {
      std::error_code error;
      std::filesystem::remove_all(root + "/" + entry.path, error);
    }
    if (same) {
      summary.kept_bytes += entry.size;
    } else {
      summary.fetched_bytes += TRY(fetch_file(env, root, source, entry));
      summary.fetched_files++;
    }
    TRY(place(root, entry));
  }
  // What the primary no longer has: deepest first, so a directory is empty
  // when its turn comes (one that is not keeps what the primary lists).
  for (auto it = held.rbegin(); it != held.rend(); ++it) {
    if (listed.count(it->path)) continue;
    std::string path = root + "/" + it->path;
    if (it->kind == ReplicaKind::kDirectory ? ::rmdir(path.c_str()) : ::unlink(path.c_str())) {
      if (errno == ENOENT || errno == ENOTEMPTY) continue;
      return errno_error("removing " + path, errno);
    }
    summary.removed_files++;
  }
  return summary;
}

ReplicaFollower::ReplicaFollower(Env* env, std::string root, ReplicaSource source,
                                 std::chrono::milliseconds interval)
    : env_(env), root_(std::move(root)), source_(std::move(source)), interval_(interval) {
  thread_ = std::thread([this] { run(); });
}

ReplicaFollower::~ReplicaFollower() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void ReplicaFollower::run() {
  std::string last_failure;
  std::unique_lock lock(mutex_);
  do {
    lock.unlock();
    auto pulled = pull_replica(env_, root_, source_, cache_);
    if (!pulled.ok()) {
      if (pulled.error().message != last_failure)
        std::fprintf(stderr, "goldroot serve: replica: %s; serving what this secondary has\n",
                     pulled.error().message.c_str());
      last_failure = pulled.error().message;
    } else {
      if (pulled->changed() || !last_failure.empty())
        std::fprintf(stderr, "goldroot serve: replica from %s: %s\n", source_.primary_url.c_str(),
                     describe(*pulled).c_str());
      last_failure.clear();
    }
    lock.lock();
  } while (!wake_.wait_for(lock, interval_, [this] { return stopping_; }));
}

}  // namespace goldroot
