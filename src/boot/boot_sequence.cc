#include "boot/boot_sequence.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

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

Result<std::string> read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return errno_error("open " + path, errno);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Status write_file_atomically(const std::string& path, const std::string& text) {
  std::string temporary = path + ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error("open " + temporary, errno);
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                 ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (!written) return errno_error("write " + temporary, saved);
  if (::rename(temporary.c_str(), path.c_str()) != 0) return errno_error("rename " + path, errno);
  return ok_status();
}

Status make_directory(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) return make_error(ErrorCode::kIo, "mkdir " + path + ": " + error.message());
  return ok_status();
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
  if (options.mode == BootMode::kInstall)
    return make_error(ErrorCode::kUnsupported, "goldroot.mode=install is not handled by goldroot-boot yet");
  if (cache_mode && config.cache_dir.empty())
    return make_error(ErrorCode::kInvalidArgument, "cache mode needs a cache directory (--cache-dir)");
  std::string key_pem = TRY(read_whole_file(config.site_key_path).context("reading the site key"));
  VerifyKey key = TRY(VerifyKey::from_pem(key_pem).context("site key " + config.site_key_path));
  record.key_id = key.key_id();

  // 1. The manifest.
  *stage = BootStage::kManifest;
  Clock::time_point step = Clock::now();
  std::string cached_manifest_path = config.cache_dir + "/manifest.json";
  auto fetched = fetch_text(options.manifest_url, kManifestLimit, config.download.fetch);
  std::string manifest_text;
  if (fetched.ok()) {
    manifest_text = std::move(fetched).value();
    record.manifest_source = "server";
  } else if (cache_mode && is_unreachable(fetched.error()) &&
             ::access(cached_manifest_path.c_str(), F_OK) == 0) {
    manifest_text = TRY(read_whole_file(cached_manifest_path));
    record.manifest_source = "cache";
  } else {
    return std::move(fetched).error().with_context("boot manifest");
  }
  auto verified = verify_boot_manifest(manifest_text, key);
  if (!verified.ok() && record.manifest_source == "cache")
    return std::move(verified).error().with_context("cached copy in " + config.cache_dir);
  BootManifest manifest = TRY(std::move(verified));
  if (manifest.image.format != "erofs" && manifest.image.format != "squashfs")
    return make_error(ErrorCode::kUnsupported,
                      "the manifest's image is " + manifest.image.format +
                          ", which cannot be mounted as a root (need erofs or squashfs)");
  record.manifest_sha256 = Sha256::of(manifest_text).hex();
  record.commit = manifest.commit.hex();
  record.image_sha256 = manifest.image.sha256.hex();
  record.image_size = manifest.image.size;
  record.image_format = manifest.image.format;
  std::string image_reference = manifest.image.url.empty()
                                    ? "/images/" + record.image_sha256 + "." + manifest.image.format
                                    : manifest.image.url;
  record.image_url = resolve_url(options.manifest_url, image_reference);
  record.manifest_ms = milliseconds_since(step);

  // 2. The image, verified before anything mounts it.
  *stage = BootStage::kImage;
  step = Clock::now();
  std::string image_dir = cache_mode ? config.cache_dir : config.run_dir + "/image-files";
  TRY(make_directory(image_dir));
  record.image_path = image_dir + "/" + record.image_sha256 + "." + manifest.image.format;
  if (record.manifest_source == "cache") {
    TRY(verify_image_file(record.image_path, manifest.image.sha256, manifest.image.size)
            .context("cached image " + record.image_path));
    record.image_source = "cache";
  } else {
    ImageSpec spec{.url = record.image_url, .sha256 = manifest.image.sha256, .size = manifest.image.size};
    DownloadReport report = TRY(download_image(spec, record.image_path, config.download));
    record.image_source = report.reused ? "reused" : "download";
    record.resumed_from = report.resumed_from;
    record.downloaded = report.downloaded;
    if (cache_mode) {  // the manifest that vouches for the copy, then drop older images
      TRY(write_file_atomically(cached_manifest_path, manifest_text));
      std::error_code error;
      for (const auto& entry : std::filesystem::directory_iterator(config.cache_dir, error)) {
        std::string name = entry.path().filename().string();
        if (entry.path().string() != record.image_path &&
            (name.ends_with(".erofs") || name.ends_with(".squashfs") || name.ends_with(".part")))
          std::filesystem::remove(entry.path(), error);
      }
    }
  }
  record.image_ms = milliseconds_since(step);

  // 3. The image's read-only mount.
  *stage = BootStage::kMount;
  step = Clock::now();
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
    std::string cached_layer_path = config.cache_dir + "/layer.tar";
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
      if (cache_mode) TRY(write_file_atomically(cached_layer_path, tar));
    }
    UnpackReport unpacked = TRY(unpack_layer_tar(tar, record.middle));
    record.layer_entries = unpacked.entries;
    record.layer_whiteouts = unpacked.whiteouts;
  }
  if (::mount(nullptr, record.middle.c_str(), nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
              "mode=0755") != 0)
    return errno_error("remount " + record.middle + " read-only", errno);
  record.layer_ms = milliseconds_since(step);

  // 5. The upper layer, as the mode wants it.
  *stage = BootStage::kUpper;
  step = Clock::now();
  PreparedUpper upper = TRY(prepare_upper(config.upper, options.mode, config.run_dir));
  record.upper_kind = upper_kind_name(upper.kind);
  record.upper_device = upper.device;
  record.upper_path = upper.upper;
  record.work_path = upper.work;
  record.upper_formatted = upper.formatted;
  record.upper_discarded = upper.discarded;

  // 6. The overlay root.
  *stage = BootStage::kRoot;
  TRY(make_directory(config.root));
  std::string data = "lowerdir=" + record.middle + ":" + record.lower + ",upperdir=" + upper.upper +
                     ",workdir=" + upper.work;
  ScopedMount root_mount = TRY(ScopedMount::mount("goldroot", config.root, "overlay", 0, data));
  record.mount_ms = mount_ms + milliseconds_since(step);
  record.total_ms = milliseconds_since(start);

  // 7. The record; only then do the mounts outlive us.
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
