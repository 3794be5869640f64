// Fetching over HTTP(S) with libcurl, the only network code in goldroot-boot.
// https:// URLs need FetchOptions::pinned_public_key (crypto/curl_tls.h):
// without it they are refused with one sentence.
//
//   fetch_text(url, limit)      a small document (the manifest) into memory;
//   fetch_range_to_fd(...)      the bytes of `url` from `offset` on, appended
//                               to an fd, never more than `limit` bytes.
//
// A server that ignores Range (200 instead of 206) is answered by the caller
// starting over; a body longer than asked for is cut off at the limit and
// the transfer aborted, so a hostile or broken server cannot fill the RAM
// disk. Connection failures are kIo with curl's reason; HTTP errors
// (>= 400) are kNotFound for 404, kPermissionDenied for 401 and 403 (the
// server refused this host), kBusy for 429 (it keeps as many unregistered
// machines as it will), kIo otherwise, with the server's "error" sentence.
// Each call makes its own curl handle: thread-safe once
// curl_global_init has run (http_global_init, called from main).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace goldroot::boot {

void http_global_init();

struct FetchOptions {
  long connect_timeout_seconds = 10;
  // Abort when fewer than 1 byte/s arrive for this long (a stalled server).
  long stall_timeout_seconds = 30;
  // Connect from a source port below 1024 (root only), which tells the
  // server the request comes from goldroot-boot rather than a user: a lab
  // with the "port" enrolment policy takes a diskless host's new key only
  // from such a port (fleet/host_keys.h). When no such port can be bound
  // (not root, all taken) the fetch goes on from an ordinary port.
  bool privileged_source_port = false;
  // Request headers ("Name: value"), e.g. a host signature.
  std::vector<std::string> headers = {};
  // Where an error answer's body goes (the server's JSON error), if set.
  std::string* error_body = nullptr;
  // The server's TLS key pin, "sha256//…" (crypto/tls_pin.h), for https://.
  std::string pinned_public_key = {};
};

Result<std::string> fetch_text(const std::string& url, uint64_t limit,
                               const FetchOptions& options = {});

struct RangeResult {
  int status = 0;           // 200 or 206
  uint64_t written = 0;     // bytes appended to the fd
  bool truncated = false;   // the server offered more than `limit`
};

// Requests `url` from `offset` (a Range request when offset > 0) and
// appends what arrives to `fd` at its current position, stopping after
// `limit` bytes. On a 200 answer to a ranged request nothing is written and
// status is 200: the caller must restart from zero.
Result<RangeResult> fetch_range_to_fd(const std::string& url, uint64_t offset, uint64_t limit,
                                      int fd, const FetchOptions& options = {});

// Resolves a manifest-relative reference: absolute URLs pass through,
// "/path" joins the origin of `base`, anything else the directory of `base`.
std::string resolve_url(const std::string& base, const std::string& reference);

}  // namespace goldroot::boot
