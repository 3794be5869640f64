// Router: maps a request's canonical path to a handler — exact paths first,
// then the longest matching prefix ("/boot/" matches "/boot/aa:bb….ipxe").
// Unmatched paths get 404.
//
// Upload routes (add_upload) take their request body as a stream instead:
// the connection asks the handler, once the head is in, for a sink, and
// feeds it the body as it arrives — for bodies too large to hold, such as a
// machine's whole upper layer.
//
// A route takes no request body unless it is added with a `max_body`: the
// connection asks max_body() once the head is in and refuses a larger body
// (413) before reading a byte of it, so a client cannot make every route
// buffer a megabyte.
//
// Routes are added before the server starts; afterwards the router is only
// read, from every worker thread at once, so handlers must be thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string_view>
#include <string>
#include <vector>

#include "server/http_request.h"
#include "server/http_response.h"

namespace goldroot::server {

using Handler = std::function<HttpResponse(const HttpRequest&)>;

// Where an upload's body goes. write() is called with the body as it
// arrives, then finish() once, after the last byte; a sink destroyed
// without finish() was cut off (the client vanished, the framing broke, a
// write failed) and must discard what it received. write() failing ends
// the upload with the error's status (its code decides: kNoSpace 507,
// kInvalidArgument 413 — a body over its limit —, otherwise 500) and message.
class UploadSink {
 public:
  virtual ~UploadSink() = default;
  virtual Status write(std::string_view data) = 0;
  virtual HttpResponse finish() = 0;
};

// The handler's answer to an upload's head: a sink to receive the body, or
// (sink null) the response to send instead, e.g. 403; the body is then
// not read.
struct UploadStart {
  std::unique_ptr<UploadSink> sink;
  HttpResponse refusal;
};
using UploadHandler = std::function<UploadStart(const HttpRequest& head)>;

class Router {
 public:
  void add_exact(std::string path, Handler handler, size_t max_body = 0);
  // Adding a prefix again replaces its handler and limit (see prefix_handler).
  void add_prefix(std::string prefix, Handler handler, size_t max_body = 0);
  // The handler of exactly `prefix`, or an empty one: lets a later service
  // take over a prefix and hand on what it does not answer itself.
  Handler prefix_handler(const std::string& prefix) const;

  // Requests under `prefix` stream their body into the handler's sink.
  void add_upload(std::string prefix, UploadHandler handler);
  // The upload handler for `path`, or nullptr.
  const UploadHandler* upload_handler(const std::string& path) const;

  HttpResponse route(const HttpRequest& request) const;
  // The largest body the route answering `path` takes (0: none).
  size_t max_body(const std::string& path) const;

 private:
  struct Route {
    Handler handler;
    size_t max_body = 0;
  };
  const Route* find(const std::string& path) const;

  std::map<std::string, Route> exact_;
  std::vector<std::pair<std::string, Route>> prefixes_;  // longest first
  std::vector<std::pair<std::string, UploadHandler>> uploads_;
};

}  // namespace goldroot::server
