// Connection: one accepted client socket and its HTTP/1.1 state machine —
// read a request head, route it, send the response (head and memory bodies
// with send, file bodies with send_file: see transport.h for how a plain
// or a TLS socket does that), then either wait for the next request
// (keep-alive, pipelining) or close. On an upload route (router.h) the body
// is not buffered: it is decoded as it arrives (body_decoder.h) and fed to
// the route's sink.
//
// The socket is non-blocking and registered edge-triggered, so every step
// runs until the kernel says EAGAIN; the worker calls step() again when
// epoll reports the socket ready. A turn sends at most a budget of bytes
// and then yields, so one fast reader cannot starve the others. Slow or
// vanished clients cost only their own connection: EAGAIN just waits,
// EPIPE/ECONNRESET close it, and deadlines close the silent ones.
//
// Owns the socket, its transport and any open file. Not thread-safe: one
// worker owns it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "server/access_log.h"
#include "server/blocking_pool.h"
#include "server/body_decoder.h"
#include "server/client_limit.h"
#include "server/fill_lane.h"
#include "server/http_request.h"
#include "server/outgoing_response.h"
#include "server/router.h"
#include "server/transport.h"
#include "sys/unique_fd.h"

namespace goldroot::server {

using Clock = std::chrono::steady_clock;

struct ConnectionSettings {
  const Router* router = nullptr;
  AccessLog* access_log = nullptr;  // may be null
  BlockingPool* pool = nullptr;     // runs deferred responses (HttpResponse::later)
  ClientLimit* clients = nullptr;   // connections per address; may be null
  // Holds file bodies of requests marked as background fill to what boot
  // reads leave of the link (fill_lane.h); null: no lane, all alike.
  FillLane* fill_lane = nullptr;
  RequestLimits limits;
  // From accept, or from a kept-alive request's first byte, to its whole head.
  Clock::duration header_timeout = std::chrono::seconds(5);
  Clock::duration idle_timeout = std::chrono::seconds(30);
  Clock::duration send_timeout = std::chrono::seconds(60);
  // Bytes per turn before yielding, and per sendfile(2) call. On the
  // loopback benchmark 8 MiB / 2 MiB beat 4 MiB / 1 MiB by ~15%: fewer,
  // larger transmissions; a turn is still only a few milliseconds.
  uint64_t turn_budget = 8 << 20;
  uint64_t sendfile_chunk = 2 << 20;
};

class Connection {
 public:
  enum class Progress {
    kWaiting,  // blocked on the socket: wait for epoll
    kYielded,   // used its turn budget: run again soon
    kDeferred,  // its response is to be made off the loop: take_work(), then complete()
    kThrottled,  // a fill waiting for the lane's budget: run again at resume_at()
    kClosed,    // done; destroy it
  };

  // `transport` works on `socket` (make_plain_transport(socket.get()) for
  // plain HTTP).
  Connection(UniqueFd socket, std::unique_ptr<Transport> transport, std::string client,
             const ConnectionSettings* settings,
             std::optional<ClientLimit::Slot> slot = std::nullopt, uint64_t id = 0);
  ~Connection();

  Progress step(Clock::time_point now, const std::string& date);
  bool expired(Clock::time_point now) const { return now >= deadline_; }
  // After kThrottled: when the fill may send again.
  Clock::time_point resume_at() const { return resume_at_; }
  int fd() const { return socket_.get(); }
  // Unique per worker: tells a deferred response's connection from a later
  // one that got the same fd.
  uint64_t id() const { return id_; }

  // After kDeferred: the work that makes the response.
  std::function<HttpResponse()> take_work() { return std::move(work_); }
  // The deferred response is ready; step() sends it.
  void complete(HttpResponse response, Clock::time_point now, const std::string& date);

  // Whether the worker has this connection on its run-again list, or on
  // its list of throttled fills.
  bool queued = false;
  bool throttled = false;

 private:
  enum class State { kReading, kReceiving, kPending, kWriting, kDraining, kClosed };
  enum class Io { kDone, kAgain, kBudget, kThrottled, kFailed };
  // Which lane a response's file body goes in (kNone: no lane, or a memory
  // body).
  enum class Lane { kNone, kForeground, kFill };

  Io read_more(Clock::time_point now);
  Io write_response(Clock::time_point now, uint64_t* budget);
  void start_response(const HttpRequest* request, HttpResponse response, Clock::time_point now,
                      const std::string& date, bool keep_alive);
  void start_upload(const UploadHandler& handler, HttpRequest request, Clock::time_point now,
                    const std::string& date);
  // Ends an upload early: the sink discards, the connection closes after
  // `response`.
  void end_upload(HttpResponse response, Clock::time_point now, const std::string& date);
  void finish_response(bool aborted);
  // One access log line when the transport failed for a reason worth one.
  void log_failure(Clock::time_point now);
  void start_reading(Clock::time_point now);

  UniqueFd socket_;
  std::unique_ptr<Transport> transport_;  // declared after socket_: goes first
  std::string client_;
  const ConnectionSettings* settings_;
  std::optional<ClientLimit::Slot> slot_;
  uint64_t id_;
  State state_ = State::kReading;
  Clock::time_point deadline_;

  std::string input_;
  size_t scanned_ = 0;
  size_t drained_ = 0;
  bool continue_sent_ = false;

  // While receiving an upload's body.
  std::unique_ptr<UploadSink> upload_;
  std::optional<BodyDecoder> decoder_;
  HttpRequest upload_request_;
  // An upload over its size: the answer, sent once the body is read.
  std::optional<HttpResponse> refusal_;
  uint64_t discarded_ = 0;

  // While a deferred response is made.
  HttpRequest pending_request_;
  std::function<HttpResponse()> work_;

  OutgoingResponse response_;
  size_t head_sent_ = 0;
  uint64_t body_sent_ = 0;
  Lane lane_ = Lane::kNone;
  Clock::time_point resume_at_;
  AccessRecord record_;
  Clock::time_point started_;
  bool responding_ = false;
};

}  // namespace goldroot::server
