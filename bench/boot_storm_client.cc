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
//                the kernel's readahead asks, at the recorded boot's pace:
//                each read not before its extent's recorded time, scaled so
//                the last comes --pace-seconds after the first (reads in
//                order, evenly spread, for a version 1 read set without
//                times; 0: all at once). A read that is late (the server was
//                slow) goes at once, so a slow server delays the rest, as it
//                delays a boot. With --fill, BackgroundFill fetches the rest
//                of the image from the start, beside the reads, as
//                goldroot-blockd does (no idle priority: every client here
//                shares the same two cores). The cache is RAM (memfd), or
//                --cache-dir for a disk cache;
//                --mode full: the whole file downloaded and its sha256
//                checked (image_download.h), into --cache-dir.
//
// Prints one JSON line: the seconds each step took from the start (manifest,
// layer, readset, fill or download), how late the latest read of the read
// set went out against its paced time (readset_late_s), image bytes
// fetched, verification failures, and "error" with the sentence when a step
// failed.
//
//   boot_storm_client --server URL --mac MAC --host-key FILE --site-key FILE
//                     --mode demand|full [--readset FILE] [--fill]
//                     [--cache-dir DIR] [--readers N] [--pace-seconds S]
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "blockd/background_fill.h"
#include "blockd/block_cache.h"
#include "blockd/range_client.h"
#include "blockd/read_set.h"
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
  double pace_seconds = 0;
};

// A 128 KiB (or shorter) read of the read set and when, from the first
// read, it is due.
struct PacedRead {
  uint64_t offset;
  uint32_t length;
  Clock::duration due;
};

Result<std::vector<PacedRead>> load_reads(const std::string& path, double pace_seconds) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return make_error(ErrorCode::kNotFound, "cannot read the read set " + path);
  blockd::ReadSetFile file = TRY(blockd::parse_read_set(text.str()));
  std::vector<PacedRead> reads;
  std::vector<uint32_t> recorded_ms;
  for (const blockd::TimedExtent& timed : file.extents)
    for (uint64_t at = 0; at < timed.extent.count; at += 32) {
      reads.push_back({(timed.extent.first + at) * 4096,
                       static_cast<uint32_t>(std::min<uint64_t>(32, timed.extent.count - at) * 4096),
                       {}});
      recorded_ms.push_back(timed.at_ms);
    }
  if (reads.empty() || pace_seconds <= 0) return reads;
  const uint32_t first_ms = recorded_ms.front(), last_ms = recorded_ms.back();
  const bool timed = last_ms > first_ms;
  for (size_t i = 0; i < reads.size(); ++i) {
    // (Times may step back a little: concurrent reads record in any order.)
    double share = timed ? std::max(0.0, (double(recorded_ms[i]) - first_ms) / (last_ms - first_ms))
                         : double(i) / double(reads.size());
    reads[i].due = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(share * pace_seconds));
  }
  return reads;
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
    // What this boot reads, so the fill fetches it first (as the daemon's).
    blockd::ReadSet read_set("", verity.params.root_hash, verity.params.data_blocks);
    blockd::SourceOptions options{.image_url = image_url, .tree_url = tree_url};
    options.log = [](const std::string&) {};
    options.read_set = &read_set;
    std::unique_ptr<blockd::VerifyingSource> source =
        TRY(blockd::VerifyingSource::open(cache.get(), std::move(options)));
    mark("tree_s");
    // The read set, split into 128 KiB reads, shared out among the readers
    // in order (a boot's readers follow the same files), each not before
    // its time.
    std::vector<PacedRead> reads = TRY(load_reads(flags_.readset, flags_.pace_seconds));
    // The fill starts with the reads, as goldroot-blockd's does.
    std::mutex done_mutex;
    std::condition_variable done;
    bool finished = false;
    std::optional<blockd::BackgroundFill> fill;
    if (flags_.fill) {
      fill.emplace(source.get(), &read_set, blockd::FillOptions{.idle_priority = false}, [&] {
        std::lock_guard lock(done_mutex);
        finished = true;
        done.notify_all();
      });
      fill->start();
    }
    const Clock::time_point reads_start = Clock::now();
    std::atomic<size_t> next{0};
    std::mutex mutex;
    std::string failure;
    Clock::duration late{};
    std::vector<std::thread> readers;
    for (int t = 0; t < flags_.readers; ++t)
      readers.emplace_back([&] {
        std::vector<char> buffer(128 * 1024);
        for (size_t i; (i = next++) < reads.size();) {
          const Clock::time_point due = reads_start + reads[i].due;
          std::this_thread::sleep_until(due);
          const Clock::duration behind = Clock::now() - due;
          Status read = source->read(reads[i].offset, reads[i].length, buffer.data());
          std::lock_guard lock(mutex);
          late = std::max(late, behind);
          if (!read.ok()) failure = read.error().message;
        }
      });
    for (std::thread& reader : readers) reader.join();
    mark("readset_s");
    out["readset_late_s"] = std::chrono::duration<double>(late).count();
    out["readset_bytes"] = source->counters().fetched_bytes;
    if (!failure.empty()) return make_error(ErrorCode::kCorruption, failure);
    if (fill) {
      std::unique_lock lock(done_mutex);
      done.wait(lock, [&] { return finished; });
      lock.unlock();
      fill->stop();
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
    else if (flag == "--pace-seconds") flags.pace_seconds = std::stod(value());
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
