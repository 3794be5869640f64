// blockd_fetch_units: how the fetch unit trades bytes against requests.
// Serves a random image and its verity tree with goldroot's own HTTP server
// on loopback, replays one read pattern through a VerifyingSource over a RAM
// cache for each unit size (4, 16, 64, 256 KiB), and prints the bytes
// fetched, the requests made and the time; then the rate of 4 KiB Range
// requests over one kept-alive connection against a new connection each.
//
// The pattern is a file of "offset length" lines (bytes; e.g. a boot's read
// trace), or by default a synthetic boot: 532 extents of 4 KiB-1 MiB at
// random places, about 6% of the image, read in 4-128 KiB requests (the
// shape the issue measured on a Debian boot).
//
//   blockd_fetch_units [--size-mb N] [--pattern FILE] [--threads N]
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/testing/testing.h"
#include "blockd/range_client.h"
#include "blockd/verifying_source.h"
#include "server/http_server.h"
#include "server/static_files.h"

using namespace goldroot;
using namespace goldroot::blockd;
using Clock = std::chrono::steady_clock;

namespace {

struct Read {
  uint64_t offset;
  uint32_t length;
};

std::vector<Read> synthetic_boot(uint64_t size, uint32_t seed) {
  std::mt19937_64 random(seed);
  std::vector<Read> reads;
  uint64_t target = size * 6 / 100, total = 0;
  while (total < target) {
    // Mostly small extents, a few large (files read whole).
    uint64_t blocks = random() % 10 < 7 ? 1 + random() % 8 : 8 + random() % 248;
    uint64_t first = random() % (size / 4096 - blocks);
    for (uint64_t at = 0; at < blocks;) {
      uint64_t take = std::min<uint64_t>(blocks - at, 1 + random() % 32);
      reads.push_back({(first + at) * 4096, static_cast<uint32_t>(take * 4096)});
      at += take;
    }
    total += blocks * 4096;
  }
  return reads;
}

int fail(const std::string& what) {
  std::fprintf(stderr, "blockd_fetch_units: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t size_mb = 256;
  std::string pattern_file;
  int threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--size-mb") size_mb = std::stoull(argv[i + 1]);
    else if (flag == "--pattern") pattern_file = argv[i + 1];
    else if (flag == "--threads") threads = std::stoi(argv[i + 1]);
    else return fail("unknown flag " + flag);
  }
  range_client_global_init();
  goldroot::testing::TempDir temp;
  const uint64_t size = size_mb << 20;
  {
    std::mt19937_64 random(1);
    std::ofstream out(temp / "image.bin", std::ios::binary);
    std::vector<uint64_t> chunk(1 << 17);
    for (uint64_t written = 0; written < size; written += chunk.size() * 8) {
      for (auto& word : chunk) word = random();
      out.write(reinterpret_cast<const char*>(chunk.data()), static_cast<std::streamsize>(chunk.size() * 8));
    }
  }
  std::string salt(32, 's');
  auto built = build_verity_tree_of_file(temp / "image.bin", 4096, 4096, salt);
  if (!built.ok()) return fail(built.error().message);
  goldroot::testing::write_file(temp / "image.bin.verity", built->tree);
  VerityParams params{.data_blocks = size / 4096, .salt = salt, .root_hash = built->root_hash};

  server::Router router;
  auto files = server::StaticFiles::open(temp.path(), "/images/");
  if (!files.ok()) return fail(files.error().message);
  router.add_prefix("/images/", server::StaticFiles::handler(*files));
  auto http = server::HttpServer::start({.threads = 2}, std::move(router));
  if (!http.ok()) return fail(http.error().message);
  std::string base = "http://127.0.0.1:" + std::to_string((*http)->port()) + "/images/";

  std::vector<Read> reads;
  if (!pattern_file.empty()) {
    std::ifstream in(pattern_file);
    uint64_t offset, length;
    while (in >> offset >> length)
      if (offset + length <= size && length > 0) reads.push_back({offset, static_cast<uint32_t>(length)});
  } else {
    reads = synthetic_boot(size, 18);
  }
  uint64_t read_bytes = 0;
  for (const Read& read : reads) read_bytes += read.length;
  std::printf("image %llu MiB, tree %zu KiB; pattern: %zu reads, %.1f MiB (%.2f%% of the image), "
              "%d reader thread(s)\n",
              static_cast<unsigned long long>(size_mb), built->tree.size() / 1024, reads.size(),
              read_bytes / 1048576.0, 100.0 * read_bytes / size, threads);
  std::printf("%-8s %14s %10s %10s %12s %10s\n", "unit", "fetched MiB", "of image", "requests",
              "time s", "MiB/s read");
  for (uint32_t unit_kib : {4u, 16u, 64u, 256u}) {
    auto cache = BlockCache::open_ram(params, built->tree.size());
    if (!cache.ok()) return fail(cache.error().message);
    SourceOptions options{.image_url = base + "image.bin", .tree_url = base + "image.bin.verity",
                          .unit_size = unit_kib * 1024};
    auto source = VerifyingSource::open(cache->get(), options);
    if (!source.ok()) return fail(source.error().message);
    SourceCounters before = (*source)->counters();
    auto start = Clock::now();
    std::vector<std::thread> readers;
    for (int t = 0; t < threads; ++t)
      readers.emplace_back([&, t] {
        std::vector<char> buffer(1 << 20);
        for (size_t i = static_cast<size_t>(t); i < reads.size(); i += static_cast<size_t>(threads))
          if (!(*source)->read(reads[i].offset, reads[i].length, buffer.data()).ok()) std::abort();
      });
    for (auto& reader : readers) reader.join();
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    SourceCounters after = (*source)->counters();
    uint64_t fetched = after.fetched_bytes - before.fetched_bytes;
    std::printf("%4u KiB %14.1f %9.2f%% %10llu %12.3f %10.1f\n", unit_kib, fetched / 1048576.0,
                100.0 * fetched / size,
                static_cast<unsigned long long>(after.requests - before.requests), seconds,
                read_bytes / 1048576.0 / seconds);
  }

  // Keep-alive against a new connection per request.
  for (bool reuse : {true, false}) {
    auto client = RangeClient::create({.reuse_connections = reuse});
    if (!client.ok()) return fail(client.error().message);
    std::vector<char> buffer(4096);
    std::mt19937_64 random(2);
    const int count = 4000;
    auto start = Clock::now();
    for (int i = 0; i < count; ++i) {
      Status status = (*client)->fetch(base + "image.bin", (random() % (size / 4096)) * 4096, 4096,
                                       buffer.data());
      if (!status.ok()) return fail(status.error().message);
    }
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("4 KiB ranges, %-22s %7.0f requests/s (%llu connections for %d requests)\n",
                reuse ? "one kept-alive handle:" : "new connection each:", count / seconds,
                static_cast<unsigned long long>((*client)->connections()), count);
  }
  (*http)->stop();
  return 0;
}
