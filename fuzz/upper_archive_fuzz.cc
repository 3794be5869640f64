// libFuzzer: the server's side of `goldroot capture --host`, on the upper
// archive a host's agent uploaded (the host's root can send anything):
// unpack_upper_archive (libarchive, as root) into a fresh dir,
// discard_ignored with the built-in ignore list, then UpperTree::read and
// the questions capture asks of the tree.
//
// An input is a raw tar, or "M\n" and a member list that is turned into one
// (see tar_from_members). Tar checksums are recomputed either way (each
// header the reader will come to, found by the sizes as it finds them), or
// nearly every mutation would stop at a bad checksum.
//
// The unpack writes for real, so it runs in a jail: one worker thread with
// a mount namespace of its own (the mount table made private first, so
// nothing propagates back), a tmpfs (nosuid, nodev, noexec) mounted there
// and chroot'ed into. An absolute symlink in an archive then points into
// the tmpfs, never at this machine's files; the tmpfs goes with the
// process. The thread keeps the process's working directory, so libFuzzer,
// called on that thread when it crashes, writes its artifact under a
// relative -artifact_prefix (as fuzz.sh passes) where asked; an absolute
// one would land in the jail. The jail has no /proc: xattrs on the
// archive's root "." (set through /proc/self/fd) fail there; xattrs on
// other members do not need it.
//
// Each input is written to /upper.tar and unpacked into /upper; beside them
// lie /victim and /victim-dir. If anything changed outside /upper — a new
// entry in the jail's root, a victim's mode, owner, times or link count —
// the promise of upper_unpack.h ("nothing in it may reach outside
// destination") is broken: the target says what changed and aborts.
//
// It found that unpack_upper_archive took libarchive's ARCHIVE_RETRY (a
// damaged header after a good member) for a member and built a std::string
// from its null pathname (std::terminate); fixed, seed in the corpus.
// Needs root: a mount namespace, chroot, mknod, trusted.* xattrs.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>

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

#include "base/parallel.h"
#include "overlay/ignore_list.h"
#include "overlay/reset.h"
#include "overlay/upper_tree.h"
#include "overlay/upper_unpack.h"

extern "C" int __sanitizer_symbolize_pc(void* pc, const char* format, char* out, size_t size);
extern "C" void __sanitizer_sandbox_on_notify(void* arguments);

namespace {

constexpr const char* kTarget = "upper_archive_fuzz";
constexpr const char* kArchive = "/upper.tar";
constexpr const char* kDestination = "/upper";

constexpr mode_t kDestinationMode = 0700;  // as capture --host makes it

#include "tar_jail.h"

bool write_archive(const std::string& tar) {
  int fd = ::open(kArchive, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool written = ::write(fd, tar.data(), tar.size()) == static_cast<ssize_t>(tar.size());
  ::close(fd);
  return written;
}

// What capture and changes ask of an upper tree.
void query(const goldroot::UpperTree& tree) {
  std::vector<const goldroot::UpperNode*> pending{&tree.root()};
  while (!pending.empty()) {
    const goldroot::UpperNode* node = pending.back();
    pending.pop_back();
    (void)tree.moved(*node);
    (void)tree.resolve(node->path);
    if (node->origin) (void)tree.resolve(*node->origin);
    if (node->entry.type == goldroot::FileType::kRegular) (void)tree.open_file(*node);
    for (const auto& child : node->children) pending.push_back(child.get());
  }
  (void)tree.lower_paths();
  (void)tree.redirected_lower_paths();
  (void)tree.redirects();
}

Jail* jail = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (::geteuid() != 0) {
    std::fprintf(stderr, "%s: needs root (a mount namespace, chroot, mknod)\n", kTarget);
    std::_Exit(1);
  }
  // Crash reports come from the jailed thread, which sees neither
  // llvm-symbolizer nor /proc: start the symbolizer and read the memory map
  // now. libarchive too is loaded (dlopen) before the jail hides it.
  char name[256];
  __sanitizer_symbolize_pc(reinterpret_cast<void*>(&fix_checksums), "%F", name, sizeof name);
  archive_read_free(archive_read_new());
  __sanitizer_sandbox_on_notify(nullptr);
  // One thread: the walk's code all runs, without starting threads for every
  // input (five times the cost of the rest; the walk's threading is TSan's).
  goldroot::set_io_threads(1);
  jail = new Jail;
  jail->run(reset_jail);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const goldroot::IgnoreList ignore = goldroot::IgnoreList::defaults();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string tar = input.starts_with("M\n") ? tar_from_members(input.substr(2)) : std::string(input);
  fix_checksums(tar);
  jail->run([&] {
    if (!write_archive(tar)) fail("writing the archive");
    Snapshot before = snapshot();
    if (goldroot::unpack_upper_archive(kArchive, kDestination).ok() &&
        goldroot::discard_ignored(kDestination, ignore).ok()) {
      auto tree = goldroot::UpperTree::read(
          kDestination, goldroot::OverlayConventions(goldroot::XattrNamespace::kTrusted));
      if (tree.ok()) query(*tree);
    }
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
