// Transport: one signed POST of a report body to SERVER/api/v1/reports
// (libcurl), or of a streamed body (chunked) to another path, and what came
// back. An https:// SERVER is reached only with the server's pinned key
// (`pinned_public_key`, "sha256//…", crypto/curl_tls.h); without one the
// call fails with one sentence and sends nothing. Each call makes its own
// curl handle; call curl_global_init once from main first.
#pragma once

#include <functional>
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
                        const std::string& signature, long timeout_seconds,
                        const std::string& pinned_public_key);

// Fills up to `size` bytes of the buffer; 0 at the end of the body.
using BodySource = std::function<Result<size_t>(char* buffer, size_t size)>;

// POSTs what `source` produces to SERVER`path`, chunked. A transfer with
// no progress for `stall_seconds` ends; a source that fails ends it with
// its message as the failure.
PostOutcome post_stream(const std::string& server, const std::string& path,
                        const std::string& signature, const BodySource& source,
                        long stall_seconds, const std::string& pinned_public_key);

}  // namespace goldroot::agent
