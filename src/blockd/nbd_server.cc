#include "blockd/nbd_server.h"

#include <arpa/inet.h>
#include <endian.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/nbd.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <vector>

#include "sys/unique_fd.h"

namespace goldroot::blockd {
namespace {

// The kernel's 6.1 NBD commands beyond the uapi header's enum.
constexpr uint32_t kCmdWriteZeroes = 6;
constexpr uint32_t kBlockSize = 4096;

// A thread with a bounded stack and every signal blocked.
class Thread {
 public:
  Thread() = default;
  Thread(const Thread&) = delete;
  Thread& operator=(const Thread&) = delete;
  ~Thread() { join(); }

  template <class F>
  Status start(size_t stack_size, F* body) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, stack_size);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int error = pthread_create(&thread_, &attr, [](void* f) -> void* { (*static_cast<F*>(f))(); return nullptr; },
                               body);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    pthread_attr_destroy(&attr);
    if (error != 0) return errno_error("starting a thread", error);
    running_ = true;
    return ok_status();
  }
  void join() {
    if (running_) pthread_join(thread_, nullptr);
    running_ = false;
  }

 private:
  pthread_t thread_{};
  bool running_ = false;
};

// Reads exactly `length` bytes; false on end of stream or error.
bool read_fully(int fd, void* buffer, size_t length) {
  char* out = static_cast<char*>(buffer);
  while (length > 0) {
    ssize_t got = ::recv(fd, out, length, MSG_WAITALL);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    out += got;
    length -= static_cast<size_t>(got);
  }
  return true;
}

// Writes a reply header and its data in one go (MSG_NOSIGNAL: the kernel may
// have shut its end).
bool send_fully(int fd, const void* header, size_t header_length, const char* data, size_t length) {
  iovec parts[2] = {{const_cast<void*>(header), header_length}, {const_cast<char*>(data), length}};
  iovec* next = parts;
  int count = length > 0 ? 2 : 1;
  while (count > 0) {
    msghdr message{};
    message.msg_iov = next;
    message.msg_iovlen = static_cast<size_t>(count);
    ssize_t sent = ::sendmsg(fd, &message, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0) return false;
    size_t done = static_cast<size_t>(sent);
    while (count > 0 && done >= next->iov_len) {
      done -= next->iov_len;
      ++next;
      --count;
    }
    if (count > 0) {
      next->iov_base = static_cast<char*>(next->iov_base) + done;
      next->iov_len -= done;
    }
  }
  return true;
}

int errno_for(const Error& error) {
  return error.code == ErrorCode::kInvalidArgument ? EINVAL : EIO;
}

}  // namespace

struct NbdServer::Impl {
  BlockSource* source = nullptr;
  NbdOptions options;
  std::string device;
  UniqueFd nbd;     // the /dev/nbdN we configured
  UniqueFd socket;  // our end of the pair
  std::mutex read_mutex;
  std::mutex write_mutex;
  std::vector<std::unique_ptr<char[]>> buffers;
  std::vector<std::unique_ptr<Thread>> workers;
  Thread do_it;
  std::function<void()> do_it_body;
  std::vector<std::function<void()>> worker_bodies;
  std::atomic<int> do_it_errno{0};
  std::atomic<bool> do_it_returned{false};
  std::atomic<uint64_t> requests{0}, bytes_read{0}, failed{0};
  bool disconnected = false;

  void serve(char* buffer);
  bool reply(const nbd_request& request, int error, const char* data, size_t length);
};

bool NbdServer::Impl::reply(const nbd_request& request, int error, const char* data, size_t length) {
  nbd_reply header{};
  header.magic = htonl(NBD_REPLY_MAGIC);
  header.error = htonl(static_cast<uint32_t>(error));
  std::memcpy(header.handle, request.handle, sizeof(header.handle));
  if (error != 0) {
    failed.fetch_add(1, std::memory_order_relaxed);
    length = 0;
  }
  std::lock_guard lock(write_mutex);
  return send_fully(socket.get(), &header, sizeof(header), data, length);
}

void NbdServer::Impl::serve(char* buffer) {
  const uint32_t capacity = options.max_request;
  for (;;) {
    nbd_request request;
    uint32_t type, length;
    uint64_t offset;
    {
      std::lock_guard lock(read_mutex);
      if (!read_fully(socket.get(), &request, sizeof(request))) return;
      if (ntohl(request.magic) != NBD_REQUEST_MAGIC) {
        std::fprintf(stderr, "nbd: request with a bad magic on %s; stopping\n", device.c_str());
        ::shutdown(socket.get(), SHUT_RDWR);
        return;
      }
      type = ntohl(request.type) & 0xffff;
      length = ntohl(request.len);
      offset = be64toh(request.from);
      if (type == NBD_CMD_WRITE) {
        // Drain the payload through our buffer; the device is read-only.
        for (uint32_t left = length; left > 0;) {
          uint32_t chunk = left < capacity ? left : capacity;
          if (!read_fully(socket.get(), buffer, chunk)) return;
          left -= chunk;
        }
      }
    }
    requests.fetch_add(1, std::memory_order_relaxed);
    bool sent = true;
    switch (type) {
      case NBD_CMD_READ: {
        if (length > capacity) {
          sent = reply(request, EINVAL, nullptr, 0);
          break;
        }
        uint64_t size = source->size();
        if (offset > size || length > size - offset) {
          sent = reply(request, EINVAL, nullptr, 0);
          break;
        }
        Status status = source->read(offset, length, buffer);
        if (!status.ok()) {
          std::fprintf(stderr, "nbd: %s: read of %u bytes at %llu failed: %s\n", device.c_str(), length,
                       static_cast<unsigned long long>(offset), status.error().message.c_str());
          sent = reply(request, errno_for(status.error()), nullptr, 0);
          break;
        }
        bytes_read.fetch_add(length, std::memory_order_relaxed);
        sent = reply(request, 0, buffer, length);
        break;
      }
      case NBD_CMD_WRITE:
      case NBD_CMD_TRIM:
      case kCmdWriteZeroes:
        sent = reply(request, EPERM, nullptr, 0);
        break;
      case NBD_CMD_FLUSH:
        sent = reply(request, 0, nullptr, 0);
        break;
      case NBD_CMD_DISC:
        // The kernel waits for our end to close before NBD_DO_IT returns.
        ::shutdown(socket.get(), SHUT_RDWR);
        return;
      default:
        sent = reply(request, EINVAL, nullptr, 0);
        break;
    }
    if (!sent) return;
  }
}

NbdServer::NbdServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)), device_(impl_->device) {}

NbdServer::~NbdServer() { (void)disconnect(); }

NbdStats NbdServer::stats() const {
  return {impl_->requests.load(), impl_->bytes_read.load(), impl_->failed.load()};
}

Result<std::unique_ptr<NbdServer>> NbdServer::attach(BlockSource* source, const NbdOptions& options) {
  uint64_t size = source->size();
  if (size == 0 || size % kBlockSize != 0)
    return make_error(ErrorCode::kInvalidArgument,
                      "a block device of " + std::to_string(size) + " bytes (not a positive multiple of 4096)");
  if (options.workers < 1 || options.max_request < kBlockSize)
    return make_error(ErrorCode::kInvalidArgument, "NBD server options: need a worker and 4 KiB requests");
  auto impl = std::make_unique<Impl>();
  impl->source = source;
  impl->options = options;

  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return errno_error("socketpair", errno);
  UniqueFd kernel_end(pair[0]);
  impl->socket.reset(pair[1]);

  // The first /dev/nbdN that takes our socket; one that is busy (another
  // server's, or being set up) answers EBUSY.
  for (int number = 0;; ++number) {
    std::string path = options.device_dir + "/nbd" + std::to_string(number);
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      if (number == 0)
        return make_error(ErrorCode::kNotFound, "no " + path + " (is the nbd module loaded?)");
      return make_error(ErrorCode::kBusy, "every NBD device is in use (" + std::to_string(number) + " of them)");
    }
    std::string pid_file = options.sysfs_block + "/nbd" + std::to_string(number) + "/pid";
    if (::access(pid_file.c_str(), F_OK) == 0) continue;  // served by someone
    UniqueFd nbd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!nbd.valid()) return errno_error("open " + path, errno);
    if (::ioctl(nbd.get(), NBD_SET_SOCK, kernel_end.get()) != 0) {
      if (errno == EBUSY) continue;
      return errno_error("NBD_SET_SOCK on " + path, errno);
    }
    impl->device = path;
    impl->nbd = std::move(nbd);
    break;
  }
  const std::string& path = impl->device;
  int fd = impl->nbd.get();
  auto undo = [&](const std::string& what, int saved_errno) {
    ::ioctl(fd, NBD_CLEAR_SOCK);
    return errno_error(what + " on " + path, saved_errno);
  };
  if (::ioctl(fd, NBD_SET_BLKSIZE, static_cast<unsigned long>(kBlockSize)) != 0)
    return undo("NBD_SET_BLKSIZE", errno);
  if (::ioctl(fd, NBD_SET_SIZE_BLOCKS, static_cast<unsigned long>(size / kBlockSize)) != 0)
    return undo("NBD_SET_SIZE_BLOCKS", errno);
  if (::ioctl(fd, NBD_SET_FLAGS, static_cast<unsigned long>(NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY)) != 0)
    return undo("NBD_SET_FLAGS", errno);
  if (::ioctl(fd, NBD_SET_TIMEOUT, 0ul) != 0) return undo("NBD_SET_TIMEOUT", errno);
  kernel_end.reset();  // the kernel holds its own reference now

  // Keep the kernel's requests within a worker's buffer (best effort: the
  // server refuses longer ones anyway).
  std::string limit_file = options.sysfs_block + path.substr(path.rfind('/')) + "/queue/max_sectors_kb";
  if (UniqueFd limit(::open(limit_file.c_str(), O_WRONLY | O_CLOEXEC)); limit.valid()) {
    std::string kib = std::to_string(options.max_request / 1024);
    (void)!::write(limit.get(), kib.data(), kib.size());
  }

  Impl* raw = impl.get();
  raw->buffers.reserve(static_cast<size_t>(options.workers));
  raw->worker_bodies.reserve(static_cast<size_t>(options.workers));
  for (int i = 0; i < options.workers; ++i) {
    raw->buffers.push_back(std::make_unique<char[]>(options.max_request));
    char* buffer = raw->buffers.back().get();
    raw->worker_bodies.push_back([raw, buffer] { raw->serve(buffer); });
  }
  for (int i = 0; i < options.workers; ++i) {
    raw->workers.push_back(std::make_unique<Thread>());
    Status started = raw->workers.back()->start(options.thread_stack, &raw->worker_bodies[i]);
    if (!started.ok()) {
      ::shutdown(raw->socket.get(), SHUT_RDWR);
      ::ioctl(fd, NBD_CLEAR_SOCK);
      return std::move(started).error();
    }
  }
  raw->do_it_body = [raw] {
    if (::ioctl(raw->nbd.get(), NBD_DO_IT) != 0) raw->do_it_errno = errno;
    raw->do_it_returned = true;
  };
  Status started = raw->do_it.start(options.thread_stack, &raw->do_it_body);
  if (!started.ok()) {
    ::shutdown(raw->socket.get(), SHUT_RDWR);
    ::ioctl(fd, NBD_CLEAR_SOCK);
    return std::move(started).error();
  }
  std::unique_ptr<NbdServer> server(new NbdServer(std::move(impl)));
  // The kernel gives the device its size only once NBD_DO_IT has started it
  // (6.1's nbd_start_device); until then it reads as 0 bytes, and a
  // dm-verity table over it fails ("Hash device is too small").
  for (int waited_ms = 0;; ++waited_ms) {
    uint64_t bytes = 0;
    if (::ioctl(fd, BLKGETSIZE64, &bytes) == 0 && bytes == size) break;
    if (raw->do_it_returned)
      return errno_error("NBD_DO_IT on " + path, raw->do_it_errno ? raw->do_it_errno.load() : EIO);
    if (waited_ms >= 30000)
      return make_error(ErrorCode::kIo, path + " did not start within 30 s");
    ::usleep(1000);
  }
  return server;
}

Status NbdServer::disconnect() {
  Impl& impl = *impl_;
  if (impl.disconnected) return ok_status();
  impl.disconnected = true;
  Status status;
  if (::ioctl(impl.nbd.get(), NBD_DISCONNECT) != 0) {
    status = errno_error("NBD_DISCONNECT on " + impl.device, errno);
    // Without the kernel's DISC our workers would wait forever.
    ::shutdown(impl.socket.get(), SHUT_RDWR);
  }
  impl.do_it.join();
  ::ioctl(impl.nbd.get(), NBD_CLEAR_SOCK);
  ::shutdown(impl.socket.get(), SHUT_RDWR);
  for (auto& worker : impl.workers) worker->join();
  impl.nbd.reset();
  impl.socket.reset();
  return status;
}

}  // namespace goldroot::blockd
