// boot_storm_client: one simulated lab PC for bench/boot_storm_bench.sh.
// Sixty QEMU clients do not fit on two cores, so each simulated client runs
// goldroot's own client path against a real `goldroot serve`, without
// mounting anything:
//
//   1. identity  its host key (made on first use, kept in --host-key);
//   2. manifest  a challenge, the signed request, the site-signed manifest
//                checked exactly as goldroot-boot checks it (manifest_fetch.h);
//   3. layer     the host's layer, signed request, sha256 checked;
//   4. image     --mode demand: the image's verity tree, then the boot read
//                set (--readset, recorded by a real client's goldroot-blockd)
//                replayed through a VerifyingSource — HTTP Range units, every
//                block verified — by --readers threads in 128 KiB reads, as
//                the kernel's readahead asks; then, with --fill, the rest of
//                the image by BackgroundFill (no idle priority: every client
//                here shares the same two cores). The cache is RAM (memfd),
//                or --cache-dir for a disk cache;
//                --mode full: the whole file downloaded and its sha256
//                checked (image_download.h), into --cache-dir.
//
// Prints one JSON line: the seconds each step took from the start (manifest,
// layer, readset, fill or download), image bytes fetched, verification
// failures, and "error" with the sentence when a step failed.
//
//   boot_storm_client --server URL --mac MAC --host-key FILE --site-key FILE
//                     --mode demand|full [--readset FILE] [--fill]
//                     [--cache-dir DIR] [--readers N]
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "blockd/background_fill.h"
#include "blockd/block_cache.h"
#include "blockd/range_client.h"
#include "blockd/verifying_source.h"
#include "boot/files.h"
#include "boot/image_download.h"
#include "boot/manifest_fetch.h"

using namespace goldroot;
using Clock = std::chrono::steady_clock;

namespace {

struct Flags {
  std::string server, mac, host_key, site_key, mode = "demand", readset, cache_dir;
  bool fill = false;
  int readers = 4;
};

// "goldroot-readset 1 <root>\n" then "first count\n" per extent (read_set.h).
std::vector<blockd::Extent> load_readset(const std::string& path) {
  std::vector<blockd::Extent> extents;
  std::ifstream in(path);
  std::string header;
  std::getline(in, header);
  blockd::Extent extent;
  while (in >> extent.first >> extent.count) extents.push_back(extent);
  return extents;
}

class Run {
 public:
  explicit Run(Flags flags) : flags_(std::move(flags)), start_(Clock::now()) {}
  nlohmann::json out = nlohmann::json::object();

  Status go() {
    out["mac"] = flags_.mac;
    out["mode"] = flags_.mode;
    boot::HostIdentity identity = TRY(boot::load_or_create_host_identity(flags_.host_key));
    std::string pem = TRY(boot::read_whole_file(flags_.site_key));
    VerifyKey key = TRY(VerifyKey::from_pem(pem));
    boot::BootOptions options = TRY(boot::parse_kernel_cmdline(
        "boot=goldroot goldroot.server=" + flags_.server + " goldroot.mac=" + flags_.mac));
    boot::set_boot_mac(&options, flags_.mac);
    boot::FetchOptions fetch;
    std::string challenge;
    boot::Obtained obtained = TRY(boot::fetch_manifest(options, fetch, key, &identity, 0, &challenge));
    mark("manifest_s");
    const BootManifest& manifest = obtained.manifest;
    if (manifest.host->layer_sha256) {
      std::string url = boot::host_layer_url(options, *manifest.host);
      (void)TRY(boot::fetch_host_layer(url, *manifest.host, identity, fetch));
    }
    mark("layer_s");
    std::string image_url = boot::manifest_image_url(options, manifest);
    if (flags_.mode == "full") return download(manifest, image_url);
    if (!manifest.image.verity) return make_error(ErrorCode::kUnsupported, "the image has no verity tree");
    return demand(*manifest.image.verity, image_url, boot::resolve_url(options.manifest_url,
                                                                      manifest.image.verity->tree_url));
  }

 private:
  void mark(const char* step) {
    out[step] = std::chrono::duration<double>(Clock::now() - start_).count();
  }

  Status download(const BootManifest& manifest, const std::string& url) {
    boot::ImageSpec spec{.url = url, .sha256 = manifest.image.sha256, .size = manifest.image.size};
    std::string target = flags_.cache_dir + "/" + flags_.mac + ".image";
    boot::DownloadReport report = TRY(boot::download_image(spec, target));
    mark("image_s");
    out["fetched_bytes"] = report.downloaded;
    ::unlink(target.c_str());
    return ok_status();
  }

  Status demand(const ImageVerity& verity, const std::string& image_url, const std::string& tree_url) {
    std::unique_ptr<blockd::BlockCache> cache =
        flags_.cache_dir.empty()
            ? TRY(blockd::BlockCache::open_ram(verity.params, verity.tree_size))
            : TRY(blockd::BlockCache::open_disk(flags_.cache_dir, verity.params, verity.tree_size));
    blockd::SourceOptions options{.image_url = image_url, .tree_url = tree_url};
    options.log = [](const std::string&) {};
    std::unique_ptr<blockd::VerifyingSource> source =
        TRY(blockd::VerifyingSource::open(cache.get(), std::move(options)));
    mark("tree_s");
    // The read set, split into 128 KiB reads, shared out among the readers
    // in order (a boot's readers follow the same files).
    std::vector<std::pair<uint64_t, uint32_t>> reads;
    for (const blockd::Extent& extent : load_readset(flags_.readset))
      for (uint64_t at = 0; at < extent.count; at += 32)
        reads.emplace_back((extent.first + at) * 4096,
                           static_cast<uint32_t>(std::min<uint64_t>(32, extent.count - at) * 4096));
    std::atomic<size_t> next{0};
    std::mutex mutex;
    std::string failure;
    std::vector<std::thread> readers;
    for (int t = 0; t < flags_.readers; ++t)
      readers.emplace_back([&] {
        std::vector<char> buffer(128 * 1024);
        for (size_t i; (i = next++) < reads.size();) {
          Status read = source->read(reads[i].first, reads[i].second, buffer.data());
          if (!read.ok()) {
            std::lock_guard lock(mutex);
            failure = read.error().message;
          }
        }
      });
    for (std::thread& reader : readers) reader.join();
    mark("readset_s");
    out["readset_bytes"] = source->counters().fetched_bytes;
    if (!failure.empty()) return make_error(ErrorCode::kCorruption, failure);
    if (flags_.fill) {
      std::mutex done_mutex;
      std::condition_variable done;
      bool finished = false;
      blockd::BackgroundFill fill(source.get(), nullptr, {.idle_priority = false}, [&] {
        std::lock_guard lock(done_mutex);
        finished = true;
        done.notify_all();
      });
      fill.start();
      std::unique_lock lock(done_mutex);
      done.wait(lock, [&] { return finished; });
      lock.unlock();
      fill.stop();
      mark("fill_s");
    }
    blockd::SourceCounters counters = source->counters();
    out["fetched_bytes"] = counters.fetched_bytes;
    out["requests"] = counters.requests;
    out["verify_failures"] = counters.verify_failures;
    if (!flags_.cache_dir.empty()) {
      ::unlink(cache->image_path().c_str());
      ::unlink((cache->image_path().substr(0, cache->image_path().size() - 6) + ".map").c_str());
    }
    return ok_status();
  }

  Flags flags_;
  Clock::time_point start_;
};

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (flag == "--server") flags.server = value();
    else if (flag == "--mac") flags.mac = value();
    else if (flag == "--host-key") flags.host_key = value();
    else if (flag == "--site-key") flags.site_key = value();
    else if (flag == "--mode") flags.mode = value();
    else if (flag == "--readset") flags.readset = value();
    else if (flag == "--cache-dir") flags.cache_dir = value();
    else if (flag == "--readers") flags.readers = std::stoi(value());
    else if (flag == "--fill") flags.fill = true;
    else {
      std::fprintf(stderr, "boot_storm_client: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  boot::http_global_init();
  blockd::range_client_global_init();
  Run run(flags);
  Status done = run.go();
  if (!done.ok()) run.out["error"] = done.error().message;
  std::printf("%s\n", run.out.dump().c_str());
  return done.ok() ? 0 : 1;
}
