// libarchive, loaded on first use. goldroot reads and writes archives in
// five places only (image import of a tar, tar export, tar layer renders,
// unpacking an upper a host uploaded,
// the goldroot initrd's cpio),
// but linking libarchive makes every start of the binary map it and the
// libraries it pulls in (libxml2, ICU, nettle, bzip2, lz4, acl…): tens of
// milliseconds on a cold cache for `goldroot changes`, which never touches a
// tar. These definitions of the libarchive functions goldroot calls stand in
// for the library at link time; the first call dlopens it and each one then
// forwards to the real function. archive.h stays the interface, so callers
// are unchanged and the compiler checks every signature against it.
//
// Thread-safe: the library handle and each function pointer are resolved
// under C++ static-initialisation guards.
#include <archive.h>
#include <archive_entry.h>
#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace {

void* library() {
  static void* handle = [] {
    void* loaded = ::dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
    if (!loaded) loaded = ::dlopen("libarchive.so", RTLD_NOW | RTLD_LOCAL);
    if (!loaded) {
      // A broken installation, not bad input: nothing sensible can go on.
      std::fprintf(stderr, "error: goldroot needs libarchive for tar archives: %s\n", ::dlerror());
      std::fflush(stderr);
      ::_exit(1);
    }
    return loaded;
  }();
  return handle;
}

template <typename Function>
Function resolve(const char* name) {
  void* symbol = ::dlsym(library(), name);
  if (!symbol) {
    std::fprintf(stderr, "error: the installed libarchive lacks %s\n", name);
    std::fflush(stderr);
    ::_exit(1);
  }
  return reinterpret_cast<Function>(symbol);
}

}  // namespace

// FORWARD(return type, name, (parameters), (arguments)): defines `name`
// with the signature archive.h declares, forwarding to the loaded library.
#define FORWARD(Return, name, parameters, arguments)            \
  extern "C" Return name parameters {                           \
    static const auto real = resolve<decltype(&::name)>(#name); \
    return real arguments;                                      \
  }

using Archive = struct archive;
using Entry = struct archive_entry;

FORWARD(Archive*, archive_read_new, (void), ())
FORWARD(int, archive_read_support_filter_all, (Archive * a), (a))
FORWARD(int, archive_read_support_format_all, (Archive * a), (a))
FORWARD(int, archive_read_support_format_tar, (Archive * a), (a))
FORWARD(int, archive_read_support_format_gnutar, (Archive * a), (a))
FORWARD(int, archive_read_open_filename, (Archive * a, const char* file, size_t block),
        (a, file, block))
FORWARD(int, archive_read_next_header, (Archive * a, Entry** entry), (a, entry))
FORWARD(la_ssize_t, archive_read_data, (Archive * a, void* buffer, size_t size), (a, buffer, size))
FORWARD(int, archive_read_free, (Archive * a), (a))

FORWARD(Archive*, archive_write_new, (void), ())
FORWARD(int, archive_write_set_format_pax, (Archive * a), (a))
FORWARD(int, archive_write_set_format_pax_restricted, (Archive * a), (a))
FORWARD(int, archive_write_set_format_cpio_newc, (Archive * a), (a))
FORWARD(int, archive_write_add_filter_gzip, (Archive * a), (a))
FORWARD(int, archive_write_open_filename, (Archive * a, const char* file), (a, file))
FORWARD(int, archive_write_header, (Archive * a, Entry* entry), (a, entry))
FORWARD(la_ssize_t, archive_write_data, (Archive * a, const void* data, size_t size),
        (a, data, size))
FORWARD(int, archive_write_close, (Archive * a), (a))
FORWARD(int, archive_write_free, (Archive * a), (a))

FORWARD(Archive*, archive_write_disk_new, (void), ())
FORWARD(int, archive_write_disk_set_options, (Archive * a, int flags), (a, flags))
FORWARD(int, archive_read_extract2, (Archive * a, Entry* entry, Archive* disk), (a, entry, disk))

FORWARD(const char*, archive_error_string, (Archive * a), (a))

FORWARD(Entry*, archive_entry_new, (void), ())
FORWARD(void, archive_entry_free, (Entry * e), (e))
FORWARD(const char*, archive_entry_pathname, (Entry * e), (e))
FORWARD(const char*, archive_entry_hardlink, (Entry * e), (e))
FORWARD(const char*, archive_entry_symlink, (Entry * e), (e))
FORWARD(const struct stat*, archive_entry_stat, (Entry * e), (e))
FORWARD(__LA_MODE_T, archive_entry_filetype, (Entry * e), (e))
FORWARD(__LA_MODE_T, archive_entry_perm, (Entry * e), (e))
FORWARD(la_int64_t, archive_entry_uid, (Entry * e), (e))
FORWARD(la_int64_t, archive_entry_gid, (Entry * e), (e))
FORWARD(la_int64_t, archive_entry_size, (Entry * e), (e))
FORWARD(dev_t, archive_entry_rdev, (Entry * e), (e))
FORWARD(time_t, archive_entry_mtime, (Entry * e), (e))
FORWARD(long, archive_entry_mtime_nsec, (Entry * e), (e))
FORWARD(void, archive_entry_set_pathname, (Entry * e, const char* path), (e, path))
FORWARD(void, archive_entry_set_hardlink, (Entry * e, const char* target), (e, target))
FORWARD(void, archive_entry_set_symlink, (Entry * e, const char* target), (e, target))
FORWARD(void, archive_entry_set_filetype, (Entry * e, unsigned int type), (e, type))
FORWARD(void, archive_entry_set_perm, (Entry * e, __LA_MODE_T mode), (e, mode))
FORWARD(void, archive_entry_set_uid, (Entry * e, la_int64_t uid), (e, uid))
FORWARD(void, archive_entry_set_gid, (Entry * e, la_int64_t gid), (e, gid))
FORWARD(void, archive_entry_set_size, (Entry * e, la_int64_t size), (e, size))
FORWARD(void, archive_entry_set_nlink, (Entry * e, unsigned int nlink), (e, nlink))
FORWARD(void, archive_entry_set_rdev, (Entry * e, dev_t rdev), (e, rdev))
FORWARD(void, archive_entry_set_mtime, (Entry * e, time_t seconds, long nanoseconds),
        (e, seconds, nanoseconds))
FORWARD(int, archive_entry_acl_reset, (Entry * e, int want_type), (e, want_type))
FORWARD(int, archive_entry_acl_next,
        (Entry * e, int want_type, int* type, int* permset, int* tag, int* qualifier,
         const char** name),
        (e, want_type, type, permset, tag, qualifier, name))
FORWARD(int, archive_entry_xattr_reset, (Entry * e), (e))
FORWARD(int, archive_entry_xattr_next,
        (Entry * e, const char** name, const void** value, size_t* size), (e, name, value, size))
FORWARD(void, archive_entry_xattr_add_entry,
        (Entry * e, const char* name, const void* value, size_t size), (e, name, value, size))
