// goldroot-blockd: serves an image as a dm-verity device over NBD (see
// blockd/nbd_server.h, blockd/device_mapper.h) and keeps serving it after
// the initramfs hands over to the real root.
//
//   goldroot-blockd --image FILE --tree FILE --root-hash HEX [--salt HEX]
//                   [--name NAME] [--local-copy FILE] [--workers N] [--ready-fd N]
//
// Serves FILE followed by its hash tree (a FileBlockSource: the test mode,
// and what the vm test tier drives); the network mode (--url, --tree-url,
// --cache-dir) is not built yet and says so. Once the device is up it
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
#include <signal.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "base/hash.h"
#include "blockd/device_mapper.h"
#include "blockd/file_source.h"
#include "blockd/nbd_server.h"
#include "blockd/root_storage_daemon.h"
#include "sys/loop_device.h"

namespace {

using namespace goldroot;
using namespace goldroot::blockd;

constexpr const char* kUsage =
    "usage: goldroot-blockd --image FILE --tree FILE --root-hash HEX [--salt HEX]\n"
    "                       [--name NAME] [--local-copy FILE] [--workers N]\n"
    "                       [--ready-fd N]\n";

struct Options {
  std::string image, tree, root_hash, salt, local_copy;
  std::string name = "goldroot-root";
  int workers = 4;
  int ready_fd = -1;
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

int fail(int code, const std::string& message, ReadyLine* ready = nullptr) {
  std::fprintf(stderr, "goldroot-blockd: error: %s\n", message.c_str());
  if (ready) ready->send("error: " + message.substr(0, message.find('\n')));
  return code;
}

// The network mode's flags, as goldroot-boot passes them
// (boot/boot_sequence.cc, serve_on_demand); not built here yet.
bool is_network_flag(const std::string& flag) {
  for (const char* network : {"--image-url", "--tree-url", "--cache-dir", "--tls-pin", "--status", "--data-blocks",
                              "--tree-size", "--data-block-size", "--hash-block-size", "--require-complete"})
    if (flag == network) return true;
  return false;
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
// NBD goes away.
Status move_to_local_copy(const std::string& copy, VerityDevice* device, NbdServer* server) {
  LoopDevice loop = TRY(LoopDevice::attach_read_only(copy));
  TRY(device->reload(loop.path()));
  loop.release_to_mount();  // the table holds it; autoclear detaches it with the table
  TRY(server->disconnect().context("detaching " + server->device()));
  return ok_status();
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
  if (options.ready_fd >= 0) {
    ready->send(device->path());
  } else {
    std::printf("%s\n", device->path().c_str());
    std::fflush(stdout);
  }

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
      Status moved = move_to_local_copy(options.local_copy, &*device, server->get());
      if (!moved.ok()) {
        std::fprintf(stderr, "goldroot-blockd: error: %s; still serving over NBD\n", moved.error().message.c_str());
        continue;
      }
      std::fprintf(stderr, "goldroot-blockd: %s now reads %s (%s); exiting\n", options.name.c_str(),
                   device->device().c_str(), options.local_copy.c_str());
      return 0;
    }
    if (number == SIGTERM || number == SIGINT) {
      Status removed = device->remove();
      if (!removed.ok()) {
        std::fprintf(stderr, "goldroot-blockd: %s; still serving\n", removed.error().message.c_str());
        continue;
      }
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
    if (is_network_flag(flag)) {
      bad_usage(flag + ": serving an image from the network is not built yet; use --image and --tree");
      if (flag != "--require-complete") ++i;
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
    else bad_usage("unknown option " + flag + "\n" + kUsage);
  }
  ReadyLine ready(options.ready_fd);
  if (!usage_error.empty()) return fail(2, usage_error, &ready);
  if (options.image.empty() || options.tree.empty() || options.root_hash.empty())
    return fail(2, std::string("--image, --tree and --root-hash are required\n") + kUsage, &ready);
  if (options.workers < 1 || options.workers > 64) return fail(2, "--workers must be 1 to 64", &ready);

  // Before any thread: the signals are for sigwaitinfo, and every thread
  // inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int number : {SIGTERM, SIGINT, SIGUSR1, SIGHUP}) sigaddset(&signals, number);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  if (Status status = set_root_storage_cmdline("goldroot-blockd", arguments); !status.ok())
    return fail(1, status.error().message, &ready);
  if (Status status = lock_all_memory(); !status.ok()) return fail(1, status.error().message, &ready);
  return serve(options, &ready);
}
