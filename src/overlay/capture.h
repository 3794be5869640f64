// Capturing a maintained machine: its upper dir applied onto the lower
// commit gives a new commit whose tree is exactly what the mounted overlay
// showed — whiteouts applied, opaque dirs honoured, redirects followed,
// metacopy files given their lower bytes, hardlinks kept (the upper's own,
// and the lower's that no copy-up broke). The lower commit is a parent.
//
// Only the directories the upper touches are read and rewritten; the rest
// of the image is reused by tree digest (TreeBuilder), and only the upper's
// files are hashed and stored. The image ref moves last, after everything
// is durable, as in import.
#pragma once

#include <string>

#include "image/import.h"
#include "overlay/conventions.h"
#include "store/store.h"

namespace goldroot {

struct CaptureOptions {
  std::string name;     // image ref to create or advance
  std::string message;
  XattrNamespace xattrs = XattrNamespace::kTrusted;
};

struct CaptureResult {
  Digest commit;
  ImportStats stats;  // entries and size of the whole new tree; what was written
};

Result<CaptureResult> capture(Store& store, const Digest& lower_commit,
                              const std::string& upper_dir, const CaptureOptions& options);

}  // namespace goldroot
