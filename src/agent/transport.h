// Transport: one signed POST of a report body to SERVER/api/v1/reports
// (libcurl), and what came back. Each call makes its own curl handle;
// call curl_global_init once from main first.
#pragma once

#include <string>

#include "base/result.h"

namespace goldroot::agent {

struct PostOutcome {
  long status = 0;  // HTTP status; 0 when no answer came (refused, timed out)
  std::string body;
  std::string failure;  // curl's reason when status is 0
};

// Never fails as a Result: a down server is an outcome, not an error.
PostOutcome post_report(const std::string& server, const std::string& body,
                        const std::string& signature, long timeout_seconds);

}  // namespace goldroot::agent
