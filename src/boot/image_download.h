// Downloading the boot image to a local file, trusting only the manifest.
//
// The bytes go to TARGET.part first; an interrupted transfer (a dropped
// connection, a reboot into the same cache partition) resumes from the
// partial file's length with an HTTP Range request. Never more than the
// manifest's size is read from the server. When the file is complete its
// SHA-256 is checked against the manifest; a mismatch deletes it and fails
// with "image digest mismatch: expected …, got …; refusing to mount".
// Only a verified file is renamed to TARGET (and fsynced), so a file at
// TARGET has always been verified once; verify_image_file re-checks one
// found there before it is trusted again (the cache).
// Functions only; two calls must not share a target.
#pragma once

#include <cstdint>
#include <string>

#include "base/hash.h"
#include "base/result.h"
#include "boot/http_fetch.h"

namespace goldroot::boot {

struct ImageSpec {
  std::string url;  // absolute
  Digest sha256;
  uint64_t size = 0;
};

struct DownloadReport {
  uint64_t resumed_from = 0;   // bytes already present in TARGET.part
  uint64_t downloaded = 0;     // bytes fetched in this call
  int attempts = 0;
  bool reused = false;         // TARGET already held the verified image
};

struct DownloadOptions {
  int max_attempts = 5;  // requests that make no progress before giving up
  FetchOptions fetch;
};

Result<DownloadReport> download_image(const ImageSpec& image, const std::string& target,
                                      const DownloadOptions& options = {});

// Checks a file's size and SHA-256; on mismatch the Corruption error reads
// "image digest mismatch: expected X, got Y; refusing to mount".
Status verify_image_file(const std::string& path, const Digest& sha256, uint64_t size);

}  // namespace goldroot::boot
