// Turns the path part of a request-target into the one canonical path that
// routing sees, rejecting anything that could name a file outside the tree
// being served. Rejecting beats resolving: a well-behaved client never sends
// these, so an ambiguous path is an attack or a bug and gets 400.
//
// Rejected: a path not starting with '/', bad percent-escapes, an encoded
// '/' (%2F) or '\\', NUL or other control bytes (raw or encoded), and any
// ".." segment (raw or as %2e%2e). Accepted paths have empty and "."
// segments removed; a trailing '/' is kept. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace goldroot::server {

Result<std::string> canonical_request_path(std::string_view raw_path);

}  // namespace goldroot::server
