// Router: maps a request's canonical path to a handler — exact paths first,
// then the longest matching prefix ("/boot/" matches "/boot/aa:bb….ipxe").
// Unmatched paths get 404.
//
// Routes are added before the server starts; afterwards the router is only
// read, from every worker thread at once, so handlers must be thread-safe.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "server/http_request.h"
#include "server/http_response.h"

namespace goldroot::server {

using Handler = std::function<HttpResponse(const HttpRequest&)>;

class Router {
 public:
  void add_exact(std::string path, Handler handler);
  // Adding a prefix again replaces its handler (see prefix_handler).
  void add_prefix(std::string prefix, Handler handler);
  // The handler of exactly `prefix`, or an empty one: lets a later service
  // take over a prefix and hand on what it does not answer itself.
  Handler prefix_handler(const std::string& prefix) const;

  HttpResponse route(const HttpRequest& request) const;

 private:
  std::map<std::string, Handler> exact_;
  std::vector<std::pair<std::string, Handler>> prefixes_;  // longest first
};

}  // namespace goldroot::server
