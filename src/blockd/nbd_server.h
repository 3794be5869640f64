// NbdServer: presents a BlockSource as a read-only /dev/nbdN through the
// kernel's NBD driver, over a socketpair — no TCP, no nbd-client.
//
// attach() claims the first free /dev/nbdN (NBD_SET_SOCK with one end of
// the pair), sets its geometry (4096-byte blocks, the source's size), marks
// it read-only and sets the request timeout to 0, so a read that the source
// holds back (the server away, the block refetched) waits rather than fails.
// A thread sits in NBD_DO_IT for the device's lifetime; attach() returns
// once the kernel has started the device there (before that it reads as 0
// bytes). A fixed pool of worker threads reads requests off the other end
// and answers them:
//
//   - READ: source->read() into the worker's own buffer (allocated once, at
//     attach; requests longer than max_request are refused with EINVAL, and
//     the queue's max_sectors_kb is lowered to it so the kernel does not
//     send them). A failed read is EIO for that request only;
//   - WRITE, TRIM, WRITE_ZEROES: EPERM (a write's payload is drained first);
//   - FLUSH: success (nothing is ever dirty);
//   - DISC: the server stops.
//
// Replies are written whole under one mutex; requests are read whole under
// another. Nothing is allocated while serving.
//
// disconnect() (also run by the destructor) sends NBD_DISCONNECT, waits for
// NBD_DO_IT to return, clears the socket and joins every thread; the device
// must no longer be in use (the live move reloads dm-verity onto another
// device first). Every thread blocks all signals: a signal landing in
// NBD_DO_IT would tear the device down.
//
// The source must outlive the server. attach(), disconnect() and the
// destructor are for one thread; stats() may be called from any.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"
#include "blockd/block_source.h"

namespace goldroot::blockd {

struct NbdOptions {
  int workers = 4;
  uint32_t max_request = 2u << 20;      // bytes; also each worker's buffer
  size_t thread_stack = 512u << 10;     // mlockall locks every stack whole
  std::string device_dir = "/dev";      // where nbdN nodes are
  std::string sysfs_block = "/sys/block";
};

struct NbdStats {
  uint64_t requests = 0;
  uint64_t bytes_read = 0;
  uint64_t failed = 0;  // requests answered with an error
};

class NbdServer {
 public:
  static Result<std::unique_ptr<NbdServer>> attach(BlockSource* source,
                                                   const NbdOptions& options = {});
  ~NbdServer();
  NbdServer(const NbdServer&) = delete;
  NbdServer& operator=(const NbdServer&) = delete;

  // "/dev/nbd0".
  const std::string& device() const { return device_; }
  NbdStats stats() const;
  // Detaches the device and stops every thread. Idempotent.
  Status disconnect();

 private:
  struct Impl;
  explicit NbdServer(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
  std::string device_;
};

}  // namespace goldroot::blockd
