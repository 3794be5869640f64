// UploadAnswer: what an agent's "done" result for upload-upper says it sent
// (report.h): {"sha256": "<hex>", "bytes": N, "entries": N,
// "changed_while_read": ["/etc/x", …], "skipped_sockets": N}, carried as JSON
// in the result's output. `goldroot capture --host` checks the stored upload
// against it before unpacking anything.
//
// The host's root writes this text, so parse() reads every field through a
// type check: a wrong type or a missing field is one sentence naming the
// field, never an exception. Plain value; not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/hash.h"
#include "base/result.h"

namespace goldroot {

struct UploadAnswer {
  Digest sha256;                                // required
  uint64_t bytes = 0;                           // required
  uint64_t entries = 0;                         // 0 when not given
  std::vector<std::string> changed_while_read;  // merged paths, as the host wrote them
  uint64_t skipped_sockets = 0;

  // kCorruption, e.g. "\"bytes\" is not a whole number" or "it is not JSON".
  static Result<UploadAnswer> parse(std::string_view output);
};

}  // namespace goldroot
