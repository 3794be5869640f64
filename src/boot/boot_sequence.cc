#include "boot/boot_sequence.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "boot/agent_install.h"
#include "boot/blockd_launch.h"
#include "boot/host_identity.h"
#include "boot/image_cache_dir.h"
#include "boot/files.h"
#include "boot/manifest_fetch.h"
#include "boot/tree_copy.h"
#include "manifest/boot_manifest.h"
#include "boot/layer_tar.h"
#include "sys/loop_device.h"
#include "boot/scoped_mount.h"

namespace goldroot::boot {
namespace {

using Clock = std::chrono::steady_clock;
int64_t milliseconds_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// The server cannot be reached (as opposed to answering "no").
bool is_unreachable(const Error& error) { return error.code == ErrorCode::kIo; }

}  // namespace

const char* boot_stage_name(BootStage stage) {
  switch (stage) {
    case BootStage::kConfig: return "config";
    case BootStage::kManifest: return "manifest";
    case BootStage::kImage: return "image";
    case BootStage::kMount: return "mount";
    case BootStage::kLayer: return "layer";
    case BootStage::kUpper: return "upper";
    case BootStage::kRoot: return "root";
    case BootStage::kRecord: return "record";
    case BootStage::kDone: return "done";
  }
  return "?";
}

namespace {

// A tmpfs of its own for an image kept in RAM, so the initramfs's small
// /run (initramfs-tools gives it 10% of RAM) does not bound the image. Left
// mounted when the boot fails, so a retry resumes the download.
Status mount_image_tmpfs(const std::string& dir) {
  TRY(make_directory(dir));
  struct stat here, parent;
  if (::stat(dir.c_str(), &here) == 0 && ::stat((dir + "/..").c_str(), &parent) == 0 &&
      here.st_dev != parent.st_dev)
    return ok_status();  // mounted by an earlier attempt
  if (::mount("goldroot-image", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700,size=90%") != 0)
    return errno_error("mounting a tmpfs for the image at " + dir, errno);
  return ok_status();
}

// Refuses a download that cannot fit where it goes (RAM for a diskless
// machine), in one sentence, before the OOM killer or a full disk would
// stop it halfway.
Status check_room(const std::string& dir, const std::string& partial, uint64_t size, bool in_ram) {
  struct statvfs fs;
  if (::statvfs(dir.c_str(), &fs) != 0) return errno_error("statvfs " + dir, errno);
  struct stat part;
  uint64_t have = ::stat(partial.c_str(), &part) == 0 ? static_cast<uint64_t>(part.st_size) : 0;
  uint64_t room = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize + have;
  if (room >= size) return ok_status();
  return make_error(ErrorCode::kNoSpace,
                    "the image is " + human_bytes(size) + " but " +
                        (in_ram ? "this machine's RAM holds " : dir + " has room for ") +
                        human_bytes(room) + " of it; " +
                        (in_ram ? "boot it on demand (fetch=demand) or give the machine a data partition"
                                : "free the partition or boot on demand (fetch=demand)"));
}

// The highest rollback floor this host has seen (kept beside its key).
int64_t read_floor(const std::string& path) {
  if (path.empty()) return 0;
  auto text = read_whole_file(path);
  return text.ok() ? std::atoll(text->c_str()) : 0;
}

void describe_manifest(const Obtained& obtained, const BootOptions& options, BootRecord* record) {
  const BootManifest& manifest = obtained.manifest;
  record->manifest_sha256 = Sha256::of(obtained.manifest_text).hex();
  record->commit = manifest.commit.hex();
  record->image_sha256 = manifest.image.sha256.hex();
  record->image_size = manifest.image.size;
  record->image_format = manifest.image.format;
  record->image_url = manifest_image_url(options, manifest);
  record->mode = boot_mode_name(obtained.mode);
  record->host = manifest.host->name;
  record->servers = manifest.host->servers;
}

// Whether the manifest has this host read its image on demand: an erofs
// image with a verity tree, and the server's fetch=demand.
bool on_demand(const BootManifest& manifest) {
  return manifest.host && manifest.host->fetch == "demand" && manifest.image.verity &&
         manifest.image.format == "erofs";
}

// An initramfs whose PID 1 is systemd (dracut's) stops the service that
// started goldroot-blockd at the switch to the real root, and the root's
// device with it: on demand is not offered there yet (the e2e lab saw
// every read fail after the switch).
bool initramfs_runs_systemd() {
  char target[256];
  ssize_t length = ::readlink("/proc/1/exe", target, sizeof(target) - 1);
  if (length <= 0) return false;
  std::string_view exe(target, static_cast<size_t>(length));
  return exe.ends_with("/systemd");
}

// goldroot-blockd's flags for the manifest's image: where it is, its
// verity parameters, the TLS pin and the site's other servers.
std::vector<std::string> blockd_image_arguments(const BootConfig& config, const Obtained& obtained,
                                                const std::string& image_url) {
  const ImageVerity& verity = *obtained.manifest.image.verity;
  std::vector<std::string> arguments = {
      "--image-url", image_url,
      "--tree-url", resolve_url(config.options.manifest_url, verity.tree_url)};
  for (std::string& argument : blockd_verity_arguments(verity)) arguments.push_back(std::move(argument));
  if (!config.tls_pin_path.empty() && !config.download.fetch.pinned_public_key.empty())
    arguments.insert(arguments.end(), {"--tls-pin", config.tls_pin_path});
  if (obtained.manifest.host)
    for (const std::string& server : obtained.manifest.host->servers)
      arguments.insert(arguments.end(), {"--mirror", server});
  return arguments;
}

// The image served on demand by goldroot-blockd: blocks are fetched as the
// kernel reads them, each checked against the verity tree the signed root
// hash vouches for (by the daemon, and again by dm-verity). With a cache
// directory (a data partition) the daemon keeps what it fetched, fills in
// the rest and then moves the root onto the local copy; offline (from the
// cache) only a complete local copy boots.
Status serve_on_demand(const BootConfig& config, const Obtained& obtained,
                       const std::string& cache_dir, bool from_cache, BootRecord* record) {
  BlockdLaunch launch;
  launch.program = config.blockd_program;
  launch.status_path = config.run_dir + "/blockd.json";
  launch.root_hash = obtained.manifest.image.verity->params.root_hash.hex();
  launch.arguments = blockd_image_arguments(config, obtained, record->image_url);
  launch.arguments.insert(launch.arguments.end(), {"--status", launch.status_path});
  if (!cache_dir.empty()) {
    TRY(make_directory(cache_dir));
    launch.arguments.insert(launch.arguments.end(), {"--cache-dir", cache_dir});
  }
  if (from_cache) launch.arguments.push_back("--require-complete");
  StartedBlockd started = TRY(start_blockd(launch));
  record->image_path = started.device;
  record->image_source = from_cache ? "cache" : started.reused ? "demand-running" : "demand";
  if (!cache_dir.empty() && !from_cache) {
    TRY(write_file_atomically(cache_dir + "/manifest.json", obtained.manifest_text));
    drop_other_images(cache_dir, "", launch.root_hash);
  }
  return ok_status();
}

// Whether `image_dir` holds a whole copy of another image than `path`.
bool holds_other_whole_copy(const std::string& image_dir, const std::string& path) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(image_dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.size() == 64 + 6 && name.ends_with(".erofs") && entry.path().string() != path)
      return true;
  }
  return false;
}

// A cache-mode PC keeps the image it booted last as a whole copy: the new
// one is made from it by goldroot-blockd --prefetch (its blocks found by
// hash, the rest from the update patch or fetched, every block checked
// against the signed tree), then the complete cache becomes the new whole
// copy once its sha256 is the manifest's (issue #19). Best effort: on any
// failure the download does what is left, and says so.
void make_from_older_copy(const BootConfig& config, const Obtained& obtained,
                          const std::string& image_dir, BootRecord* record) {
  const BootManifest& manifest = obtained.manifest;
  const std::string status_path = config.run_dir + "/seed.json";
  std::vector<std::string> arguments = {config.blockd_program, "--prefetch", "--cache-dir", image_dir,
                                        "--status", status_path};
  for (std::string& argument : blockd_image_arguments(config, obtained, record->image_url))
    arguments.push_back(std::move(argument));
  std::vector<char*> argv;
  for (std::string& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  std::fprintf(stderr, "goldroot-boot: making image %s from the one this disk holds\n",
               manifest.image.sha256.hex().substr(0, 12).c_str());
  pid_t child = ::fork();
  if (child == 0) {
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "goldroot-boot: cannot run %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  int status = 0;
  while (child > 0 && ::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  Status made = child < 0 ? errno_error("starting goldroot-blockd", errno)
                : WIFEXITED(status) && WEXITSTATUS(status) == 0
                    ? cache_to_whole_copy(image_dir, manifest.image.verity->params.root_hash.hex(),
                                          manifest.image.sha256, manifest.image.size, record->image_path)
                    : make_error(ErrorCode::kIo, "goldroot-blockd --prefetch failed");
  if (!made.ok()) {
    std::fprintf(stderr, "goldroot-boot: not made from the older image (%s); downloading it\n",
                 made.error().message.c_str());
    // The half-made cache would take the download's room.
    for (const char* suffix : {".image", ".map", ".readset"})
      ::unlink((image_dir + "/" + manifest.image.verity->params.root_hash.hex() + suffix).c_str());
    return;
  }
  auto seeded = read_whole_file(status_path);
  nlohmann::json counters = nlohmann::json::parse(seeded.ok() ? *seeded : "", nullptr, false);
  record->downloaded = counters.is_object() ? counters.value("fetched_bytes", uint64_t{0}) : 0;
  record->image_source = "seeded";
}

// The image the manifest names, downloaded (or found in the cache) and
// verified before anything mounts it.
Status obtain_image(const BootConfig& config, const Obtained& obtained,
                    const std::string& image_dir, const std::string& cache_dir, bool from_cache,
                    BootRecord* record) {
  const BootManifest& manifest = obtained.manifest;
  if (manifest.image.format != "erofs" && manifest.image.format != "squashfs")
    return make_error(ErrorCode::kUnsupported,
                      "the manifest's image is " + manifest.image.format +
                          ", which cannot be mounted as a root (need erofs or squashfs)");
  record->image_path = image_dir + "/" + record->image_sha256 + "." + manifest.image.format;
  if (from_cache) {
    TRY(verify_image_file(record->image_path, manifest.image.sha256, manifest.image.size)
            .context("cached image " + record->image_path));
    record->image_source = "cache";
    return ok_status();
  }
  if (cache_dir.empty()) TRY(mount_image_tmpfs(image_dir));
  else TRY(make_directory(image_dir));
  // A whole copy already there (the agent pre-fetched it, issue #19) needs
  // no room: download_image checks and reuses it.
  struct stat present;
  if (::stat(record->image_path.c_str(), &present) != 0 ||
      static_cast<uint64_t>(present.st_size) != manifest.image.size)
    TRY(check_room(image_dir, record->image_path + ".part", manifest.image.size, cache_dir.empty()));
  const bool present_already = ::stat(record->image_path.c_str(), &present) == 0;
  if (!present_already && !cache_dir.empty() && manifest.image.verity && manifest.image.format == "erofs" &&
      holds_other_whole_copy(image_dir, record->image_path))
    make_from_older_copy(config, obtained, image_dir, record);
  ImageSpec spec{.url = record->image_url, .sha256 = manifest.image.sha256, .size = manifest.image.size};
  DownloadReport report = TRY(download_image(spec, record->image_path, config.download));
  if (record->image_source != "seeded" || !report.reused) {
    record->image_source = report.reused ? "reused" : "download";
    record->downloaded = report.downloaded;
  }
  record->resumed_from = report.resumed_from;
  if (!cache_dir.empty()) {  // the manifest that vouches for the copy, then drop older images
    TRY(write_file_atomically(cache_dir + "/manifest.json", obtained.manifest_text));
    drop_other_images(image_dir, record->image_path, "");
  }
  return ok_status();
}

struct InstalledRoot {
  DataStorage storage;  // the partition, mounted at the new root
  bool copied = false;  // false: it already held this commit
};

// Install mode: the partition labelled `label` mounted at `root`, holding
// the merged image (host layer over image) of record.commit. A partition
// that already holds that commit is used as it is — it is this machine's
// own system now, changes and all; another commit replaces its contents.
Result<InstalledRoot> install_root(const std::string& label, FormatPolicy format,
                                   const BootRecord& record, const std::string& run_dir,
                                   const std::string& root) {
  InstalledRoot installed;
  installed.storage = TRY(mount_labelled(label, format, false, root)
                              .context("install mode needs a partition labelled " + label));
  const std::string marker = root + "/.goldroot-installed";
  auto previous = read_whole_file(marker);
  if (previous.ok() && previous->substr(0, previous->find('\n')) == record.commit)
    return installed;
  TRY(empty_directory(root, "lost+found"));
  std::string merged = run_dir + "/merged";
  TRY(make_directory(merged));
  ScopedMount view = TRY(ScopedMount::mount("goldroot-install", merged, "overlay", MS_RDONLY,
                                            "lowerdir=" + record.middle + ":" + record.lower));
  CopyStats copied = TRY(copy_tree(merged, root).context("installing onto " + label));
  std::fprintf(stderr, "goldroot-boot: installed %llu entries (%llu MiB) onto %s\n",
               static_cast<unsigned long long>(copied.entries),
               static_cast<unsigned long long>(copied.bytes >> 20), label.c_str());
  TRY(write_file_atomically(root + "/etc/fstab",
                            "# written by goldroot install mode\nLABEL=" + label + " / ext4 defaults 0 1\n"));
  TRY(write_file_atomically(marker, record.commit + "\n"));
  ::sync();
  installed.copied = true;
  return installed;
}

}  // namespace

Result<BootRecord> run_boot(const BootConfig& config, BootStage* stage) {
  const BootOptions& options = config.options;
  Clock::time_point start = Clock::now();
  BootRecord record;
  record.host = options.host;
  record.mac = options.mac;
  record.server = options.server;
  record.manifest_url = options.manifest_url;
  record.root = config.root;

  *stage = BootStage::kConfig;
  std::string key_pem = TRY(read_whole_file(config.site_key_path).context("reading the site key"));
  VerifyKey key = TRY(VerifyKey::from_pem(key_pem).context("site key " + config.site_key_path));
  record.key_id = key.key_id();

  // 0. The data partition, first: it keeps the host's key, the image and
  // the offline copy.
  *stage = BootStage::kUpper;
  DataStorage data = TRY(mount_data(config.upper, config.run_dir));
  std::string identity_dir = data.path.empty() ? "" : data.path + "/goldroot/identity";
  std::string key_path = !config.host_key_path.empty() ? config.host_key_path
                         : identity_dir.empty()        ? ""
                                                       : identity_dir + "/host.key";
  *stage = BootStage::kConfig;
  // A diskless host's key lives for this boot: kept in the run directory
  // so a retried attempt presents the key the server saw (and, under
  // first-use, enrolled) rather than a new one it must refuse.
  HostIdentity identity = TRY(load_or_create_host_identity(key_path, config.run_dir + "/boot-host.key"));
  std::string floor_path =
      key_path.empty() ? "" : key_path.substr(0, key_path.rfind('/') + 1) + "floor";
  int64_t floor_seen = read_floor(floor_path);
  std::string cache_dir = config.cache_dir;
  if (cache_dir.empty() && !data.path.empty()) cache_dir = data.path + "/goldroot/cache";

  // 1. The manifest, signed by the site and bound to this host and this
  // request; it decides the mode. Unreachable server: a cache-mode host
  // boots its last good copy.
  *stage = BootStage::kManifest;
  Clock::time_point step = Clock::now();
  std::string challenge;
  bool from_cache = false;
  auto obtained = fetch_manifest(options, config.download.fetch, key, &identity, floor_seen, &challenge);
  if (!obtained.ok() && is_unreachable(obtained.error()) && !cache_dir.empty() &&
      ::access((cache_dir + "/manifest.json").c_str(), F_OK) == 0) {
    auto cached = cached_manifest(cache_dir, key, options, identity, floor_seen);
    if (cached.ok()) {
      std::fprintf(stderr, "goldroot-boot: %s; booting the local copy\n",
                   obtained.error().message.c_str());
      obtained = std::move(cached);
      from_cache = true;
    }
  }
  if (!obtained.ok()) return std::move(obtained).error();
  // The glue reads the decided mode (a shell on failure only in shell mode).
  (void)write_file_atomically(config.run_dir + "/mode", std::string(boot_mode_name(obtained->mode)) + "\n");
  const BootManifest& manifest = obtained->manifest;
  const BootMode mode = obtained->mode;
  describe_manifest(*obtained, options, &record);
  record.manifest_source = from_cache ? "cache" : "server";
  if (!floor_path.empty() && manifest.host->floor > floor_seen)
    TRY(write_file_atomically(floor_path, std::to_string(manifest.host->floor) + "\n"));
  record.manifest_ms = milliseconds_since(step);

  *stage = BootStage::kUpper;
  TRY(check_persistence(config.upper, data, mode));
  if (mode == BootMode::kCache && cache_dir.empty())
    return make_error(ErrorCode::kInvalidArgument,
                      "cache mode keeps a copy of the image on a local data partition, but this "
                      "machine has none (label " + config.upper.label + ", or --cache-dir DIR)");
  std::string image_dir = cache_dir.empty() ? config.run_dir + "/image-files" : cache_dir;

  // 2. The image, verified before anything mounts it.
  *stage = BootStage::kImage;
  step = Clock::now();
  bool demand = on_demand(manifest);
  bool obtained_image = false;
  if (demand) {
    // A machine that cannot serve the image on demand (a kernel without
    // NBD or dm-verity, no goldroot-blockd, systemd in the initramfs) still
    // boots: the whole image, checked against the same signed manifest.
    // Offline, a whole copy an earlier such boot kept is booted.
    Status served = !from_cache && initramfs_runs_systemd()
                        ? make_error(ErrorCode::kUnsupported,
                                     "this initramfs runs systemd, which would stop goldroot-blockd "
                                     "at the switch to the real root")
                        : serve_on_demand(config, *obtained, cache_dir, from_cache, &record);
    if (served.ok()) {
      obtained_image = true;
    } else if (from_cache) {
      if (!obtain_image(config, *obtained, image_dir, cache_dir, from_cache, &record).ok())
        return std::move(served).error();
      demand = false;
      obtained_image = true;
    } else {
      std::fprintf(stderr, "goldroot-boot: on-demand boot failed (%s); downloading the whole image instead\n",
                   served.error().message.c_str());
      demand = false;
    }
  }
  if (!obtained_image) TRY(obtain_image(config, *obtained, image_dir, cache_dir, from_cache, &record));
  record.image_ms = milliseconds_since(step);

  // 3. The image's read-only mount: goldroot-blockd's verified device, or
  // the downloaded file through a loop device.
  *stage = BootStage::kMount;
  step = Clock::now();
  record.lower = config.run_dir + "/image";
  TRY(make_directory(record.lower));
  std::string image_device = record.image_path;
  std::optional<LoopDevice> loop;
  if (!demand) {
    loop = TRY(LoopDevice::attach_read_only(record.image_path));
    image_device = record.loop_device = loop->path();
  }
  ScopedMount image_mount = TRY(ScopedMount::mount(image_device, record.lower, manifest.image.format,
                                                   MS_RDONLY | MS_NODEV, ""));
  if (loop) loop->release_to_mount();
  int64_t mount_ms = milliseconds_since(step);

  // 4. The host's config layer, read-only in the middle.
  *stage = BootStage::kLayer;
  step = Clock::now();
  record.middle = config.run_dir + "/middle";
  TRY(make_directory(record.middle));
  ScopedMount middle_mount = TRY(ScopedMount::mount("goldroot-layer", record.middle, "tmpfs",
                                                    MS_NOSUID | MS_NODEV, "mode=0755"));
  const HostBinding& binding = *manifest.host;
  if (binding.layer_sha256) {
    std::string cached_layer_path = cache_dir + "/layer.tar";
    record.layer_url = host_layer_url(options, binding);
    std::string tar;
    if (from_cache) {
      tar = TRY(read_whole_file(cached_layer_path).context("cached host layer"));
      TRY(check_host_layer(tar, binding, record.layer_url));
      record.layer_source = "cache";
    } else {
      tar = TRY(fetch_host_layer(record.layer_url, binding, identity, config.download.fetch));
      record.layer_source = "server";
    }
    if (!from_cache && !cache_dir.empty()) TRY(write_file_atomically(cached_layer_path, tar));
    UnpackReport unpacked = TRY(unpack_layer_tar(tar, record.middle));
    record.layer_entries = unpacked.entries;
    record.layer_whiteouts = unpacked.whiteouts;
  }
  // The agent signs its reports with this host's key; only root reads it.
  TRY(make_directory(record.middle + "/etc/goldroot", 0755));
  TRY(write_key_file(record.middle + "/etc/goldroot/host.key", identity.key));
  if (::mount(nullptr, record.middle.c_str(), nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
              "mode=0755") != 0)
    return errno_error("remount " + record.middle + " read-only", errno);
  record.layer_ms = milliseconds_since(step);

  // 5-6. Install mode: the merged image on a local partition is the root.
  ScopedMount root_mount;
  PreparedUpper upper;
  if (mode == BootMode::kInstall) {
    *stage = BootStage::kRoot;
    step = Clock::now();
    InstalledRoot installed = TRY(install_root(options.install_label, config.upper.format, record,
                                               config.run_dir, config.root));
    record.upper_kind = "installed";
    record.upper_device = installed.storage.device;
    record.upper_path = config.root;
    record.upper_formatted = installed.storage.formatted;
    record.upper_discarded = installed.copied;  // a fresh install replaced what was there
    root_mount = std::move(installed.storage.mount);
    record.mount_ms = mount_ms + milliseconds_since(step);
  } else {
    // 5. The upper layer, as the mode wants it.
    *stage = BootStage::kUpper;
    step = Clock::now();
    upper = TRY(prepare_upper(config.upper, std::move(data), mode, config.run_dir));
    record.upper_kind = upper_kind_name(upper.kind);
    record.upper_device = upper.device;
    record.upper_path = upper.upper;
    record.work_path = upper.work;
    record.upper_formatted = upper.formatted;
    record.upper_discarded = upper.discarded;

    // 6. The overlay root.
    *stage = BootStage::kRoot;
    TRY(make_directory(config.root));
    std::string overlay_options = "lowerdir=" + record.middle + ":" + record.lower +
                                  ",upperdir=" + upper.upper + ",workdir=" + upper.work;
    root_mount = TRY(ScopedMount::mount("goldroot", config.root, "overlay", 0, overlay_options));
    record.mount_ms = mount_ms + milliseconds_since(step);
  }
  record.total_ms = milliseconds_since(start);

  // 7. The agent, as a runtime unit of the booted system.
  if (!config.agent_from.empty()) {
    auto installed = install_agent(config.agent_from, config.run_dir, config.units_dir,
                                   config.download.fetch.pinned_public_key);
    if (!installed.ok())
      std::fprintf(stderr, "goldroot-boot: warning: %s\n", installed.error().message.c_str());
    record.agent = installed.ok() && *installed;
  }

  // What the agent needs to pre-fetch the next image into the cache this
  // boot reads (issue #19): where that is, and the key its manifest must be
  // signed with (the initramfs's copy is gone after the switch).
  record.cache_dir = cache_dir;
  if (Status copied = write_file_atomically(config.run_dir + "/site.pub", key_pem); copied.ok())
    record.site_key = config.run_dir + "/site.pub";
  else
    std::fprintf(stderr, "goldroot-boot: warning: %s\n", copied.error().message.c_str());

  // 8. The record; only then do the mounts outlive us.
  *stage = BootStage::kRecord;
  TRY(write_boot_record(record, config.state_path.empty() ? config.run_dir + "/boot.json"
                                                          : config.state_path));
  root_mount.release();
  upper.mount.release();
  middle_mount.release();
  image_mount.release();
  *stage = BootStage::kDone;
  return record;
}

}  // namespace goldroot::boot
