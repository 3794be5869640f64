// The goldroot initrd: the second initrd that a host's iPXE script loads
// after the image's own. The kernel unpacks both into one initramfs, so the
// image's initrd runs unmodified and finds goldroot's additions in it:
//
//   scripts/goldroot                 initramfs-tools: boot=goldroot's mountroot
//   lib/dracut/hooks/cmdline/90-goldroot.sh, mount/90-goldroot.sh
//                                    the same for dracut initrds (files
//                                    only: they land in the directories
//                                    the image's dracut initrd has)
//   usr/lib/goldroot/bin/NAME        goldroot-boot, goldroot-blockd (the
//                                    on-demand daemon), mkfs.ext4, goldroot-agent:
//                                    wrappers that run libexec/NAME with the
//                                    server's loader and libraries, so they
//                                    never mix with the image's libc
//   usr/lib/goldroot/libexec/, lib/  the binaries and their shared libraries
//   usr/lib/goldroot/site.pub        the key manifests must be signed with
//   usr/lib/goldroot/tls.pin         the pin of the server's TLS key
//                                    (crypto/tls_identity.h), when it has one
//   usr/lib/goldroot/modules/        loop, overlay, erofs, squashfs, nbd,
//                                    dm_mod, dm_verity (+ deps)
//                                    from the image's own kernel, and `order`
//   usr/lib/goldroot/goldroot-agent.service   the agent's unit, when built
//   usr/lib/goldroot/dracut/90goldroot/       the dracut module, for images
//
// It depends on the image (its kernel's modules), the site key, the TLS pin
// and the goldroot binaries, and is cached under its own SHA-256 in the cache
// directory: `<sha256>.img`, with `<recipe>.ref` naming the build of a
// given set of inputs, so a second request costs hashing the inputs only,
// and `<commit>.commit` naming the build each commit boots with, so that
// `image gc` can remove the builds no kept commit uses.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "base/hash.h"
#include "base/result.h"
#include "image/export.h"
#include "manifest/boot_manifest.h"

namespace goldroot {

class Store;

struct InitrdSources {
  std::string tools_dir;        // holds goldroot-boot (required) and goldroot-agent
  std::string site_public_key;  // PEM
  std::string tls_pin;          // "sha256//…" (tls_public_key_pin); "": none
  std::string mke2fs = "/sbin/mke2fs";  // formats data partitions; skipped if absent
};

struct GoldrootInitrd {
  std::string path;  // CACHE/<sha256>.img
  Digest sha256;
  uint64_t size = 0;
  std::string kernel_version;  // "" when the kernel's name carries none
  size_t modules = 0;
  bool reused = false;
};

// Builds the goldroot initrd for `commit`, whose kernel is `kernel`, or
// returns the cached one.
Result<GoldrootInitrd> build_goldroot_initrd(const Store& store, const Digest& commit,
                                             const BootFile& kernel, const InitrdSources& sources,
                                             const std::string& cache_dir);

// Removes from `cache_dir` the notes of commits not in `keep`, the initrds
// no remaining note names, and the recipes of removed initrds. An initrd
// modified less than `grace_seconds` before `now` stays: a server may be
// between building it and noting it.
Result<PruneReport> prune_goldroot_initrds(const std::string& cache_dir,
                                           const std::set<Digest>& keep, int64_t now,
                                           int64_t grace_seconds = 3600);

// The kernel version a kernel's file name carries: "/boot/vmlinuz-6.1.0-13-amd64"
// -> "6.1.0-13-amd64"; "" for a bare "vmlinuz".
std::string kernel_version_of(const std::string& kernel_path);

// The shared libraries `binary` loads, with the dynamic loader last, as
// `ldd` lists them (full paths).
Result<std::vector<std::string>> shared_libraries(const std::string& binary);

}  // namespace goldroot
