// AccessLog: the server's structured access log, one JSON object per line:
//   {"time":"2026-11-22T00:37:00.123Z","client":"10.0.0.7:51234",
//    "method":"GET","path":"/boot/aa:bb:cc:dd:ee:ff.ipxe","status":200,
//    "bytes":1432,"duration_ms":0.41}
// plus "aborted":true when the client went away before the body was sent,
// and "range":"FIRST-LAST" (inclusive offsets) for a 206: which part of
// an image went out (to a client, or to a building's cache); "fill":true
// for a response in the fill lane (fill_lane.h), with "held_ms", the time
// the lane held its body back for boot reads.
// A connection that failed before it made a request (a TLS handshake with
// something that is not a TLS client) gets one line with method and path
// "-", status 0 and "failure":"<why>".
// `bytes` counts body bytes actually written to the socket.
//
// A JsonLog (json_log.h): thread-safe, lines never interleave.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"
#include "server/json_log.h"

namespace goldroot::server {

struct AccessRecord {
  std::string client;
  std::string method;
  std::string path;
  int status = 0;
  uint64_t bytes = 0;
  double duration_ms = 0;
  bool aborted = false;
  std::string range = {};  // a 206's "FIRST-LAST"; "" otherwise
  bool fill = false;        // sent in the fill lane
  double held_ms = 0;       // of which the lane held it back
  std::string failure = {};  // why a connection ended without a request; "" normally
};

class AccessLog {
 public:
  // Appends to `path`, creating it (0640).
  static Result<std::unique_ptr<AccessLog>> open(const std::string& path);
  // Writes to an fd the caller hands over (e.g. a dup of stderr).
  explicit AccessLog(UniqueFd fd) : log_(std::move(fd)) {}

  void record(const AccessRecord& record);

 private:
  JsonLog log_;
};

}  // namespace goldroot::server
