#include "server/connection.h"

#include <cstdlib>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <exception>

#include "net/address.h"

namespace goldroot::server {

namespace {

// Splits the peer name the worker made ("10.0.0.5:40312", "[::1]:40312").
void set_remote(const std::string& client, bool secure, HttpRequest* request) {
  request->secure = secure;
  size_t colon = client.rfind(':');
  if (colon == std::string::npos) return;
  request->remote_address = std::string(host_of_authority(client));
  request->remote_port = static_cast<uint16_t>(std::strtoul(client.c_str() + colon + 1, nullptr, 10));
}

// After a response that closes the connection, read and discard what the
// client still sends for a moment before closing: closing a socket with
// unread input makes the kernel send RST, which can destroy the error
// response the client has not read yet (nginx's lingering close).
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerLimit = 64 * 1024;
// A body refused for its size (413) is still read, up to this much more,
// and thrown away: a client that is still sending would otherwise get a
// reset instead of the answer that says why.
constexpr uint64_t kDiscardLimit = 64 << 20;
constexpr size_t kReadChunk = 16 * 1024;

// While a file body goes out, TCP_CORK holds back partial segments, so a
// reader that drains its socket in small steps still gets full-sized
// segments (nginx's tcp_nopush); uncorking flushes the tail at once.
void set_cork(int socket, bool on) {
  int value = on ? 1 : 0;
  ::setsockopt(socket, IPPROTO_TCP, TCP_CORK, &value, sizeof value);
}

double milliseconds_since(Clock::time_point start, Clock::time_point end) {
  return std::chrono::duration<double, std::milli>(end - start).count();
}

}  // namespace

Connection::Connection(UniqueFd socket, std::unique_ptr<Transport> transport, std::string client,
                       const ConnectionSettings* settings, std::optional<ClientLimit::Slot> slot,
                       uint64_t id)
    : socket_(std::move(socket)),
      transport_(std::move(transport)),
      client_(std::move(client)),
      settings_(settings),
      slot_(std::move(slot)),
      id_(id) {
  Clock::time_point now = Clock::now();
  start_reading(now);
  // A new client sends its request at once; only a kept-alive one may idle.
  deadline_ = now + settings_->header_timeout;
}

void Connection::complete(HttpResponse response, Clock::time_point now, const std::string& date) {
  if (state_ != State::kPending) return;
  if (response.deferred()) response = HttpResponse::error(500);
  HttpRequest request = std::move(pending_request_);
  start_response(&request, std::move(response), now, date, request.keep_alive());
}

Connection::~Connection() {
  if (responding_) finish_response(/*aborted=*/true);
}

void Connection::start_reading(Clock::time_point now) {
  state_ = State::kReading;
  continue_sent_ = false;
  started_ = now;
  deadline_ = now + (input_.empty() ? settings_->idle_timeout : settings_->header_timeout);
}

Connection::Io Connection::read_more(Clock::time_point now) {
  // A 100 Continue the transport still holds goes out first: the client
  // may wait for it before it sends what we are about to wait for.
  transport_->flush();
  char buffer[kReadChunk];
  IoResult received = transport_->receive(buffer, sizeof buffer);
  if (received.status == IoStatus::kAgain) return Io::kAgain;
  if (received.status == IoStatus::kClosed) return Io::kFailed;  // EOF, reset, or an error
  if (input_.empty() && state_ == State::kReading) {
    started_ = now;
    deadline_ = now + settings_->header_timeout;
  }
  input_.append(buffer, received.bytes);
  return Io::kDone;
}

void Connection::start_response(const HttpRequest* request, HttpResponse response,
                                Clock::time_point now, const std::string& date, bool keep_alive) {
  record_ = AccessRecord{client_, request ? request->method : "-", request ? request->target : "-"};
  response_ = prepare_response(request, std::move(response), keep_alive, date);
  record_.status = response_.status;
  record_.range = response_.range;
  if (response_.file.valid()) set_cork(socket_.get(), true);
  lane_ = Lane::kNone;
  if (response_.file.valid() && settings_->fill_lane)
    lane_ = request && request->header(kFillHeader) ? Lane::kFill : Lane::kForeground;
  record_.fill = lane_ == Lane::kFill;
  head_sent_ = 0;
  body_sent_ = 0;
  responding_ = true;
  state_ = State::kWriting;
  deadline_ = now + settings_->send_timeout;
}

void Connection::start_upload(const UploadHandler& handler, HttpRequest request,
                              Clock::time_point now, const std::string& date) {
  auto decoder = BodyDecoder::for_request(request);
  if (!decoder.ok()) {
    int status = decoder.error().code == ErrorCode::kUnsupported ? 501 : 400;
    start_response(&request, HttpResponse::text(status, decoder.error().message + "\n"), now, date,
                   /*keep_alive=*/false);
    return;
  }
  UploadStart start;
  try {
    start = handler(request);
  } catch (const std::exception&) {
    start.sink.reset();
    start.refusal = HttpResponse::error(500);
  }
  if (!start.sink) {
    // The body stays unread, so the connection cannot carry another request.
    bool keep_alive = decoder->done() && request.keep_alive();
    start_response(&request, std::move(start.refusal), now, date, keep_alive);
    return;
  }
  const std::string* expect = request.header("expect");
  if (expect && request.minor_version >= 1 && input_.empty()) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    transport_->send(kContinue.data(), kContinue.size(), /*more=*/false);
  }
  upload_ = std::move(start.sink);
  decoder_ = std::move(decoder).value();
  upload_request_ = std::move(request);
  state_ = State::kReceiving;
  deadline_ = now + settings_->idle_timeout;
}

void Connection::end_upload(HttpResponse response, Clock::time_point now, const std::string& date) {
  upload_.reset();
  decoder_.reset();
  input_.clear();
  start_response(&upload_request_, std::move(response), now, date, /*keep_alive=*/false);
}

void Connection::finish_response(bool aborted) {
  responding_ = false;
  if (response_.file.valid()) {
    set_cork(socket_.get(), false);
    response_.file.reset();
  }
  if (!settings_->access_log) return;
  record_.bytes = body_sent_;
  record_.duration_ms = milliseconds_since(started_, Clock::now());
  record_.aborted = aborted;
  settings_->access_log->record(record_);
}

void Connection::log_failure(Clock::time_point now) {
  std::string failure = transport_->failure();
  if (failure.empty() || !settings_->access_log) return;
  AccessRecord record{client_, "-", "-"};
  record.duration_ms = milliseconds_since(started_, now);
  record.failure = std::move(failure);
  settings_->access_log->record(record);
}

Connection::Io Connection::write_response(Clock::time_point now, uint64_t* budget) {
  const uint64_t body_length = response_.body_length();
  while (head_sent_ < response_.head.size()) {
    IoResult sent = transport_->send(response_.head.data() + head_sent_,
                                     response_.head.size() - head_sent_,
                                     /*more=*/body_length > 0);
    if (sent.status == IoStatus::kAgain) return Io::kAgain;
    if (sent.status == IoStatus::kClosed) return Io::kFailed;
    head_sent_ += sent.bytes;
    deadline_ = now + settings_->send_timeout;
  }
  while (body_sent_ < body_length) {
    if (*budget == 0) return Io::kBudget;
    IoResult sent;
    if (response_.file.valid()) {
      uint64_t count = std::min({body_length - body_sent_, settings_->sendfile_chunk, *budget});
      uint64_t granted = 0;
      if (lane_ == Lane::kFill) {
        granted = settings_->fill_lane->grant(now, count);
        if (granted == 0) {
          resume_at_ = settings_->fill_lane->retry_at(now, count);
          record_.held_ms += milliseconds_since(now, resume_at_);
          // What is corked goes out now rather than when the cork times out.
          set_cork(socket_.get(), false);
          set_cork(socket_.get(), true);
          // Waiting for the lane is progress the server chose, not a stall.
          deadline_ = now + settings_->send_timeout;
          return Io::kThrottled;
        }
        count = granted;
      }
      sent = transport_->send_file(response_.file.get(), response_.file_offset + body_sent_,
                                   static_cast<size_t>(count));
      // 0 means the file shrank under us: the promised length cannot be met.
      if (sent.status == IoStatus::kOk && sent.bytes == 0) return Io::kFailed;
      if (lane_ == Lane::kForeground && sent.status == IoStatus::kOk)
        settings_->fill_lane->foreground_sent(now, sent.bytes);
      if (lane_ == Lane::kFill) {
        const uint64_t taken = sent.status == IoStatus::kOk ? sent.bytes : 0;
        if (granted > taken) settings_->fill_lane->refund(granted - taken);
      }
    } else {
      sent = transport_->send(response_.memory_body.data() + body_sent_,
                              body_length - body_sent_, /*more=*/false);
    }
    if (sent.status == IoStatus::kAgain) return Io::kAgain;
    if (sent.status == IoStatus::kClosed) return Io::kFailed;
    body_sent_ += sent.bytes;
    *budget -= std::min(*budget, static_cast<uint64_t>(sent.bytes));
    deadline_ = now + settings_->send_timeout;
  }
  // Done only once the transport holds nothing back either.
  IoStatus flushed = transport_->flush();
  if (flushed == IoStatus::kAgain) return Io::kAgain;
  if (flushed == IoStatus::kClosed) return Io::kFailed;
  return Io::kDone;
}

Connection::Progress Connection::step(Clock::time_point now, const std::string& date) {
  uint64_t budget = settings_->turn_budget;
  while (true) {
    switch (state_) {
      case State::kReading: {
        HttpRequest request;
        ParseOutcome outcome = parse_head(input_, settings_->limits, &scanned_, &request);
        if (outcome.state == ParseState::kComplete) {
          if (const UploadHandler* upload = settings_->router->upload_handler(request.path)) {
            input_.erase(0, outcome.consumed);
            scanned_ = 0;
            set_remote(client_, transport_->secure(), &request);
            start_upload(*upload, std::move(request), now, date);
            continue;
          }
          RequestLimits limits = settings_->limits;
          limits.max_body = std::min(limits.max_body, settings_->router->max_body(request.path));
          outcome = parse_body(input_, outcome.consumed, limits, &scanned_, &request);
        }
        if (outcome.state == ParseState::kComplete) {
          input_.erase(0, outcome.consumed);
          scanned_ = 0;
          set_remote(client_, transport_->secure(), &request);
          HttpResponse response;
          try {
            response = settings_->router->route(request);
          } catch (const std::exception&) {
            // A handler bug must cost one request, not the worker thread.
            response = HttpResponse::error(500);
          }
          if (response.deferred()) {
            work_ = response.take_work();
            pending_request_ = std::move(request);
            state_ = State::kPending;
            deadline_ = now + settings_->send_timeout;
            return Progress::kDeferred;
          }
          start_response(&request, std::move(response), now, date, request.keep_alive());
          continue;
        }
        if (outcome.state == ParseState::kError) {
          input_.clear();
          start_response(nullptr, HttpResponse::error(outcome.error_status), now, date, false);
          continue;
        }
        if (outcome.expects_continue && !continue_sent_) {
          // Best effort: a client that misses it sends the body anyway
          // after its own timeout.
          static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
          transport_->send(kContinue.data(), kContinue.size(), /*more=*/false);
          continue_sent_ = true;
        }
        Io io = read_more(now);
        if (io == Io::kAgain) return Progress::kWaiting;
        if (io == Io::kFailed) {
          log_failure(now);
          state_ = State::kClosed;
          return Progress::kClosed;
        }
        continue;
      }
      case State::kReceiving: {
        if (!input_.empty() || decoder_->done()) {
          std::string body;
          auto consumed = decoder_->feed(input_, &body);
          if (!consumed.ok()) {
            end_upload(HttpResponse::text(400, consumed.error().message + "\n"), now, date);
            continue;
          }
          input_.erase(0, *consumed);
          budget -= std::min<uint64_t>(budget, *consumed);
          if (!body.empty() && refusal_) {
            discarded_ += body.size();
            if (discarded_ > kDiscardLimit) {
              end_upload(std::move(*refusal_), now, date);
              refusal_.reset();
              continue;
            }
          } else if (!body.empty()) {
            Status written = upload_->write(body);
            if (!written.ok()) {
              int status = written.error().code == ErrorCode::kNoSpace          ? 507
                           : written.error().code == ErrorCode::kInvalidArgument ? 413
                                                                                 : 500;
              HttpResponse refusal = HttpResponse::text(status, written.error().message + "\n");
              if (status != 413) {
                end_upload(std::move(refusal), now, date);
                continue;
              }
              upload_.reset();  // the sink discards what it has
              refusal_ = std::move(refusal);
              discarded_ = 0;
            }
          }
          if (decoder_->done() && refusal_) {
            end_upload(std::move(*refusal_), now, date);
            refusal_.reset();
            continue;
          }
          if (decoder_->done()) {
            HttpResponse response;
            try {
              response = upload_->finish();
            } catch (const std::exception&) {
              response = HttpResponse::error(500);
            }
            upload_.reset();
            decoder_.reset();
            start_response(&upload_request_, std::move(response), now, date,
                           upload_request_.keep_alive());
            continue;
          }
          if (budget == 0) return Progress::kYielded;
        }
        Io io = read_more(now);
        if (io == Io::kAgain) return Progress::kWaiting;
        if (io == Io::kFailed) {
          upload_.reset();  // cut off: the sink discards what it has
          state_ = State::kClosed;
          return Progress::kClosed;
        }
        deadline_ = now + settings_->idle_timeout;
        continue;
      }
      case State::kPending:
        return Progress::kWaiting;  // pipelined input waits for the response
      case State::kWriting: {
        Io io = write_response(now, &budget);
        if (io == Io::kAgain) return Progress::kWaiting;
        if (io == Io::kBudget) return Progress::kYielded;
        if (io == Io::kThrottled) return Progress::kThrottled;
        if (io == Io::kFailed) {
          finish_response(/*aborted=*/true);
          state_ = State::kClosed;
          return Progress::kClosed;
        }
        finish_response(/*aborted=*/false);
        if (response_.close_after) {
          transport_->shutdown_write();
          input_.clear();
          drained_ = 0;
          state_ = State::kDraining;
          deadline_ = now + kLingerTime;
        } else {
          start_reading(now);
        }
        continue;
      }
      case State::kDraining: {
        Io io = read_more(now);
        if (io == Io::kAgain) return Progress::kWaiting;
        drained_ += input_.size();
        input_.clear();
        if (io == Io::kFailed || drained_ > kLingerLimit) {
          state_ = State::kClosed;
          return Progress::kClosed;
        }
        continue;
      }
      case State::kClosed:
        return Progress::kClosed;
    }
  }
}

}  // namespace goldroot::server
