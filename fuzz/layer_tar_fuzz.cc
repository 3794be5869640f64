// libFuzzer: goldroot-boot unpacking the host's config layer tar it fetches
// (GET /layers/<host>.tar) — unpack_layer_tar, as root, into a fresh dir.
//
// An input is a raw tar, or "M\n" and a member list that is turned into one
// (see tar_from_members). Tar checksums are recomputed either way (each
// header the reader will come to, found by the sizes as it finds them), or
// nearly every mutation would stop at "bad header checksum".
//
// The unpack writes for real, so it runs in a jail: one worker thread with
// a mount namespace of its own (the mount table made private first, so
// nothing propagates back), a tmpfs (nosuid, nodev, noexec) mounted there
// and chroot'ed into. An absolute symlink in an archive then points into
// the tmpfs, never at this machine's files; the tmpfs goes with the
// process. The thread keeps the process's working directory, so libFuzzer,
// called on that thread when it crashes, writes its artifact under a
// relative -artifact_prefix (as fuzz.sh passes) where asked; an absolute
// one would land in the jail. The jail has no /proc, so members with xattrs
// (set through /proc/self/fd) fail there.
//
// Each input unpacks into /layer; beside it lie /victim and /victim-dir. If
// the unpack changed anything outside /layer — a new entry in the jail's
// root, a victim's mode, owner, times or link count — the promise of
// layer_tar.h ("every member must stay beneath the destination") is broken:
// the target says what changed and aborts.
//
// The escapes this target found (a directory member chmodding through a
// symlink, open_parent's mkdirat following a symlinked parent, a hard link
// through a symlink) are fixed; any escape fails the run. Their inputs are
// seeds in the corpus.
// Needs root: a mount namespace, chroot, mknod.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "boot/layer_tar.h"

extern "C" int __sanitizer_symbolize_pc(void* pc, const char* format, char* out, size_t size);
extern "C" void __sanitizer_sandbox_on_notify(void* arguments);

namespace {

constexpr const char* kTarget = "layer_tar_fuzz";
constexpr const char* kDestination = "/layer";

constexpr mode_t kDestinationMode = 0755;

#include "tar_jail.h"

Jail* jail = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (::geteuid() != 0) {
    std::fprintf(stderr, "%s: needs root (a mount namespace, chroot, mknod)\n", kTarget);
    std::_Exit(1);
  }
  // Crash reports come from the jailed thread, which sees neither
  // llvm-symbolizer nor /proc: start the symbolizer and read the memory map
  // now.
  char name[256];
  __sanitizer_symbolize_pc(reinterpret_cast<void*>(&fix_checksums), "%F", name, sizeof name);
  __sanitizer_sandbox_on_notify(nullptr);
  jail = new Jail;
  jail->run(reset_jail);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string tar = input.starts_with("M\n") ? tar_from_members(input.substr(2)) : std::string(input);
  fix_checksums(tar);
  jail->run([&] {
    Snapshot before = snapshot();
    (void)goldroot::boot::unpack_layer_tar(tar, kDestination);
    std::string found = escapes(before, snapshot());
    if (!found.empty()) {
      std::fprintf(stderr, "%s: the unpack reached outside %s:%s\n", kTarget, kDestination,
                   found.c_str());
      std::abort();
    }
    reset_jail();
  });
  return 0;
}
