// BootManifest: what a client needs to boot an image and trust it — the
// artifact (digest, size, format, content-addressed URL), the commit it was
// built from, and the kernel and initrd found in the image's /boot. The
// export writes it; the server hands it out per MAC; goldroot-boot checks
// its signature against the pinned site key before fetching anything.
//
// Signed form (one JSON object; field order and whitespace do not matter):
//   {"version":1,
//    "image":{"sha256":"<hex>","size":123,"format":"erofs","url":"images/<hex>.erofs"},
//    "commit":"<hex>",
//    "kernel":{"path":"/boot/vmlinuz-6.1.0-13-amd64","sha256":"<hex>","size":8},
//    "initrd":{"path":"/boot/initrd.img-6.1.0-13-amd64","sha256":"<hex>","size":9},
//    "signature":{"algorithm":"ed25519","key_id":"<16 hex>","value":"<base64>"}}
// The signature is ed25519 over the bytes
//   "goldroot-boot-manifest-v1\n" + canonical JSON of the object without "signature"
// where canonical JSON is nlohmann's compact dump: keys sorted bytewise, no
// whitespace, integers in decimal, strings in UTF-8 with JSON's minimal
// escapes. The prefix keeps a manifest signature from being valid for any
// other document the site key signs. "url" is optional and, being relative
// to the manifest's own URL, independent of the server's address.
//
// An erofs export also carries its dm-verity hash tree (verity/hash_tree.h),
// so a client can read the image on demand and check every block:
//   "image":{…, "verity":{"root_hash":"<hex>","salt":"<hex>",
//                         "data_block_size":4096,"hash_block_size":4096,
//                         "data_blocks":N,"tree_size":M,
//                         "tree_url":"images/<image sha256>.verity"}}
// (optional; signed with the rest). The root hash vouches for the tree and,
// through it, for every block; data_blocks × data_block_size is the image's
// size, and tree_size is what the geometry of those blocks needs — anything
// else is refused, so a client never sizes a device from a lie.
//
// Version 2 is what the server gives a host (issue #14): version 1 plus
//   "host":{"name":"pc01","mac":"52:54:00:aa:00:01","mode":"normal",
//           "key_id":"<16 hex>",
//           "layer":{"sha256":"<hex>","size":10240},      (optional)
//           "issued_at":1733300000,"expires_at":1733303600,
//           "challenge":"<the challenge the request was signed over>",
//           "image_time":1733200000,"floor":0,
//           "fetch":"full",                               (optional: full)
//           "servers":["http://10.0.0.2:8080/"]}          (optional: none)
// It binds the image to one host: its MAC, the mode the server decided, the
// key that asked, the exact layer bundle, and a time window. "challenge"
// is the server's answer to that one request (goldroot-boot checks it is
// the one it signed), so a recorded manifest cannot be replayed to another
// boot. "image_time" is the image's commit time and "floor" the site's
// rollback floor: an image older than the floor is never issued, and a
// host refuses one older than the highest floor it has seen. "fetch" says
// how the host gets the image: "full" (download it all, check its sha256,
// then mount) or "demand" (read blocks as they are needed through
// dm-verity; only with "verity"). A server from before it sent none: full.
// "servers" are the site's other servers (http:// or https:// origins),
// which a running host may ask for the same image, tree and layer files
// and send its reports to when its own server stops answering.
//
// Plain values; functions are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/hash.h"
#include "base/result.h"
#include "crypto/ed25519.h"
#include "verity/hash_tree.h"

namespace goldroot {

struct BootFile {
  std::string path;  // inside the image, e.g. /boot/vmlinuz-6.1.0-13-amd64
  Digest sha256;
  uint64_t size = 0;
  bool operator==(const BootFile&) const = default;
};

// What binds a manifest to one host and one boot (version 2).
struct HostBinding {
  std::string name;
  std::string mac;   // canonical, lower-case colon form
  std::string mode;  // the mode the server decided (fleet/boot_mode.h names)
  std::string key_id;  // the host key the request was signed with
  std::optional<Digest> layer_sha256;  // the host's layer bundle, if it has one
  uint64_t layer_size = 0;
  int64_t issued_at = 0;   // seconds since the epoch, the server's clock
  int64_t expires_at = 0;
  std::string challenge;
  int64_t image_time = 0;  // the commit's creation time
  int64_t floor = 0;       // the site's rollback floor
  std::string fetch = "full";  // "full" or "demand" (site/fetch_mode.h names)
  // The site's other servers (`serve --peer`), which serve the same
  // content-addressed files and take the host's reports: where a running
  // host turns when its server stops answering.
  std::vector<std::string> servers;
  bool operator==(const HostBinding&) const = default;
};

// The dm-verity tree of an image: the parameters a verity device needs,
// and where the tree is.
struct ImageVerity {
  VerityParams params;  // root hash, salt, block sizes, data blocks
  uint64_t tree_size = 0;
  std::string tree_url;  // relative to the manifest's URL, like the image's
  bool operator==(const ImageVerity&) const = default;
};

struct BootManifest {
  static constexpr int kVersion = 1;
  static constexpr int kHostVersion = 2;

  struct Image {
    Digest sha256;
    uint64_t size = 0;
    std::string format;  // "erofs", "squashfs" or "tar"
    std::string url;     // optional
    std::optional<ImageVerity> verity;  // erofs exports
    bool operator==(const Image&) const = default;
  };

  Image image;
  Digest commit;
  BootFile kernel;
  BootFile initrd;
  std::optional<HostBinding> host;  // set: version 2
  bool operator==(const BootManifest&) const = default;
};

// The signed JSON text described above.
Result<std::string> sign_boot_manifest(const BootManifest& manifest, const SigningKey& key);

// Checks the signature with `key` and then the fields; a Corruption error
// names what is wrong (bad signature, other key, missing field).
Result<BootManifest> verify_boot_manifest(std::string_view signed_json, const VerifyKey& key);

}  // namespace goldroot
