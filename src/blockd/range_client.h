// RangeClient: fetches exact byte ranges of a URL with HTTP Range requests
// over one libcurl easy handle kept between requests, so its connection is
// reused (keep-alive): a boot makes hundreds of small requests and a new
// TCP (and TLS) handshake for each would cost more than the bytes.
//
// The answer must be exactly what was asked: 206 with a Content-Range for
// the range and exactly `length` bytes. A 200 (a server or proxy ignoring
// Range), a shorter or a longer body, or another range is an error and
// nothing it sent is kept as data. https:// URLs need the server's pinned
// key (crypto/curl_tls.h). Errors: kIo for a connection failure or a 5xx
// (worth retrying), kNotFound/kPermissionDenied for 404/401/403, kCorruption
// for an answer that is not the range asked for.
//
// A fetch is for a read that waits (kForeground) or for the background fill
// (kFill), which goes out marked "X-Goldroot-Fill: 1": goldroot serve then
// gives other PCs' boot reads the link first (server/fill_lane.h).
//
// Not thread-safe: one client per thread (VerifyingSource keeps a pool).
// curl_global_init must have run (range_client_global_init, from main;
// libcurl also runs it on first use, but not thread-safely).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"

namespace goldroot::blockd {

void range_client_global_init();

enum class Lane { kForeground, kFill };

struct RangeClientOptions {
  std::string pinned_public_key = {};  // "sha256//…", for https://
  long connect_timeout_seconds = 10;
  // Abort when fewer than 1 byte/s arrive for this long (a stalled server).
  long stall_timeout_seconds = 30;
  // A new connection for every request (for measuring what reuse saves).
  bool reuse_connections = true;
};

class RangeClient {
 public:
  static Result<std::unique_ptr<RangeClient>> create(RangeClientOptions options = {});
  ~RangeClient();
  RangeClient(const RangeClient&) = delete;
  RangeClient& operator=(const RangeClient&) = delete;

  // Fills out[0, length) with the bytes [offset, offset + length) of `url`.
  Status fetch(const std::string& url, uint64_t offset, uint64_t length, char* out,
               Lane lane = Lane::kForeground);

  uint64_t requests() const { return requests_; }
  // New connections opened so far (libcurl's count).
  uint64_t connections() const { return connections_; }

 private:
  RangeClient() = default;

  RangeClientOptions options_;
  void* handle_ = nullptr;  // CURL*
  void* fill_headers_ = nullptr;  // curl_slist*: the fill's mark
  uint64_t requests_ = 0;
  uint64_t connections_ = 0;
};

}  // namespace goldroot::blockd
