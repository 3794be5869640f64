// BootRecord: what goldroot-boot did, written as /run/goldroot/boot.json
// for the agent (and the admin) once the new root is mounted.
//
//   {"version": 1,
//    "mode": "reset",                    normal|reset|maintenance|cache|shell
//    "host": "pc01", "mac": "52:54:00:aa:00:01",
//    "server": "http://10.0.0.1:8080",   origin given on the command line ("" if none)
//    "servers": ["http://10.0.0.2:8080/"],  the site's other servers (signed manifest)
//    "manifest": {"url": "...", "sha256": "<hex of the signed manifest text>",
//                 "source": "server"|"cache", "key_id": "<16 hex>"},
//    "commit": "<hex>",
//    "image": {"sha256": "<hex>", "size": 123, "format": "erofs",
//              "url": "...", "path": "/run/goldroot/image/<hex>.erofs"
//                                    (on demand: goldroot-blockd's /dev/dm-N),
//              "source": "download"|"reused"|"cache"|"demand"|"demand-running",
//              "resumed_from": 0, "downloaded": 123, "loop_device": "/dev/loop3"},
//    "layer": {"url": "...", "source": "server"|"cache"|"none",
//              "entries": 12, "whiteouts": 1},
//    "lower": "/run/goldroot/image",     the image's read-only mount
//    "middle": "/run/goldroot/middle",   the host layer (read-only tmpfs)
//    "upper": {"kind": "tmpfs"|"directory"|"device", "device": "/dev/sda3"|"",
//              "path": ".../upper", "work": ".../work",
//              "formatted": false, "discarded": false},
//    "root": "/root",                    where the overlay is mounted
//    "cache_dir": "/run/goldroot/data/goldroot/cache"   the image cache on the
//                                        data partition ("" without one), where
//                                        the agent pre-fetches the next image
//    "site_key": "/run/goldroot/site.pub"   the site's public key, which the
//                                        agent checks pre-fetch manifests with
//    "agent": true,                      goldroot-agent installed as a runtime unit
//    "timings_ms": {"manifest": 3, "image": 120, "layer": 2, "mount": 9, "total": 140}}
//
// Plain value; not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace goldroot::boot {

struct BootRecord {
  std::string mode, host, mac, server;
  std::vector<std::string> servers;
  std::string manifest_url, manifest_sha256, manifest_source, key_id;
  std::string commit;
  std::string image_sha256, image_format, image_url, image_path, image_source, loop_device;
  uint64_t image_size = 0, resumed_from = 0, downloaded = 0;
  std::string layer_url, layer_source = "none";
  size_t layer_entries = 0, layer_whiteouts = 0;
  std::string lower, middle;
  std::string upper_kind, upper_device, upper_path, work_path;
  bool upper_formatted = false, upper_discarded = false;
  std::string root;
  std::string cache_dir, site_key;
  bool agent = false;
  int64_t manifest_ms = 0, image_ms = 0, layer_ms = 0, mount_ms = 0, total_ms = 0;

  std::string to_json() const;
};

// Writes `record` to `path` (temp file, fsync, rename), creating the
// parent directory.
Status write_boot_record(const BootRecord& record, const std::string& path);

}  // namespace goldroot::boot
