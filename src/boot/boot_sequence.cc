#include "boot/boot_sequence.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "boot/agent_install.h"
#include "boot/files.h"
#include "boot/tree_copy.h"
#include "manifest/boot_manifest.h"
#include "boot/layer_tar.h"
#include "boot/loop_device.h"
#include "boot/scoped_mount.h"

namespace goldroot::boot {
namespace {

constexpr uint64_t kManifestLimit = 1 << 20;
constexpr uint64_t kLayerLimit = 256ull << 20;

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

// The manifest and the image it names, from the server or from the local
// copy (cache mode offline). The image file is verified before it is used.
struct Obtained {
  std::string manifest_text;
  BootManifest manifest;
};

Result<Obtained> obtain_image(const BootConfig& config, const VerifyKey& key,
                              const std::string& image_dir, const std::string& cache_dir,
                              bool from_cache, BootRecord* record, BootStage* stage) {
  const BootOptions& options = config.options;
  *stage = BootStage::kManifest;
  Clock::time_point step = Clock::now();
  std::string cached_manifest_path = cache_dir + "/manifest.json";
  Obtained obtained;
  if (from_cache) {
    obtained.manifest_text = TRY(read_whole_file(cached_manifest_path).context("cached boot manifest"));
    obtained.manifest = TRY(verify_boot_manifest(obtained.manifest_text, key)
                                .context("cached copy in " + cache_dir));
    record->manifest_source = "cache";
  } else {
    obtained.manifest_text = TRY(fetch_text(options.manifest_url, kManifestLimit, config.download.fetch)
                                     .context("boot manifest"));
    obtained.manifest = TRY(verify_boot_manifest(obtained.manifest_text, key));
    record->manifest_source = "server";
  }
  const BootManifest& manifest = obtained.manifest;
  if (manifest.image.format != "erofs" && manifest.image.format != "squashfs")
    return make_error(ErrorCode::kUnsupported,
                      "the manifest's image is " + manifest.image.format +
                          ", which cannot be mounted as a root (need erofs or squashfs)");
  record->manifest_sha256 = Sha256::of(obtained.manifest_text).hex();
  record->commit = manifest.commit.hex();
  record->image_sha256 = manifest.image.sha256.hex();
  record->image_size = manifest.image.size;
  record->image_format = manifest.image.format;
  std::string image_reference = manifest.image.url.empty()
                                    ? "/images/" + record->image_sha256 + "." + manifest.image.format
                                    : manifest.image.url;
  record->image_url = resolve_url(options.manifest_url, image_reference);
  record->manifest_ms = milliseconds_since(step);

  *stage = BootStage::kImage;
  step = Clock::now();
  record->image_path = image_dir + "/" + record->image_sha256 + "." + manifest.image.format;
  if (from_cache) {
    TRY(verify_image_file(record->image_path, manifest.image.sha256, manifest.image.size)
            .context("cached image " + record->image_path));
    record->image_source = "cache";
  } else {
    if (cache_dir.empty()) TRY(mount_image_tmpfs(image_dir));
    else TRY(make_directory(image_dir));
    ImageSpec spec{.url = record->image_url, .sha256 = manifest.image.sha256, .size = manifest.image.size};
    DownloadReport report = TRY(download_image(spec, record->image_path, config.download));
    record->image_source = report.reused ? "reused" : "download";
    record->resumed_from = report.resumed_from;
    record->downloaded = report.downloaded;
    if (!cache_dir.empty()) {  // the manifest that vouches for the copy, then drop older images
      TRY(write_file_atomically(cached_manifest_path, obtained.manifest_text));
      std::error_code error;
      for (const auto& entry : std::filesystem::directory_iterator(image_dir, error)) {
        std::string name = entry.path().filename().string();
        if (entry.path().string() != record->image_path &&
            (name.ends_with(".erofs") || name.ends_with(".squashfs") || name.ends_with(".part")))
          std::filesystem::remove(entry.path(), error);
      }
    }
  }
  record->image_ms = milliseconds_since(step);
  return obtained;
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
  const bool cache_mode = options.mode == BootMode::kCache;
  Clock::time_point start = Clock::now();
  BootRecord record;
  record.mode = boot_mode_name(options.mode);
  record.host = options.host;
  record.mac = options.mac;
  record.server = options.server;
  record.manifest_url = options.manifest_url;
  record.root = config.root;

  *stage = BootStage::kConfig;
  std::string key_pem = TRY(read_whole_file(config.site_key_path).context("reading the site key"));
  VerifyKey key = TRY(VerifyKey::from_pem(key_pem).context("site key " + config.site_key_path));
  record.key_id = key.key_id();

  // 0. The data partition, first: it keeps the image and the offline copy.
  *stage = BootStage::kUpper;
  DataStorage data = TRY(mount_data(config.upper, config.run_dir));
  TRY(check_persistence(config.upper, data, options.mode));
  std::string cache_dir = config.cache_dir;
  if (cache_dir.empty() && !data.path.empty()) cache_dir = data.path + "/goldroot/cache";
  if (cache_mode && cache_dir.empty())
    return make_error(ErrorCode::kInvalidArgument,
                      "cache mode keeps a copy of the image on a local data partition, but this "
                      "machine has none (label " + config.upper.label + ", or --cache-dir DIR)");
  std::string image_dir = cache_dir.empty() ? config.run_dir + "/image-files" : cache_dir;

  // 1-2. The manifest and the image, verified before anything mounts it. In
  // cache mode an unreachable server (for either) means the local copy.
  auto obtained = obtain_image(config, key, image_dir, cache_dir, false, &record, stage);
  if (!obtained.ok() && cache_mode && is_unreachable(obtained.error()) &&
      ::access((cache_dir + "/manifest.json").c_str(), F_OK) == 0) {
    std::fprintf(stderr, "goldroot-boot: %s; booting the local copy\n",
                 obtained.error().message.c_str());
    obtained = obtain_image(config, key, image_dir, cache_dir, true, &record, stage);
  }
  if (!obtained.ok()) return std::move(obtained).error();
  const BootManifest& manifest = obtained->manifest;

  // 3. The image's read-only mount.
  *stage = BootStage::kMount;
  Clock::time_point step = Clock::now();
  record.lower = config.run_dir + "/image";
  TRY(make_directory(record.lower));
  LoopDevice loop = TRY(LoopDevice::attach_read_only(record.image_path));
  record.loop_device = loop.path();
  ScopedMount image_mount = TRY(ScopedMount::mount(loop.path(), record.lower, manifest.image.format,
                                                   MS_RDONLY | MS_NODEV, ""));
  loop.release_to_mount();
  int64_t mount_ms = milliseconds_since(step);

  // 4. The host's config layer, read-only in the middle.
  *stage = BootStage::kLayer;
  step = Clock::now();
  record.middle = config.run_dir + "/middle";
  TRY(make_directory(record.middle));
  ScopedMount middle_mount = TRY(ScopedMount::mount("goldroot-layer", record.middle, "tmpfs",
                                                    MS_NOSUID | MS_NODEV, "mode=0755"));
  if (!options.host.empty()) {
    std::string cached_layer_path = cache_dir + "/layer.tar";
    record.layer_url = resolve_url(options.server.empty() ? options.manifest_url : options.server + "/",
                                   "/layers/" + options.host + ".tar");
    std::string tar;
    if (record.manifest_source == "cache") {
      tar = TRY(read_whole_file(cached_layer_path).context("cached host layer"));
      record.layer_source = "cache";
    } else {
      FetchOptions layer_fetch = config.download.fetch;
      layer_fetch.privileged_source_port = true;  // the layer then carries the agent token
      tar = TRY(fetch_text(record.layer_url, kLayerLimit, layer_fetch).context("host layer"));
      record.layer_source = "server";
      if (!cache_dir.empty()) TRY(write_file_atomically(cached_layer_path, tar));
    }
    UnpackReport unpacked = TRY(unpack_layer_tar(tar, record.middle));
    record.layer_entries = unpacked.entries;
    record.layer_whiteouts = unpacked.whiteouts;
  }
  if (::mount(nullptr, record.middle.c_str(), nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
              "mode=0755") != 0)
    return errno_error("remount " + record.middle + " read-only", errno);
  record.layer_ms = milliseconds_since(step);

  // 5-6. Install mode: the merged image on a local partition is the root.
  ScopedMount root_mount;
  PreparedUpper upper;
  if (options.mode == BootMode::kInstall) {
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
    upper = TRY(prepare_upper(config.upper, std::move(data), options.mode, config.run_dir));
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
    auto installed = install_agent(config.agent_from, config.run_dir, config.units_dir);
    if (!installed.ok())
      std::fprintf(stderr, "goldroot-boot: warning: %s\n", installed.error().message.c_str());
    record.agent = installed.ok() && *installed;
  }

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
