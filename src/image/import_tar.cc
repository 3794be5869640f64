// import_tar: reads a tar archive (plain, gzip, zstd or xz, via libarchive)
// into a TreeBuilder, streaming each file's bytes into the store, then
// writes the commit. Entries and hardlinks that would escape the tree are
// refused before anything becomes visible.
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "base/progress.h"
#include "image/import.h"
#include "image/tree_builder.h"

namespace goldroot {

namespace {

struct ArchiveCloser {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

// Encodes libarchive's ACL entries of one type as the kernel's
// system.posix_acl_* xattr value (version 2, {tag, perm, id} records).
std::string encode_posix_acl(struct archive_entry* entry, int type, uint32_t mode) {
  struct Record {
    uint16_t tag, perm;
    uint32_t id;
  };
  std::vector<Record> records;
  bool extended = false;
  if (archive_entry_acl_reset(entry, type) <= 0) return {};
  int entry_type, permset, tag, id;
  const char* name;
  while (archive_entry_acl_next(entry, type, &entry_type, &permset, &tag, &id, &name) ==
         ARCHIVE_OK) {
    uint16_t linux_tag = 0;
    switch (tag) {
      case ARCHIVE_ENTRY_ACL_USER_OBJ: linux_tag = 0x01; break;
      case ARCHIVE_ENTRY_ACL_USER: linux_tag = 0x02; extended = true; break;
      case ARCHIVE_ENTRY_ACL_GROUP_OBJ: linux_tag = 0x04; break;
      case ARCHIVE_ENTRY_ACL_GROUP: linux_tag = 0x08; extended = true; break;
      case ARCHIVE_ENTRY_ACL_MASK: linux_tag = 0x10; extended = true; break;
      case ARCHIVE_ENTRY_ACL_OTHER: linux_tag = 0x20; break;
      default: continue;
    }
    bool object = linux_tag == 0x01 || linux_tag == 0x04 || linux_tag == 0x10 || linux_tag == 0x20;
    records.push_back({linux_tag, static_cast<uint16_t>(permset & 7),
                       object ? 0xffffffffu : static_cast<uint32_t>(id)});
  }
  if (type == ARCHIVE_ENTRY_ACL_TYPE_ACCESS && !extended) return {};
  auto has = [&](uint16_t tag) {
    return std::any_of(records.begin(), records.end(), [&](const Record& r) { return r.tag == tag; });
  };
  if (!has(0x01)) records.push_back({0x01, static_cast<uint16_t>((mode >> 6) & 7), 0xffffffffu});
  if (!has(0x04)) records.push_back({0x04, static_cast<uint16_t>((mode >> 3) & 7), 0xffffffffu});
  if (!has(0x20)) records.push_back({0x20, static_cast<uint16_t>(mode & 7), 0xffffffffu});
  std::sort(records.begin(), records.end(), [](const Record& a, const Record& b) {
    return a.tag != b.tag ? a.tag < b.tag : a.id < b.id;
  });
  std::string value;
  auto put32 = [&](uint32_t v) { value.append(reinterpret_cast<const char*>(&v), 4); };
  auto put16 = [&](uint16_t v) { value.append(reinterpret_cast<const char*>(&v), 2); };
  put32(2);
  for (const Record& r : records) {
    put16(r.tag);
    put16(r.perm);
    put32(r.id);
  }
  return value;
}

Result<Entry> entry_metadata(struct archive_entry* entry) {
  Entry e;
  switch (archive_entry_filetype(entry)) {
    case AE_IFREG: e.type = FileType::kRegular; break;
    case AE_IFDIR: e.type = FileType::kDirectory; break;
    case AE_IFLNK: e.type = FileType::kSymlink; break;
    case AE_IFCHR: e.type = FileType::kCharDevice; break;
    case AE_IFBLK: e.type = FileType::kBlockDevice; break;
    case AE_IFIFO: e.type = FileType::kFifo; break;
    case AE_IFSOCK: e.type = FileType::kSocket; break;
    default:
      return make_error(ErrorCode::kUnsupported, "unsupported entry type");
  }
  e.mode = archive_entry_perm(entry) & 07777;
  e.uid = static_cast<uint32_t>(archive_entry_uid(entry));
  e.gid = static_cast<uint32_t>(archive_entry_gid(entry));
  e.mtime_sec = archive_entry_mtime(entry);
  e.mtime_nsec = static_cast<uint32_t>(archive_entry_mtime_nsec(entry));
  if (e.type == FileType::kCharDevice || e.type == FileType::kBlockDevice)
    e.rdev = archive_entry_rdev(entry);
  if (e.type == FileType::kSymlink) {
    const char* target = archive_entry_symlink(entry);
    e.target = target ? target : "";
  }
  archive_entry_xattr_reset(entry);
  const char* key;
  const void* value;
  size_t size;
  while (archive_entry_xattr_next(entry, &key, &value, &size) == ARCHIVE_OK)
    e.xattrs.emplace_back(key, std::string(static_cast<const char*>(value), size));
  auto add_acl = [&](const char* name, int type) {
    for (const auto& [k, v] : e.xattrs)
      if (k == name) return;
    std::string acl = encode_posix_acl(entry, type, e.mode);
    if (!acl.empty()) e.xattrs.emplace_back(name, std::move(acl));
  };
  add_acl("system.posix_acl_access", ARCHIVE_ENTRY_ACL_TYPE_ACCESS);
  if (e.type == FileType::kDirectory)
    add_acl("system.posix_acl_default", ARCHIVE_ENTRY_ACL_TYPE_DEFAULT);
  // pax archives may carry an xattr twice (LIBARCHIVE.xattr and
  // SCHILY.xattr); keep one per name.
  std::stable_sort(e.xattrs.begin(), e.xattrs.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  e.xattrs.erase(std::unique(e.xattrs.begin(), e.xattrs.end(),
                             [](const auto& a, const auto& b) { return a.first == b.first; }),
                 e.xattrs.end());
  // With an access ACL that has a mask, the kernel keeps the mask in the
  // mode's group bits (archives record the group:: entry instead).
  for (const auto& [k, v] : e.xattrs) {
    if (k != "system.posix_acl_access") continue;
    for (size_t at = 4; at + 8 <= v.size(); at += 8) {
      uint16_t tag, perm;
      std::memcpy(&tag, v.data() + at, 2);
      std::memcpy(&perm, v.data() + at + 2, 2);
      if (tag == 0x10) e.mode = (e.mode & ~070u) | (static_cast<uint32_t>(perm & 7) << 3);
    }
  }
  return e;
}

}  // namespace

Result<ImportResult> import_tar(Store& store, const std::string& path,
                                const ImportOptions& options) {
  std::unique_ptr<struct archive, ArchiveCloser> archive(archive_read_new());
  archive_read_support_filter_all(archive.get());
  archive_read_support_format_tar(archive.get());
  archive_read_support_format_gnutar(archive.get());
  if (archive_read_open_filename(archive.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot read " + path + ": " + archive_error_string(archive.get()));

  Transaction transaction(&store.objects());
  TRY(transaction.begin());
  TreeBuilder builder;
  Entry implicit_dir;
  implicit_dir.type = FileType::kDirectory;
  implicit_dir.mode = 0755;
  std::map<std::string, size_t> group_of;
  ImportStats stats;
  Progress progress("importing");

  struct archive_entry* header;
  for (;;) {
    int status = archive_read_next_header(archive.get(), &header);
    if (status == ARCHIVE_EOF) break;
    if (status < ARCHIVE_WARN)
      return make_error(ErrorCode::kCorruption,
                        path + " is damaged or truncated: " + archive_error_string(archive.get()));
    const char* raw_name = archive_entry_pathname(header);
    std::string name = raw_name ? raw_name : "";
    std::string what = "archive entry";
    auto parts = TRY(split_relative_path(name, what));
    std::string relative;
    for (const std::string& part : parts) relative += (relative.empty() ? "" : "/") + part;

    if (const char* link = archive_entry_hardlink(header)) {
      auto link_parts = TRY(split_relative_path(link, "hardlink target of '" + name + "'"));
      std::string target;
      for (const std::string& part : link_parts) target += (target.empty() ? "" : "/") + part;
      auto* source = TRY(builder.find(nullptr, target));
      if (!source || source->entry.type == FileType::kDirectory)
        return make_error(ErrorCode::kInvalidArgument,
                          "archive entry '" + escape_path(name) +
                              "' is a hardlink to '" + escape_path(link) +
                              "', which is not an earlier file in the archive");
      if (relative.empty())
        return make_error(ErrorCode::kInvalidArgument, "the archive's root is a hardlink");
      Entry copy = source->entry;
      auto* parent = TRY(builder.parent_for(nullptr, relative, implicit_dir));
      copy.name = parts.back();
      auto& slot = parent->children[parts.back()];
      slot = std::make_unique<TreeBuilder::Node>();
      slot->entry = std::move(copy);
      auto [it, inserted] = group_of.try_emplace(target, builder.hardlinks.size());
      if (inserted) builder.hardlinks.push_back({target});
      builder.hardlinks[it->second].push_back(relative);
      continue;
    }

    auto metadata = entry_metadata(header);
    if (!metadata.ok())
      return make_error(ErrorCode::kUnsupported, "archive entry '" + escape_path(name) + "': " +
                                                     metadata.error().message);
    Entry entry = std::move(metadata).value();
    if (entry.type == FileType::kRegular) {
      uint64_t length = 0;
      std::string display = "/" + relative;
      struct archive* a = archive.get();
      entry.digest = TRY(transaction.add_stream(
          [&](char* buffer, size_t capacity) -> Result<size_t> {
            la_ssize_t n = archive_read_data(a, buffer, capacity);
            if (n < 0)
              return make_error(ErrorCode::kCorruption, path + " is damaged or truncated at " +
                                                            display + ": " + archive_error_string(a));
            return static_cast<size_t>(n);
          },
          &length));
      entry.size = length;
    }
    if (relative.empty()) {
      if (entry.type != FileType::kDirectory)
        return make_error(ErrorCode::kInvalidArgument, "the archive's root is not a directory");
      entry.name = ".";
      entry.digest = builder.root().entry.digest;
      builder.root().entry = entry;
      continue;
    }
    auto* parent = TRY(builder.parent_for(nullptr, relative, implicit_dir));
    entry.name = parts.back();
    auto& slot = parent->children[parts.back()];
    if (slot && slot->entry.type == FileType::kDirectory && entry.type == FileType::kDirectory) {
      slot->entry = entry;  // a directory listed again, or after its contents
    } else {
      slot = std::make_unique<TreeBuilder::Node>();
      slot->entry = std::move(entry);
    }
    ++stats.files_hashed;
    progress.update(stats.files_hashed, transaction.bytes_written());
  }

  for (auto& group : builder.hardlinks) std::sort(group.begin(), group.end());
  std::sort(builder.hardlinks.begin(), builder.hardlinks.end());
  ImportStats written;
  TRY(builder.write(store, transaction, &written));
  written.files_hashed = stats.files_hashed;
  written.bytes_written = transaction.bytes_written();
  Digest commit = TRY(write_commit(store, transaction, builder.root().entry, written,
                                   builder.hardlinks, options));
  written.objects_written = transaction.objects_written();
  return ImportResult{commit, written};
}

}  // namespace goldroot
