// The web dashboard of `goldroot serve`: plain HTML, CSS and JavaScript in
// this folder, compiled into the binary (CMakeLists.txt), that reads the
// JSON API (/api/v1/status, channels, images, labs, hosts/NAME/changes) and
// sets modes through the admin routes (bootserver/admin_routes.h).
//
//   GET /                      index.html
//   GET /dashboard/<file>      app.js, style.css
//
// The pages hold no secrets, so these routes are open; the API they call
// is admin-guarded. Stateless; thread-safe.
#pragma once

#include <string_view>

#include "server/router.h"

namespace goldroot {

// The embedded file called `name` ("index.html"), or empty.
std::string_view dashboard_file(std::string_view name);

// Adds the routes above to `router`.
void install_dashboard(server::Router& router);

}  // namespace goldroot
