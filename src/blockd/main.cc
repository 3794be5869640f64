// goldroot-blockd: serves an image as a dm-verity device over NBD (see
// blockd/nbd_server.h, blockd/device_mapper.h) and keeps serving it after
// the initramfs hands over to the real root.
//
//   goldroot-blockd --image-url URL --tree-url URL --root-hash HEX --salt HEX
//                   --data-blocks N --tree-size BYTES
//                   [--data-block-size 4096] [--hash-block-size 4096]
//                   [--cache-dir DIR] [--unit-kib 64] [--tls-pin FILE]
//                   [--status FILE] [--require-complete] [--no-fill]
//                   [--name NAME] [--workers N] [--ready-fd N] [--mirror URL…]
//   goldroot-blockd --prefetch --cache-dir DIR --image-url URL --tree-url URL
//                   --root-hash HEX --salt HEX --data-blocks N --tree-size BYTES
//                   [--unit-kib 1024] [--tls-pin FILE] [--status FILE] [--mirror URL…]
//   goldroot-blockd --image FILE --tree FILE --root-hash HEX [--salt HEX]
//                   [--name NAME] [--local-copy FILE] [--workers N] [--ready-fd N]
//
// The network mode (what goldroot-boot starts for fetch=demand) serves the
// image at URL as its blocks are read, each verified against the tree the
// root hash vouches for (blockd/verifying_source.h), kept in a cache: on
// disk under --cache-dir (the data partition) or in RAM. With a disk cache
// it fills in the rest at idle priority (blockd/background_fill.h) and,
// once every block is there, moves the device onto the local copy (the
// live move, as SIGUSR1 below) and exits: the machine no longer needs its
// server. A cache complete at the start needs no daemon: the device reads
// it through a loop device at once. --require-complete (an offline
// cache-mode boot) refuses an incomplete cache. --no-fill keeps a disk
// cache to what reads ask for (no background fill, no move: a metered link,
// or a test that needs a cache left half full). The status file (default
// /run/goldroot/blockd.json, blockd/status_file.h) says how far it got.
// --mirror (repeatable) names another server of the site, as
// "http://HOST:PORT/": when the URLs' server stops answering, reads go to
// the mirrors' same paths (blockd/verifying_source.h).
//
// Seeding: a disk cache is filled from the caches of older images in the
// same directory first (blockd/seed_index.h): the new hash tree is loaded
// by Merkle descent from the root hash, a hash block an older tree holds
// being copied, verified, not fetched; then a data block whose leaf hash an
// older tree holds is copied from there, verified, and not fetched. Once
// the image is complete (at the start, or after the live move) the daemon
// removes the caches of the other images it found at its start, unless
// another daemon has one open: a disk holds at most the image served and
// the one before it (which goldroot-boot keeps for this purpose), plus one
// being prefetched. A RAM cache is never seeded.
//
// The prefetch mode fills the disk cache of an image that is not running
// (the next gold, before the nightly reboot) and exits: no NBD, no
// device-mapper, no '@', no locked memory, idle priority, seeding first,
// then Range requests of --unit-kib (default 1024) for what is left. Exit 0
// when the cache is complete; 1 when blocks still fail verification after
// two passes, or when a running daemon serves that image (it fills it). It waits for an unreachable server like the daemon does; stop
// it with SIGTERM (what it stored is kept, up to the last map persist). The
// status file is written only with an explicit --status.
//
// The file mode serves FILE followed by its hash tree (a FileBlockSource:
// what the vm test tier drives). In both modes, once the device is up it
// prints its path (/dev/dm-N) as the one line on stdout — or on fd N with
// --ready-fd, which gets "error: <sentence>" instead when it cannot start
// (boot/blockd_launch.h reads it), and is closed then — and waits:
//
//   SIGUSR1  the live move: attaches --local-copy (data then tree, the
//            device's bytes) to a loop device, reloads the dm table onto
//            it, detaches NBD and exits 0;
//   SIGTERM  removes the dm device and exits 0 if nothing holds it, else
//   SIGINT   says so and keeps serving.
//
// Exit codes: 0 done, 2 bad usage, 1 the device could not be set up.
// /proc/PID/cmdline starts with '@' and memory is locked
// (blockd/root_storage_daemon.h).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/hash.h"
#include "blockd/background_fill.h"
#include "blockd/block_cache.h"
#include "blockd/device_mapper.h"
#include "blockd/file_source.h"
#include "blockd/nbd_server.h"
#include "blockd/range_client.h"
#include "blockd/read_set.h"
#include "blockd/root_storage_daemon.h"
#include "blockd/seed_index.h"
#include "blockd/status_file.h"
#include "blockd/verifying_source.h"
#include "crypto/tls_pin.h"
#include "sys/loop_device.h"
#include "sys/unique_fd.h"

namespace {

using namespace goldroot;
using namespace goldroot::blockd;

constexpr const char* kUsage =
    "usage: goldroot-blockd --image-url URL --tree-url URL --root-hash HEX --salt HEX\n"
    "                       --data-blocks N --tree-size BYTES [--data-block-size 4096]\n"
    "                       [--hash-block-size 4096] [--cache-dir DIR] [--unit-kib 64]\n"
    "                       [--tls-pin FILE] [--status FILE] [--require-complete]\n"
    "                       [--no-fill] [--name NAME] [--workers N] [--ready-fd N]\n"
    "                       [--mirror URL]...\n"
    "       goldroot-blockd --prefetch --cache-dir DIR --image-url URL --tree-url URL\n"
    "                       --root-hash HEX --salt HEX --data-blocks N --tree-size BYTES\n"
    "                       [--unit-kib 1024] [--tls-pin FILE] [--status FILE]\n"
    "                       [--mirror URL]...\n"
    "       goldroot-blockd --image FILE --tree FILE --root-hash HEX [--salt HEX]\n"
    "                       [--name NAME] [--local-copy FILE] [--workers N]\n"
    "                       [--ready-fd N]\n";

struct Options {
  std::string image, tree, root_hash, salt, local_copy;
  std::string name = "goldroot-root";
  int workers = 4;
  int ready_fd = -1;
  // The network mode.
  std::string image_url, tree_url, cache_dir, tls_pin;
  std::vector<std::string> mirrors;
  std::string status = "/run/goldroot/blockd.json";
  uint64_t data_blocks = 0, tree_size = 0;
  uint32_t data_block_size = 4096, hash_block_size = 4096;
  uint32_t unit_kib = 0;  // 0: 64, or 1024 for --prefetch
  bool status_given = false;
  bool require_complete = false;
  bool fill = true;  // a disk cache fills in the rest in the background
  bool prefetch = false;
};

// The one line the starter waits for: the device, or why there is none.
class ReadyLine {
 public:
  explicit ReadyLine(int fd) : fd_(fd) {}
  ~ReadyLine() { close(); }
  void send(const std::string& line) {
    if (fd_ < 0) return;
    std::string text = line + "\n";
    (void)!::write(fd_, text.data(), text.size());
    close();
  }

 private:
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd_;
};

// The device, once it is up: on --ready-fd, else as the one line on stdout.
void announce(const Options& options, ReadyLine* ready, const std::string& device) {
  if (options.ready_fd >= 0) {
    ready->send(device);
  } else {
    std::printf("%s\n", device.c_str());
    std::fflush(stdout);
  }
}

int fail(int code, const std::string& message, ReadyLine* ready = nullptr) {
  std::fprintf(stderr, "goldroot-blockd: error: %s\n", message.c_str());
  if (ready) ready->send("error: " + message.substr(0, message.find('\n')));
  return code;
}

Result<VerityParams> verity_params(const Options& options) {
  VerityParams params;
  auto root = Digest::from_hex(options.root_hash);
  if (!root) return make_error(ErrorCode::kInvalidArgument, "--root-hash must be 64 hex digits");
  params.root_hash = *root;
  auto salt = hex_decode(options.salt);
  if (!salt || salt->size() > 256) return make_error(ErrorCode::kInvalidArgument, "--salt must be at most 256 bytes in hex");
  params.salt = *salt;
  struct stat st;
  if (::stat(options.image.c_str(), &st) != 0) return errno_error("stat " + options.image, errno);
  params.data_blocks = static_cast<uint64_t>(st.st_size) / params.data_block_size;
  if (::stat(options.tree.c_str(), &st) != 0) return errno_error("stat " + options.tree, errno);
  uint64_t want = VerityGeometry(params.data_blocks, params.hash_block_size).tree_size();
  if (static_cast<uint64_t>(st.st_size) != want)
    return make_error(ErrorCode::kInvalidArgument, options.tree + " is " + std::to_string(st.st_size) +
                                                       " bytes; the tree of " + options.image + " is " +
                                                       std::to_string(want));
  return params;
}

// The live move: the dm table onto a loop device of the local copy, then
// NBD goes away. Without paths (`dev` is an fd of /dev, `copy` the local
// copy's fd): after the switch to the real root the daemon's own root has
// neither /dev nor the data partition at their old paths.
Status move_to_local_copy(int dev, int copy, const std::string& name, VerityDevice* device,
                          NbdServer* server) {
  LoopDevice loop = TRY(LoopDevice::attach_read_only_fd(dev, copy, name));
  TRY(device->reload(loop.number()));
  loop.release_to_mount();  // the table holds it; autoclear detaches it with the table
  TRY(server->disconnect().context("detaching " + server->device()));
  return ok_status();
}

// SIGTERM or SIGINT: removes the device unless something holds it (the
// mounted root); false: it does, and the daemon keeps serving.
bool remove_unused(VerityDevice* device) {
  Status removed = device->remove();
  if (removed.ok()) return true;
  std::fprintf(stderr, "goldroot-blockd: %s; still serving\n", removed.error().message.c_str());
  return false;
}

// After the ready line: the daemon leaves goldroot-boot's session and its
// terminal's stdin; stderr stays the console, for the lines that matter.
void detach() {
  ::setsid();
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::close(null);
  }
}

// "http://10.0.0.1:8080/images/<sha>.erofs" -> "<sha>", for the status.
std::string image_name(const std::string& url) {
  std::string name = url.substr(url.rfind('/') + 1);
  return name.substr(0, name.find('.'));
}

void split_path(const std::string& path, std::string* directory, std::string* name) {
  size_t slash = path.rfind('/');
  *directory = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  *name = path.substr(slash == std::string::npos ? 0 : slash + 1);
}

// The network modes' verity parameters and source options, from the flags.
Status network_setup(const Options& options, VerityParams* params, SourceOptions* source_options) {
  auto root = Digest::from_hex(options.root_hash);
  auto salt = hex_decode(options.salt);
  if (!root) return make_error(ErrorCode::kInvalidArgument, "--root-hash must be 64 hex digits");
  if (!salt || salt->size() > 256)
    return make_error(ErrorCode::kInvalidArgument, "--salt must be at most 256 bytes in hex");
  params->root_hash = *root;
  params->salt = *salt;
  params->data_blocks = options.data_blocks;
  params->data_block_size = options.data_block_size;
  params->hash_block_size = options.hash_block_size;
  if (params->data_blocks == 0)
    return make_error(ErrorCode::kInvalidArgument, "--data-blocks must be at least 1");
  if (options.tree_size != VerityGeometry(params->data_blocks, params->hash_block_size).tree_size())
    return make_error(ErrorCode::kInvalidArgument,
                      "--tree-size " + std::to_string(options.tree_size) +
                          " is not the size of the tree of " + std::to_string(params->data_blocks) +
                          " blocks");
  if (options.unit_kib < 4 || options.unit_kib % 4 != 0 || options.unit_kib > 1024)
    return make_error(ErrorCode::kInvalidArgument, "--unit-kib must be a multiple of 4 from 4 to 1024");
  range_client_global_init();
  source_options->image_url = options.image_url;
  source_options->tree_url = options.tree_url;
  source_options->mirrors = options.mirrors;
  source_options->unit_size = options.unit_kib * 1024;
  if (!options.tls_pin.empty())
    source_options->http.pinned_public_key = TRY(read_tls_pin_file(options.tls_pin));
  return {};
}

// The seed index over the other images' caches beside `cache` (none for a
// RAM cache or a complete one). Seeding is an optimisation: an index that
// cannot be built is a line on stderr, and the image is fetched instead.
std::unique_ptr<SeedIndex> seed_index_for(const Options& options, const BlockCache& cache) {
  if (cache.kind() != CacheKind::kDisk || cache.complete()) return nullptr;
  auto index = SeedIndex::build(options.cache_dir, cache.params(), [](const std::string& line) {
    std::fprintf(stderr, "goldroot-blockd: %s\n", line.c_str());
  });
  if (!index.ok()) {
    std::fprintf(stderr, "goldroot-blockd: not seeding from older images: %s\n",
                 index.error().message.c_str());
    return nullptr;
  }
  if ((*index)->empty()) return nullptr;
  return std::move(*index);
}

// Once this image is complete: the caches of the other images go (those in
// `roots`, found at the start), unless another daemon has one open.
// `directory` is a descriptor opened at the start: after switch_root the
// cache directory's path no longer leads there.
void remove_other_caches(int directory, const std::vector<std::string>& roots) {
  for (const std::string& root : roots) {
    Status removed = remove_disk_cache(directory, root);
    if (!removed.ok() && removed.error().code == ErrorCode::kNotFound) continue;
    if (removed.ok())
      std::fprintf(stderr, "goldroot-blockd: removed the cache of image %s, which this one replaces\n",
                   root.substr(0, 12).c_str());
    else
      std::fprintf(stderr, "goldroot-blockd: keeping the cache of image %s: %s\n",
                   root.substr(0, 12).c_str(), removed.error().message.c_str());
  }
}

std::vector<std::string> other_caches(const std::string& directory, const VerityParams& params) {
  std::vector<std::string> roots = disk_caches_in(directory);
  std::erase(roots, params.root_hash.hex());
  return roots;
}

std::string mib(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return text;
}

// --prefetch: fills the disk cache of an image to complete and exits.
int prefetch(const Options& options) {
  VerityParams params;
  SourceOptions source_options;
  if (Status setup = network_setup(options, &params, &source_options); !setup.ok())
    return fail(2, setup.error().message);
  if (options.cache_dir.empty()) return fail(2, "--prefetch needs --cache-dir: it fills a disk cache");
  make_thread_idle_priority();
  // Two writers of one cache would drop each other's map bits.
  if (disk_cache_in_use(options.cache_dir, params.root_hash.hex()))
    return fail(1, "the cache of image " + params.root_hash.hex().substr(0, 12) +
                       " is open in a running goldroot-blockd, which fills it itself");
  auto cache = BlockCache::open_disk(options.cache_dir, params, options.tree_size);
  if (!cache.ok()) return fail(1, cache.error().message);
  BlockCache* const local = cache->get();
  std::unique_ptr<SeedIndex> seed = seed_index_for(options, *local);
  source_options.seed = seed.get();
  auto opened = VerifyingSource::open(local, source_options);
  if (!opened.ok()) return fail(1, opened.error().message);
  VerifyingSource* const source = opened->get();
  std::unique_ptr<StatusWriter> status;
  if (options.status_given) {
    std::string status_directory, status_name;
    split_path(options.status, &status_directory, &status_name);
    auto writer = StatusWriter::open(status_directory, status_name, source, image_name(options.image_url));
    if (!writer.ok()) return fail(1, writer.error().message);
    status = std::move(*writer);
    status->start();
  }
  source->apply_patch(Lane::kFill);
  // Two passes: a block that failed verification gets one more try.
  for (int pass = 0; pass < 2 && !local->complete(); ++pass)
    for (uint64_t unit = 0; unit < source->units(); ++unit) {
      (void)source->fill_unit(unit);  // a bad block is logged and counted
      if (unit % 256 == 255) (void)local->persist();
    }
  if (Status persisted = local->persist(); !persisted.ok()) return fail(1, persisted.error().message);
  if (status) status->stop();
  SourceCounters counters = source->counters();
  if (!local->complete())
    return fail(1, std::to_string(local->blocks() - local->present_count()) + " blocks of image " +
                       params.root_hash.hex().substr(0, 12) +
                       " did not match their verity hash; its cache stays incomplete");
  std::fprintf(stderr, "goldroot-blockd: image %s is complete in %s: %s copied from older images, "
               "%s made by an update patch, %s fetched (%s of it the patch; of its %s hash tree: "
               "%s copied, %s fetched)\n",
               params.root_hash.hex().substr(0, 12).c_str(), local->image_path().c_str(),
               mib(counters.seeded_bytes).c_str(), mib(counters.patched_bytes).c_str(),
               mib(counters.fetched_bytes).c_str(), mib(counters.patch_fetched_bytes).c_str(),
               mib(local->tree_blocks() * kBlockSize).c_str(), mib(counters.tree_seeded_bytes).c_str(),
               mib(counters.tree_fetched_bytes).c_str());
  return 0;
}

int serve_network(const Options& options, ReadyLine* ready) {
  VerityParams params;
  SourceOptions source_options;
  if (Status setup = network_setup(options, &params, &source_options); !setup.ok())
    return fail(2, setup.error().message, ready);

  auto cache = options.cache_dir.empty()
                   ? BlockCache::open_ram(params, options.tree_size)
                   : BlockCache::open_disk(options.cache_dir, params, options.tree_size);
  if (!cache.ok()) return fail(1, cache.error().message, ready);
  BlockCache* const local = cache->get();
  if (options.require_complete && !local->complete())
    return fail(1, "the local copy of this image is incomplete (" + std::to_string(local->present_count()) +
                       " of " + std::to_string(local->blocks()) + " blocks); it boots only with its server",
                ready);
  // Found now, removed once this image is complete (through a descriptor:
  // that happens after switch_root).
  const std::vector<std::string> others =
      local->kind() == CacheKind::kDisk ? other_caches(options.cache_dir, params)
                                        : std::vector<std::string>{};
  UniqueFd cache_directory;
  if (local->kind() == CacheKind::kDisk)
    cache_directory = UniqueFd(::open(options.cache_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  std::unique_ptr<SeedIndex> seed = seed_index_for(options, *local);
  ReadSet read_set(options.cache_dir, params.root_hash, params.data_blocks);
  source_options.read_set = &read_set;
  source_options.seed = seed.get();
  auto opened = VerifyingSource::open(local, source_options);
  if (!opened.ok()) return fail(1, opened.error().message, ready);
  VerifyingSource* const source = opened->get();
  std::string status_directory, status_name;
  split_path(options.status, &status_directory, &status_name);
  auto status_writer = StatusWriter::open(status_directory, status_name, source, image_name(options.image_url));
  if (!status_writer.ok()) return fail(1, status_writer.error().message, ready);
  StatusWriter* const status = status_writer->get();
  status->set_tick([local, &read_set] {
    (void)local->persist();
    (void)read_set.save();
  });

  if (local->complete()) {  // a whole local copy: the device reads it, no daemon
    auto loop = LoopDevice::attach_read_only(local->image_path());
    if (!loop.ok()) return fail(1, loop.error().message, ready);
    auto device = VerityDevice::create(options.name, loop->path(), params);
    if (!device.ok()) return fail(1, device.error().message, ready);
    loop->release_to_mount();
    status->set_device(device->path());
    status->set_backing(Backing::kLocal);
    (void)status->write_now();
    std::fprintf(stderr, "goldroot-blockd: %s is %s: dm-verity over the complete local copy %s\n",
                 options.name.c_str(), device->path().c_str(), local->image_path().c_str());
    announce(options, ready, device->path());
    if (cache_directory.valid()) remove_other_caches(cache_directory.get(), others);
    return 0;
  }

  // Held for the live move, which happens after the switch to the real root.
  UniqueFd dev(::open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dev.valid()) return fail(1, errno_error("open /dev", errno).message, ready);
  NbdOptions nbd_options;
  nbd_options.workers = options.workers;
  auto server = NbdServer::attach(source, nbd_options);
  if (!server.ok()) return fail(1, server.error().message, ready);
  auto device = VerityDevice::create(options.name, (*server)->device(), params);
  if (!device.ok()) return fail(1, device.error().message, ready);
  status->set_device(device->path());
  status->start();
  std::fprintf(stderr, "goldroot-blockd: %s is %s: dm-verity over %s, on demand from %s (%s cache)\n",
               options.name.c_str(), device->path().c_str(), (*server)->device().c_str(),
               options.image_url.c_str(), options.cache_dir.empty() ? "RAM" : options.cache_dir.c_str());
  announce(options, ready, device->path());
  detach();

  // With a disk cache: fill in the rest, then move onto it (SIGUSR1 from the
  // fill's thread to this one, which owns the devices).
  std::unique_ptr<BackgroundFill> fill;
  if (local->kind() == CacheKind::kDisk && options.fill) {
    fill = std::make_unique<BackgroundFill>(source, &read_set, FillOptions{},
                                            [] { ::kill(::getpid(), SIGUSR1); });
    fill->start();
  }
  sigset_t signals;
  sigemptyset(&signals);
  for (int number : {SIGTERM, SIGINT, SIGUSR1, SIGHUP}) sigaddset(&signals, number);
  for (;;) {
    int number = sigwaitinfo(&signals, nullptr);
    if (number == SIGUSR1 && local->complete() && !local->image_path().empty()) {
      Status moved = local->persist();
      if (moved.ok())
        moved = move_to_local_copy(dev.get(), local->fd(), local->image_path(), &*device, server->get());
      if (!moved.ok()) {
        std::fprintf(stderr, "goldroot-blockd: error: %s; still serving over NBD\n",
                     moved.error().message.c_str());
        continue;
      }
      status->set_backing(Backing::kLocal);
      if (fill) fill->stop();
      status->stop();
      SourceCounters counters = source->counters();
      std::fprintf(stderr, "goldroot-blockd: the image is whole on this disk: %s now reads %s, "
                   "and the server is no longer needed (%s copied from older images, %s fetched)\n",
                   options.name.c_str(), local->image_path().c_str(),
                   mib(counters.seeded_bytes).c_str(), mib(counters.fetched_bytes).c_str());
      seed.reset();  // its files' space goes with the fds
      if (cache_directory.valid()) remove_other_caches(cache_directory.get(), others);
      return 0;
    }
    if (number == SIGTERM || number == SIGINT) {
      if (!remove_unused(&*device)) continue;
      if (fill) fill->stop();
      source->shutdown();
      Status detached = (*server)->disconnect();
      if (!detached.ok()) return fail(1, detached.error().message);
      return 0;
    }
  }
}

int serve(const Options& options, ReadyLine* ready) {
  VerityParams params;
  if (auto checked = verity_params(options); checked.ok()) params = *checked;
  else return fail(2, checked.error().message, ready);
  auto source = FileBlockSource::open({options.image, options.tree});
  if (!source.ok()) return fail(1, source.error().message, ready);
  if (source->size() != params.data_size() + VerityGeometry(params.data_blocks, 4096).tree_size())
    return fail(1, "the image's size is not a multiple of 4096", ready);

  NbdOptions nbd_options;
  nbd_options.workers = options.workers;
  auto server = NbdServer::attach(&*source, nbd_options);
  if (!server.ok()) return fail(1, server.error().message, ready);
  auto device = VerityDevice::create(options.name, (*server)->device(), params);
  if (!device.ok()) return fail(1, device.error().message, ready);
  std::fprintf(stderr, "goldroot-blockd: %s is %s: dm-verity over %s (%llu blocks)\n", options.name.c_str(),
               device->path().c_str(), (*server)->device().c_str(),
               static_cast<unsigned long long>(params.data_blocks));
  announce(options, ready, device->path());

  sigset_t signals;
  sigemptyset(&signals);
  for (int number : {SIGTERM, SIGINT, SIGUSR1, SIGHUP}) sigaddset(&signals, number);
  for (;;) {
    int number = sigwaitinfo(&signals, nullptr);
    if (number == SIGUSR1) {
      if (options.local_copy.empty()) {
        std::fprintf(stderr, "goldroot-blockd: SIGUSR1 but no --local-copy to move onto\n");
        continue;
      }
      UniqueFd copy(::open(options.local_copy.c_str(), O_RDONLY | O_CLOEXEC));
      UniqueFd dev(::open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC));
      Status moved = !copy.valid() ? errno_error("open " + options.local_copy, errno)
                     : !dev.valid() ? errno_error("open /dev", errno)
                                    : move_to_local_copy(dev.get(), copy.get(), options.local_copy,
                                                         &*device, server->get());
      if (!moved.ok()) {
        std::fprintf(stderr, "goldroot-blockd: error: %s; still serving over NBD\n", moved.error().message.c_str());
        continue;
      }
      std::fprintf(stderr, "goldroot-blockd: %s now reads %s (%s); exiting\n", options.name.c_str(),
                   device->device().c_str(), options.local_copy.c_str());
      return 0;
    }
    if (number == SIGTERM || number == SIGINT) {
      if (!remove_unused(&*device)) continue;
      Status detached = (*server)->disconnect();
      if (!detached.ok()) return fail(1, detached.error().message);
      return 0;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  std::vector<std::string> arguments(argv + 1, argv + argc);
  std::string usage_error;  // the first; reported once --ready-fd is known
  auto bad_usage = [&](const std::string& error) {
    if (usage_error.empty()) usage_error = error;
  };
  for (size_t i = 0; i < arguments.size(); ++i) {
    const std::string& flag = arguments[i];
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (flag == "--require-complete") {
      options.require_complete = true;
      continue;
    }
    if (flag == "--no-fill") {
      options.fill = false;
      continue;
    }
    if (flag == "--prefetch") {
      options.prefetch = true;
      continue;
    }
    if (i + 1 >= arguments.size()) {
      bad_usage("option " + flag + " needs a value\n" + kUsage);
      break;
    }
    const std::string& value = arguments[++i];
    if (flag == "--image") options.image = value;
    else if (flag == "--tree") options.tree = value;
    else if (flag == "--root-hash") options.root_hash = value;
    else if (flag == "--salt") options.salt = value;
    else if (flag == "--name") options.name = value;
    else if (flag == "--local-copy") options.local_copy = value;
    else if (flag == "--workers") options.workers = std::atoi(value.c_str());
    else if (flag == "--ready-fd") options.ready_fd = std::atoi(value.c_str());
    else if (flag == "--image-url") options.image_url = value;
    else if (flag == "--tree-url") options.tree_url = value;
    else if (flag == "--cache-dir") options.cache_dir = value;
    else if (flag == "--tls-pin") options.tls_pin = value;
    else if (flag == "--mirror") options.mirrors.push_back(value);
    else if (flag == "--status") {
      options.status = value;
      options.status_given = true;
    }
    else if (flag == "--data-blocks") options.data_blocks = std::strtoull(value.c_str(), nullptr, 10);
    else if (flag == "--tree-size") options.tree_size = std::strtoull(value.c_str(), nullptr, 10);
    else if (flag == "--data-block-size") options.data_block_size = std::atoi(value.c_str());
    else if (flag == "--hash-block-size") options.hash_block_size = std::atoi(value.c_str());
    else if (flag == "--unit-kib") options.unit_kib = std::atoi(value.c_str());
    else bad_usage("unknown option " + flag + "\n" + kUsage);
  }
  ReadyLine ready(options.ready_fd);
  if (!usage_error.empty()) return fail(2, usage_error, &ready);
  const bool network = !options.image_url.empty();
  if (network ? options.tree_url.empty() || options.root_hash.empty() || !options.image.empty()
              : options.image.empty() || options.tree.empty() || options.root_hash.empty())
    return fail(2, std::string("either --image-url, --tree-url and --root-hash, or --image, --tree "
                               "and --root-hash\n") + kUsage, &ready);
  if (options.workers < 1 || options.workers > 64) return fail(2, "--workers must be 1 to 64", &ready);
  if (options.unit_kib == 0) options.unit_kib = options.prefetch ? 1024 : 64;
  if (options.prefetch) {
    if (!network) return fail(2, std::string("--prefetch needs --image-url\n") + kUsage);
    return prefetch(options);  // not a root storage daemon: signals and memory as usual
  }

  // Before any thread: the signals are for sigwaitinfo, and every thread
  // inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int number : {SIGTERM, SIGINT, SIGUSR1, SIGHUP}) sigaddset(&signals, number);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  if (Status status = set_root_storage_cmdline("goldroot-blockd", arguments); !status.ok())
    return fail(1, status.error().message, &ready);
  if (Status status = lock_all_memory(); !status.ok()) return fail(1, status.error().message, &ready);
  return network ? serve_network(options, &ready) : serve(options, &ready);
}
