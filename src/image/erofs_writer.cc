#include "image/erofs_writer.h"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "image/erofs_compress.h"
#include "image/erofs_format.h"
#include "store/object_store.h"
#include "sys/unique_fd.h"

namespace goldroot {

using namespace erofs;

namespace {

// How many files past the oldest unwritten one the pool may work on.
constexpr size_t kReadAhead = 256;

struct DirEntry {
  std::string name;
  uint32_t inode = 0;
};

// One inode of the image. Hardlinked paths share one.
struct Inode {
  Entry entry;  // its metadata; the name is that of the first path
  std::string path;
  uint32_t nlink = 1;
  uint32_t parent = 0;
  std::vector<DirEntry> entries;     // directories: sorted, "." and ".." included
  std::vector<size_t> block_starts;  // directories: first entry of each block
  uint64_t size = 0;
  std::string xattrs;  // the encoded inline xattr body, empty when none

  DataLayout layout = kFlatPlain;
  std::string inline_data;  // tail after the xattrs, or lcluster indexes
  uint32_t union_word = 0;  // raw_blkaddr, rdev or compressed_blocks
  uint64_t meta_offset = 0;
  uint32_t ino = 0;
  BlockRange data;  // regular files: their blocks

  // With a base layout: the record of the same path, the blocks an
  // unchanged file finds its bytes in, whether blocks outside the inode
  // (directories, symlinks) stay where they were.
  const LayoutRecord* base = nullptr;
  std::optional<BlockRange> base_data;
  bool base_outside = false;
};

uint8_t dirent_type(FileType type) {
  switch (type) {
    case FileType::kRegular:
      return kFtRegular;
    case FileType::kDirectory:
      return kFtDirectory;
    case FileType::kSymlink:
      return kFtSymlink;
    case FileType::kCharDevice:
      return kFtCharDevice;
    case FileType::kBlockDevice:
      return kFtBlockDevice;
    case FileType::kFifo:
      return kFtFifo;
    case FileType::kSocket:
      return kFtSocket;
  }
  return 0;
}

// The inline xattr body: header, then entries whose names drop the prefix
// that their index stands for, each padded to 4 bytes.
Result<std::string> encode_xattrs(const Xattrs& xattrs, const std::string& path) {
  if (xattrs.empty()) return std::string();
  static const struct {
    const char* prefix;
    uint8_t index;
    bool exact;
  } kPrefixes[] = {
      {"system.posix_acl_access", kXattrPosixAclAccess, true},
      {"system.posix_acl_default", kXattrPosixAclDefault, true},
      {"user.", kXattrUser, false},
      {"trusted.", kXattrTrusted, false},
      {"security.", kXattrSecurity, false},
  };
  std::string out(kXattrIbodyHeaderSize, '\0');
  for (const auto& [xattr_name, value] : xattrs) {
    const std::string& name = xattr_name;  // clang 14 cannot capture a structured binding
    const auto* match = std::find_if(std::begin(kPrefixes), std::end(kPrefixes), [&](auto& p) {
      return p.exact ? name == p.prefix : name.starts_with(p.prefix);
    });
    if (match == std::end(kPrefixes))
      return make_error(ErrorCode::kUnsupported,
                        "erofs cannot store the xattr " + name + " of " + escape_path(path));
    std::string suffix = name.substr(std::string_view(match->prefix).size());
    if (suffix.size() > 255 || value.size() > 0xffff)
      return make_error(ErrorCode::kUnsupported, "the xattr " + name + " of " + escape_path(path) +
                                                     " is too large for erofs");
    char header[kXattrEntryHeaderSize];
    header[0] = static_cast<char>(suffix.size());
    header[1] = static_cast<char>(match->index);
    put16(header + 2, static_cast<uint16_t>(value.size()));
    out.append(header, sizeof(header));
    out += suffix;
    out += value;
    out.resize(round_up(out.size(), 4), '\0');
  }
  if ((out.size() - kXattrIbodyHeaderSize) / 4 + 1 > 0xffff)
    return make_error(ErrorCode::kUnsupported, "too many xattrs on " + escape_path(path));
  return out;
}

// Whether a tail of `tail` bytes fits in the inode's block after the inode
// and its xattrs (the kernel will not read inline data across blocks).
bool fits_inline(const Inode& inode, uint64_t tail) {
  return tail > 0 && kExtendedInodeSize + inode.xattrs.size() + tail <= kBlockSize;
}

// A regular file's data, ready to be placed.
struct EncodedFile {
  bool compressed = false;
  std::vector<Extent> extents;
  std::string blocks;  // whole blocks
  std::string tail;    // flat files: the inline tail
};

Status read_object(const ObjectStore& objects, const Inode& inode, std::string* data) {
  UniqueFd fd = TRY(objects.open_file(inode.entry.digest));
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  data->resize(inode.size);
  uint64_t done = 0;
  while (done < inode.size) {
    ssize_t n = ::pread(fd.get(), data->data() + done, inode.size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("reading " + escape_path(inode.path), errno);
    if (n == 0)
      return make_error(ErrorCode::kCorruption, "file object " + inode.entry.digest.hex() +
                                                    " is shorter than " + escape_path(inode.path));
    done += static_cast<uint64_t>(n);
  }
  return {};
}

Result<EncodedFile> encode_file(const ObjectStore& objects, const Inode& inode,
                                Compressor* compressor) {
  EncodedFile encoded;
  if (inode.size == 0) return encoded;
  std::string data;
  TRY(read_object(objects, inode, &data));
  CompressedFile compressed;
  if (compressor && inode.size > kBlockSize && compressor->compress(data, &compressed)) {
    encoded.compressed = true;
    encoded.extents = std::move(compressed.extents);
    encoded.blocks = std::move(compressed.blocks);
    return encoded;
  }
  uint64_t full = inode.size & ~uint64_t{kBlockSize - 1};
  encoded.tail = data.substr(full);
  data.resize(full);
  encoded.blocks = std::move(data);
  if (!encoded.tail.empty() && !fits_inline(inode, encoded.tail.size())) {
    encoded.blocks += encoded.tail;
    encoded.blocks.resize(round_up(encoded.blocks.size(), kBlockSize), '\0');
    encoded.tail.clear();
  }
  return encoded;
}

Status write_at(int fd, const char* data, size_t length, uint64_t offset,
                const std::string& output) {
  while (length > 0) {
    ssize_t n = ::pwrite(fd, data, length, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("writing " + output, errno);
    data += n;
    length -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return {};
}

// Blocks of metadata and directories gathered before they are written: in
// a layout kept put they may sit anywhere past the metadata address.
class Pages {
 public:
  void put(uint64_t offset, std::string_view bytes) {
    while (!bytes.empty()) {
      uint32_t block = static_cast<uint32_t>(offset >> kBlockBits);
      size_t in_block = offset & (kBlockSize - 1);
      size_t length = std::min<size_t>(bytes.size(), kBlockSize - in_block);
      auto [page, added] = pages_.try_emplace(block);
      if (added) page->second.assign(kBlockSize, '\0');
      std::memcpy(page->second.data() + in_block, bytes.data(), length);
      bytes.remove_prefix(length);
      offset += length;
    }
  }

  // Writes runs of consecutive blocks at once.
  Status write(int fd, const std::string& output) const {
    std::string run;
    uint32_t run_first = 0;
    for (const auto& [block, page] : pages_) {
      if (!run.empty() && run_first + run.size() / kBlockSize != block) {
        TRY(write_at(fd, run.data(), run.size(), uint64_t{run_first} << kBlockBits, output));
        run.clear();
      }
      if (run.empty()) run_first = block;
      run += page;
    }
    if (run.empty()) return {};
    return write_at(fd, run.data(), run.size(), uint64_t{run_first} << kBlockBits, output);
  }

 private:
  std::map<uint32_t, std::string> pages_;
};

class ImageWriter {
 public:
  ImageWriter(const Store& store, const std::string& output, const ErofsOptions& options)
      : store_(store), output_(output), options_(options), base_(options.base) {}

  // Set when write() failed because the base could not be used; the
  // caller then writes a fresh layout.
  const std::string& base_failure() const { return base_failure_; }

  Result<ErofsStats> write(const Digest& commit_id) {
    commit_ = commit_id;
    Commit commit = TRY(store_.objects().read_commit(commit_id));
    for (size_t group = 0; group < commit.hardlinks.size(); ++group)
      for (const std::string& path : commit.hardlinks[group]) hardlink_group_[path] = group;
    group_inode_.assign(commit.hardlinks.size(), UINT32_MAX);
    Tree root = TRY(store_.objects().read_tree(commit.root));
    if (root.entries.size() != 1 || root.entries[0].type != FileType::kDirectory)
      return make_error(ErrorCode::kCorruption, "commit " + commit_id.hex() + " has no root");
    TRY(add_inode(root.entries[0], "", 0));
    TRY(add_children(0, ""));

    for (uint32_t i = 0; i < inodes_.size(); ++i) TRY(plan_other(i));

    fd_ = UniqueFd(::open(output_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd_.valid()) return errno_error("creating " + output_, errno);
    if (base_) {
      TRY(claim_from_base());
    } else {
      for (uint32_t i = 0; i < inodes_.size(); ++i) inodes_[i].ino = i + 1;
    }
    TRY(write_file_data());
    TRY(layout_and_write_metadata());
    stats_.used_base = base_ != nullptr;
    return stats_;
  }

 private:
  Status add_inode(const Entry& entry, const std::string& path, uint32_t parent) {
    if (inodes_.size() >= UINT32_MAX - 1)
      return make_error(ErrorCode::kUnsupported, "too many inodes for erofs");
    Inode inode;
    inode.entry = entry;
    inode.path = path;
    inode.parent = parent;
    inode.xattrs = TRY(encode_xattrs(entry.xattrs, path.empty() ? "/" : path));
    if (entry.type == FileType::kDirectory) inode.nlink = 2;
    if (entry.type == FileType::kRegular) inode.size = entry.size;
    if (entry.type == FileType::kSymlink) inode.size = entry.target.size();
    inodes_.push_back(std::move(inode));
    return {};
  }

  Status add_children(uint32_t dir, const std::string& path) {
    Tree tree = TRY(store_.objects().read_tree(inodes_[dir].entry.digest));
    std::vector<DirEntry> entries = {{".", dir}, {"..", inodes_[dir].parent}};
    for (const Entry& child : tree.entries) {
      std::string child_path = path.empty() ? child.name : path + "/" + child.name;
      if (child.name.empty() || child.name.size() > kNameMax)
        return make_error(ErrorCode::kUnsupported,
                          "erofs names are 1 to 255 bytes: " + escape_path(child_path));
      auto group = hardlink_group_.find(child_path);
      bool linked = group != hardlink_group_.end() && child.type != FileType::kDirectory;
      if (linked && group_inode_[group->second] != UINT32_MAX) {
        uint32_t shared = group_inode_[group->second];
        ++inodes_[shared].nlink;
        entries.push_back({child.name, shared});
        continue;
      }
      uint32_t index = static_cast<uint32_t>(inodes_.size());
      TRY(add_inode(child, child_path, dir));
      if (linked) group_inode_[group->second] = index;
      entries.push_back({child.name, index});
      if (child.type == FileType::kDirectory) {
        ++inodes_[dir].nlink;
        TRY(add_children(index, child_path));
      }
    }
    std::sort(entries.begin(), entries.end(),
              [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
    // Entries never straddle blocks; only the last block may be short.
    Inode& inode = inodes_[dir];
    uint64_t used = kBlockSize;
    for (size_t i = 0; i < entries.size(); ++i) {
      uint64_t need = kDirentSize + entries[i].name.size();
      if (used + need > kBlockSize) {
        inode.block_starts.push_back(i);
        used = 0;
      }
      used += need;
    }
    inode.size = (inode.block_starts.size() - 1) * uint64_t{kBlockSize} + used;
    inode.entries = std::move(entries);
    return {};
  }

  Status base_unusable(const std::string& why) {
    base_failure_ = why;
    return make_error(ErrorCode::kCorruption, "the base layout cannot be used: " + why);
  }

  // Frees every block of the base but the superblock, its metadata blocks
  // and what unchanged inodes keep: the data of files whose content,
  // size and xattr bytes are the same (found by path, else by content for
  // renames and copies), and the outside blocks of directories and
  // symlinks that need as many. Inodes of a path the base had keep their
  // inode number; new ones count on from the base's highest.
  Status claim_from_base() {
    const ErofsLayout& base = *base_;
    if (base.meta_blkaddr == 0 || base.meta_blkaddr >= base.total_blocks)
      return base_unusable("its metadata area lies outside the image");
    blocks_ = BlockAllocator(base.total_blocks);
    blocks_.release({1, base.total_blocks - 1});
    meta_.emplace(base.meta_blkaddr, &blocks_);
    for (const BlockRange& range : base.meta_blocks) {
      if (!blocks_.reserve(range)) return base_unusable("its metadata blocks overlap");
      for (uint32_t block = range.first; block < range.end(); ++block) meta_->add_block(block);
    }
    std::unordered_map<std::string_view, size_t> by_path;
    std::unordered_map<Digest, std::vector<size_t>> by_digest;
    uint64_t next_ino = 1;
    for (size_t r = 0; r < base.records.size(); ++r) {
      const LayoutRecord& record = base.records[r];
      by_path.emplace(record.path, r);
      if (record.type == FileType::kRegular && record.blocks.count)
        by_digest[record.digest].push_back(r);
      next_ino = std::max<uint64_t>(next_ino, uint64_t{record.ino} + 1);
    }
    if (next_ino + inodes_.size() > UINT32_MAX) return base_unusable("its inode numbers run out");
    std::vector<bool> claimed(base.records.size());
    auto same_content = [](const Inode& inode, const LayoutRecord& record) {
      return record.type == FileType::kRegular && record.digest == inode.entry.digest &&
             record.size == inode.size && record.xattr_bytes == inode.xattrs.size() &&
             record.blocks.count > 0;
    };
    auto claim_data = [&](Inode& inode, size_t r) {
      if (claimed[r] || !blocks_.reserve(base.records[r].blocks)) return false;
      claimed[r] = true;
      inode.base_data = base.records[r].blocks;
      return true;
    };
    for (Inode& inode : inodes_) {
      auto found = by_path.find(inode.path);
      if (found == by_path.end() || base.records[found->second].type != inode.entry.type) continue;
      const LayoutRecord& record = base.records[found->second];
      inode.base = &record;
      inode.ino = record.ino;
      if (inode.entry.type == FileType::kRegular) {
        if (same_content(inode, record)) claim_data(inode, found->second);
        continue;
      }
      uint64_t count = outside_blocks(inode);
      if (count && count == record.blocks.count && blocks_.reserve(record.blocks)) {
        inode.base_outside = true;
        inode.union_word = record.blocks.first;
      }
    }
    for (Inode& inode : inodes_) {
      if (inode.entry.type != FileType::kRegular || inode.base_data || inode.size == 0) continue;
      auto found = by_digest.find(inode.entry.digest);
      if (found == by_digest.end()) continue;
      for (size_t r : found->second)
        if (same_content(inode, base.records[r]) && claim_data(inode, r)) break;
    }
    for (Inode& inode : inodes_)
      if (!inode.ino) inode.ino = static_cast<uint32_t>(next_ino++);
    return {};
  }

  // Where `count` blocks of a file go: where they were if it is unchanged,
  // else the first hole that holds them, else the end.
  Result<uint32_t> place_blocks(Inode& inode, uint32_t count) {
    if (inode.base_data) {
      if (inode.base_data->count == count) return inode.base_data->first;
      blocks_.release(*inode.base_data);
      inode.base_data.reset();
    }
    if (count == 0) return uint32_t{0};
    return blocks_.allocate(count);
  }

  // Reads and compresses regular files on a pool; the results are written
  // in commit order as soon as they are ready, so the image is reproducible.
  Status write_file_data() {
    std::vector<uint32_t> files;
    for (uint32_t i = 0; i < inodes_.size(); ++i)
      if (inodes_[i].entry.type == FileType::kRegular) files.push_back(i);
    unsigned threads =
        options_.threads ? options_.threads : std::max(1u, std::thread::hardware_concurrency());
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mutex;
    std::condition_variable placed;
    std::vector<std::optional<EncodedFile>> ready(files.size());
    size_t next_to_write = 0;
    Status status;
    auto work = [&] {
      std::optional<Compressor> compressor;
      if (options_.compression == ErofsCompression::kLz4hc)
        compressor.emplace(options_.lz4hc_level);
      for (;;) {
        size_t job = next++;
        if (job >= files.size() || failed) return;
        {
          // Bounded read-ahead: a large file still in work must not let the
          // others pile up the whole image in memory behind it.
          std::unique_lock lock(mutex);
          placed.wait(lock, [&] { return failed || job < next_to_write + kReadAhead; });
          if (failed) return;
        }
        // Called with the mutex held: writes every finished file that is
        // next in order.
        auto drain = [&] {
          size_t before = next_to_write;
          while (!failed && next_to_write < files.size() && ready[next_to_write]) {
            Status written = place_file(inodes_[files[next_to_write]], *ready[next_to_write]);
            ready[next_to_write].reset();
            ++next_to_write;
            if (!written.ok()) {
              failed = true;
              status = written;
            }
          }
          if (next_to_write != before || failed) placed.notify_all();
        };
        Inode& inode = inodes_[files[job]];
        if (inode.size > options_.stream_threshold) {
          // Large files go straight to the image once all before them are.
          std::unique_lock lock(mutex);
          placed.wait(lock, [&] { return failed || next_to_write == job; });
          if (failed) return;
          lock.unlock();
          Status streamed = stream_file(inode, compressor ? &*compressor : nullptr);
          lock.lock();
          if (!streamed.ok() && !failed.exchange(true)) status = streamed;
          ++next_to_write;
          drain();
          placed.notify_all();
          continue;
        }
        auto encoded = encode_file(store_.objects(), inode, compressor ? &*compressor : nullptr);
        std::lock_guard lock(mutex);
        if (!encoded.ok()) {
          if (!failed.exchange(true)) status = encoded.error();
          placed.notify_all();
          return;
        }
        ready[job] = std::move(encoded).value();
        drain();
      }
    };
    std::vector<std::thread> pool;
    for (unsigned i = 1; i < threads; ++i) pool.emplace_back(work);
    work();
    for (std::thread& thread : pool) thread.join();
    return status;
  }

  Status place_file(Inode& inode, EncodedFile& encoded) {
    if (encoded.blocks.size() / kBlockSize > UINT32_MAX)
      return make_error(ErrorCode::kUnsupported, "the image is too large for erofs");
    uint32_t count = static_cast<uint32_t>(encoded.blocks.size() / kBlockSize);
    uint32_t first = TRY(place_blocks(inode, count));
    inode.data = {first, count};
    if (!encoded.blocks.empty())
      TRY(write_at(fd_.get(), encoded.blocks.data(), encoded.blocks.size(),
                   uint64_t{first} << kBlockBits, output_));
    if (encoded.compressed) {
      inode.layout = kCompressedFull;
      inode.union_word = static_cast<uint32_t>(encoded.extents.size());
      inode.inline_data = build_lcluster_indexes(encoded.extents, inode.size, first);
      ++stats_.compressed_files;
    } else {
      inode.layout = encoded.tail.empty() ? kFlatPlain : kFlatInline;
      inode.union_word = encoded.blocks.empty() ? 0 : first;
      inode.inline_data = std::move(encoded.tail);
    }
    return {};
  }

  // Compresses and writes a file holding only a window of it; the bytes are
  // the same as encode_file() then place_file() would give. It goes where
  // it was when unchanged, else into room for its flat size (the most it
  // can take), and gives back what it did not use. Runs while no other
  // file can be placed.
  Status stream_file(Inode& inode, Compressor* compressor) {
    if (inode.base_data) {
      bool fits = false;
      TRY(stream_into(inode, compressor, *inode.base_data, &fits));
      if (fits) return {};
      blocks_.release(*inode.base_data);
      inode.base_data.reset();
    }
    uint64_t most = blocks_for(inode.size);
    if (most > UINT32_MAX) return make_error(ErrorCode::kUnsupported, "the image is too large for erofs");
    BlockRange room{TRY(blocks_.allocate(static_cast<uint32_t>(most))), static_cast<uint32_t>(most)};
    bool fits = false;
    return stream_into(inode, compressor, room, &fits);
  }

  // Streams the file into `room`; sets *fits and gives back the blocks of
  // `room` it did not use, or clears *fits (and keeps `room`) when it
  // needs more.
  Status stream_into(Inode& inode, Compressor* compressor, BlockRange room, bool* fits) {
    uint32_t first = room.first;
    uint32_t used = 0;
    auto take = [&](uint32_t count) -> bool {
      if (used + uint64_t{count} > room.count) return false;
      used += count;
      return true;
    };
    auto done = [&]() -> Status {
      *fits = true;
      inode.data = {first, used};
      blocks_.release({first + used, room.count - used});
      return {};
    };
    UniqueFd fd = TRY(store_.objects().open_file(inode.entry.digest));
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    std::string window;
    uint64_t window_start = 0;
    // Keeps at least one extent's worth of input ahead of `position`.
    auto fill = [&](uint64_t position) -> Status {
      uint64_t window_end = window_start + window.size();
      if (window_end >= inode.size || window_end - position >= kMaxExtentInput) return {};
      window.erase(0, position - window_start);
      window_start = position;
      size_t have = window.size();
      size_t want =
          static_cast<size_t>(std::min<uint64_t>(4 * kMaxExtentInput, inode.size - position));
      window.resize(want);
      while (have < want) {
        ssize_t n = ::pread(fd.get(), window.data() + have, want - have,
                            static_cast<off_t>(position + have));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error("reading " + escape_path(inode.path), errno);
        if (n == 0)
          return make_error(ErrorCode::kCorruption, "file object " + inode.entry.digest.hex() +
                                                        " is shorter than " +
                                                        escape_path(inode.path));
        have += static_cast<size_t>(n);
      }
      return {};
    };
    uint64_t flat_blocks = blocks_for(inode.size);
    if (compressor && inode.size > kBlockSize) {
      std::vector<Extent> extents;
      char block[kBlockSize];
      uint64_t position = 0;
      // Past the room, the attempt goes on unwritten to learn whether the
      // file compresses: if not, its flat copy may still fit.
      bool overflow = false;
      while (position < inode.size && extents.size() < flat_blocks) {
        TRY(fill(position));
        std::string_view rest(window.data() + (position - window_start),
                              window.size() - (position - window_start));
        Extent extent = compressor->compress_extent(rest, position, block);
        if (!overflow && !take(1)) overflow = true;
        if (!overflow)
          TRY(write_at(fd_.get(), block, kBlockSize, uint64_t{first + used - 1} << kBlockBits,
                       output_));
        extents.push_back(extent);
        position += extent.length;
      }
      if (position >= inode.size && extents.size() < flat_blocks) {
        if (overflow) return {};
        inode.layout = kCompressedFull;
        inode.union_word = static_cast<uint32_t>(extents.size());
        inode.inline_data = build_lcluster_indexes(extents, inode.size, first);
        ++stats_.compressed_files;
        return done();
      }
      used = 0;  // no saving: the flat copy goes over the attempt
      window.clear();
      window_start = 0;
    }
    uint64_t full = inode.size & ~uint64_t{kBlockSize - 1};
    if (!take(static_cast<uint32_t>(full / kBlockSize))) return {};
    for (uint64_t position = 0; position < full;) {
      TRY(fill(position));
      uint64_t end = std::min<uint64_t>(window_start + window.size(), full);
      TRY(write_at(fd_.get(), window.data() + (position - window_start), end - position,
                   (uint64_t{first} << kBlockBits) + position, output_));
      position = end;
    }
    TRY(fill(full));
    std::string tail = window.substr(full - window_start);
    inode.union_word = full ? first : 0;
    if (tail.empty() || fits_inline(inode, tail.size())) {
      inode.layout = tail.empty() ? kFlatPlain : kFlatInline;
      inode.inline_data = std::move(tail);
      return done();
    }
    inode.layout = kFlatPlain;
    inode.union_word = first;
    tail.resize(kBlockSize, '\0');
    if (!take(1)) return {};
    TRY(write_at(fd_.get(), tail.data(), kBlockSize, uint64_t{first + used - 1} << kBlockBits,
                 output_));
    return done();
  }

  // Layouts of everything but regular files, whose data is placed already.
  Status plan_other(uint32_t index) {
    Inode& inode = inodes_[index];
    switch (inode.entry.type) {
      case FileType::kRegular:
        return {};
      case FileType::kDirectory: {
        uint64_t tail = inode.size - (inode.block_starts.size() - 1) * uint64_t{kBlockSize};
        inode.layout = fits_inline(inode, tail) && tail < kBlockSize ? kFlatInline : kFlatPlain;
        return {};
      }
      case FileType::kSymlink:
        inode.layout = fits_inline(inode, inode.size) ? kFlatInline : kFlatPlain;
        if (inode.layout == kFlatInline) inode.inline_data = inode.entry.target;
        return {};
      case FileType::kCharDevice:
      case FileType::kBlockDevice: {
        auto rdev = static_cast<dev_t>(inode.entry.rdev);
        inode.union_word = encode_device(::major(rdev), ::minor(rdev));
        return {};
      }
      case FileType::kFifo:
      case FileType::kSocket:
        return {};
    }
    return {};
  }

  // Blocks a directory or symlink keeps outside its inode.
  uint64_t outside_blocks(const Inode& inode) const {
    if (inode.entry.type == FileType::kDirectory)
      return inode.block_starts.size() - (inode.layout == kFlatInline ? 1 : 0);
    if (inode.entry.type == FileType::kSymlink && inode.layout == kFlatPlain && inode.size)
      return 1;
    return 0;
  }

  std::string directory_block(const Inode& dir, size_t block) const {
    size_t begin = dir.block_starts[block];
    size_t end =
        block + 1 < dir.block_starts.size() ? dir.block_starts[block + 1] : dir.entries.size();
    std::string out((end - begin) * kDirentSize, '\0');
    for (size_t i = begin; i < end; ++i) {
      const DirEntry& entry = dir.entries[i];
      const Inode& target = inodes_[entry.inode];
      char* at = out.data() + (i - begin) * kDirentSize;
      put64(at, target.meta_offset >> kInodeSlotBits);
      put16(at + 8, static_cast<uint16_t>(out.size()));
      at[10] = static_cast<char>(dirent_type(target.entry.type));
      out += entry.name;
    }
    return out;
  }

  // Bytes an inode takes in the metadata area: itself, its xattrs, then
  // its inline tail or (8-aligned) its compression indexes.
  uint64_t metadata_size(const Inode& inode) const {
    uint64_t base = kExtendedInodeSize + inode.xattrs.size();
    if (inode.layout == kCompressedFull) return round_up(base, 8) + inode.inline_data.size();
    if (inode.layout != kFlatInline) return base;
    if (inode.entry.type == FileType::kDirectory)
      return base + inode.size - (inode.block_starts.size() - 1) * uint64_t{kBlockSize};
    return base + inode.inline_data.size();
  }

  // Gives each inode its 32-byte-aligned place (nid = offset / 32). An inode
  // that fits in a block never crosses one (the kernel reads inline data
  // within the inode's block); the best-fitting gap left in an earlier
  // block takes it, so inline tails do not waste the ends of blocks. Larger
  // ones start on a fresh block. Returns the area's size in blocks.
  uint64_t place_inodes() {
    constexpr uint32_t kSlot = 1u << kInodeSlotBits;
    std::vector<uint32_t> used = {kSlot};                                // nid 0 stays unused
    std::multimap<uint32_t, uint32_t> gaps = {{kBlockSize - kSlot, 0}};  // free bytes -> block
    auto add_gap = [&](uint32_t block) {
      uint32_t free = kBlockSize - static_cast<uint32_t>(round_up(used[block], kSlot));
      if (free >= kSlot) gaps.emplace(free, block);
    };
    for (Inode& inode : inodes_) {
      uint64_t total = metadata_size(inode);
      auto gap = total <= kBlockSize ? gaps.lower_bound(static_cast<uint32_t>(total)) : gaps.end();
      if (gap != gaps.end()) {
        uint32_t block = gap->second;
        gaps.erase(gap);
        uint32_t start = static_cast<uint32_t>(round_up(used[block], kSlot));
        inode.meta_offset = uint64_t{block} * kBlockSize + start;
        used[block] = start + static_cast<uint32_t>(total);
        add_gap(block);
        continue;
      }
      inode.meta_offset = used.size() * uint64_t{kBlockSize};
      uint64_t blocks = blocks_for(total);
      used.resize(used.size() + blocks, kBlockSize);
      used.back() = static_cast<uint32_t>(total - (blocks - 1) * kBlockSize);
      add_gap(static_cast<uint32_t>(used.size() - 1));
    }
    return used.size();
  }

  // Inode places when keeping a base's layout: first every inode that still
  // fits its old slots (so that nobody takes them), then those that grew
  // into free neighbouring slots, then the rest where they fit best, the
  // root within the superblock's 16-bit reach.
  Status place_inodes_on_base() {
    MetadataAllocator& meta = *meta_;
    (void)meta.claim(0, 1u << kInodeSlotBits);  // nid 0 stays unused, as in a fresh layout
    std::vector<bool> placed(inodes_.size());
    auto keep = [&](size_t i, bool grown) {
      Inode& inode = inodes_[i];
      uint64_t size = metadata_size(inode);
      if (placed[i] || !inode.base || size > UINT32_MAX) return;
      bool fits_old = round_up(size, 32) <= round_up(inode.base->meta_bytes, 32);
      if (fits_old == grown) return;
      if (!meta.claim(inode.base->meta_offset, static_cast<uint32_t>(size))) return;
      inode.meta_offset = inode.base->meta_offset;
      placed[i] = true;
    };
    for (size_t i = 0; i < inodes_.size(); ++i) keep(i, false);
    for (size_t i = 0; i < inodes_.size(); ++i) keep(i, true);
    // A directory whose inline entries outgrew its slots would move, and
    // with its nid every subdirectory's ".." entry would change: a changed
    // metadata block per subdirectory (a package adds one to usr/share/doc,
    // which has a hundred). Its entries go outside instead, in blocks of
    // their own, and the inode stays where it was.
    for (size_t i = 0; i < inodes_.size(); ++i) {
      Inode& inode = inodes_[i];
      if (placed[i] || !inode.base || inode.entry.type != FileType::kDirectory ||
          inode.layout != kFlatInline || inode.nlink <= 2)
        continue;
      const uint64_t inline_blocks = outside_blocks(inode);
      inode.layout = kFlatPlain;
      keep(i, false);
      if (!placed[i]) {
        inode.layout = kFlatInline;
        continue;
      }
      if (inode.base_outside) {  // its full blocks stayed put; now it needs one more
        blocks_.release({inode.union_word, static_cast<uint32_t>(inline_blocks)});
        inode.base_outside = false;
      }
    }
    // New and moved inodes fill gaps only in blocks that change anyway:
    // where an inode went or moved from, or one kept in place changed.
    meta.fill_changed_blocks_only();
    std::vector<bool> stays(base_->records.size());
    for (size_t i = 0; i < inodes_.size(); ++i) {
      const Inode& inode = inodes_[i];
      if (!placed[i]) continue;
      stays[static_cast<size_t>(inode.base - base_->records.data())] = true;
      if (inode.base->digest != inode.entry.digest ||
          inode.base->meta_bytes != metadata_size(inode) || inode.base->size != inode.size)
        meta.mark_changed(inode.meta_offset, static_cast<uint32_t>(metadata_size(inode)));
    }
    for (size_t r = 0; r < base_->records.size(); ++r)
      if (!stays[r]) meta.mark_changed(base_->records[r].meta_offset, base_->records[r].meta_bytes);
    for (size_t i = 0; i < inodes_.size(); ++i) {
      if (placed[i]) continue;
      uint64_t size = metadata_size(inodes_[i]);
      if (size > UINT32_MAX) return make_error(ErrorCode::kUnsupported, "an inode is too large");
      uint64_t limit = i == 0 ? uint64_t{0x10000} << kInodeSlotBits : UINT64_MAX;
      auto offset = meta.allocate(static_cast<uint32_t>(size), limit);
      if (!offset.ok() && i == 0) return base_unusable("the root inode would be out of reach");
      inodes_[i].meta_offset = TRY(std::move(offset));
    }
    return {};
  }

  Status layout_and_write_metadata() {
    uint32_t meta_blkaddr = 0;
    std::vector<BlockRange> meta_blocks;
    if (base_) {
      meta_blkaddr = base_->meta_blkaddr;
      TRY(place_inodes_on_base());
      meta_blocks = meta_->blocks();
    } else {
      uint64_t count = place_inodes();
      if (count > UINT32_MAX) return make_error(ErrorCode::kUnsupported, "too many inodes for erofs");
      meta_blkaddr = TRY(blocks_.allocate(static_cast<uint32_t>(count)));
      meta_blocks = {{meta_blkaddr, static_cast<uint32_t>(count)}};
    }
    if (inodes_[0].meta_offset >> kInodeSlotBits > 0xffff)
      return make_error(ErrorCode::kUnsupported, "the root inode is out of reach");
    for (Inode& inode : inodes_) {
      uint64_t count = outside_blocks(inode);
      if (!count || inode.base_outside) continue;
      if (count > UINT32_MAX) return make_error(ErrorCode::kUnsupported, "a directory is too large");
      inode.union_word = TRY(blocks_.allocate(static_cast<uint32_t>(count)));
    }
    Pages pages;
    uint64_t meta_start = uint64_t{meta_blkaddr} * kBlockSize;
    for (Inode& inode : inodes_) {
      if (inode.entry.type == FileType::kDirectory) fill_directory(inode, pages);
      if (inode.entry.type == FileType::kSymlink && inode.layout == kFlatPlain && inode.size)
        pages.put(uint64_t{inode.union_word} * kBlockSize, inode.entry.target);
      ExtendedInode disk;
      disk.layout = inode.layout;
      disk.xattr_icount =
          inode.xattrs.empty()
              ? 0
              : static_cast<uint16_t>((inode.xattrs.size() - kXattrIbodyHeaderSize) / 4 + 1);
      disk.mode =
          static_cast<uint16_t>(mode_type_bits(inode.entry.type) | (inode.entry.mode & 07777));
      disk.size = inode.size;
      disk.union_word = inode.union_word;
      disk.ino = inode.ino;
      disk.uid = inode.entry.uid;
      disk.gid = inode.entry.gid;
      disk.mtime_sec = inode.entry.mtime_sec;
      disk.mtime_nsec = inode.entry.mtime_nsec;
      disk.nlink = inode.nlink;
      std::string bytes(metadata_size(inode), '\0');
      disk.encode(bytes.data());
      std::memcpy(bytes.data() + kExtendedInodeSize, inode.xattrs.data(), inode.xattrs.size());
      uint64_t data_at = kExtendedInodeSize + inode.xattrs.size();
      if (inode.layout == kCompressedFull) data_at = round_up(data_at, 8);
      std::memcpy(bytes.data() + data_at, inode.inline_data.data(), inode.inline_data.size());
      pages.put(meta_start + inode.meta_offset, bytes);
    }
    TRY(pages.write(fd_.get(), output_));
    uint32_t total = blocks_.trim();

    SuperBlock super;
    super.root_nid = static_cast<uint16_t>(inodes_[0].meta_offset >> kInodeSlotBits);
    super.inodes = inodes_.size();
    super.blocks = total;
    super.meta_blkaddr = meta_blkaddr;
    // Named by the commit, so that one commit always gives the same bytes.
    std::memcpy(super.uuid, commit_.bytes.data(), sizeof(super.uuid));
    char block[kSuperBlockSize];
    super.encode(block);
    TRY(write_at(fd_.get(), block, sizeof(block), kSuperBlockOffset, output_));
    if (::ftruncate(fd_.get(), static_cast<off_t>(uint64_t{total} * kBlockSize)) != 0)
      return errno_error("writing " + output_, errno);
    stats_.inodes = inodes_.size();
    stats_.blocks = total;
    stats_.layout = layout_of(meta_blkaddr, std::move(meta_blocks), total);
    return {};
  }

  ErofsLayout layout_of(uint32_t meta_blkaddr, std::vector<BlockRange> meta_blocks,
                        uint32_t total) const {
    ErofsLayout layout;
    layout.block_size = kBlockSize;
    layout.encoding = erofs_encoding(options_);
    layout.meta_blkaddr = meta_blkaddr;
    layout.total_blocks = total;
    layout.meta_blocks = std::move(meta_blocks);
    layout.records.reserve(inodes_.size());
    for (const Inode& inode : inodes_) {
      LayoutRecord record;
      record.path = inode.path;
      record.type = inode.entry.type;
      record.digest = inode.entry.digest;
      record.size = inode.size;
      record.xattr_bytes = static_cast<uint32_t>(inode.xattrs.size());
      record.meta_offset = inode.meta_offset;
      record.meta_bytes = static_cast<uint32_t>(metadata_size(inode));
      if (inode.entry.type == FileType::kRegular)
        record.blocks = inode.data;
      else if (uint64_t count = outside_blocks(inode))
        record.blocks = {inode.union_word, static_cast<uint32_t>(count)};
      record.ino = inode.ino;
      layout.records.push_back(std::move(record));
    }
    return layout;
  }

  // Full directory blocks go outside the inode; the short last one inline
  // when it fits, else padded in its own block.
  void fill_directory(Inode& dir, Pages& pages) {
    size_t blocks = dir.block_starts.size();
    for (size_t b = 0; b < blocks; ++b) {
      std::string data = directory_block(dir, b);
      if (b + 1 == blocks && dir.layout == kFlatInline)
        dir.inline_data = std::move(data);
      else
        pages.put((uint64_t{dir.union_word} + b) * kBlockSize, data);
    }
  }

  const Store& store_;
  std::string output_;
  ErofsOptions options_;
  Digest commit_;
  std::vector<Inode> inodes_;
  std::map<std::string, size_t> hardlink_group_;
  std::vector<uint32_t> group_inode_;
  const ErofsLayout* base_;
  std::string base_failure_;
  UniqueFd fd_;
  BlockAllocator blocks_{1};  // block 0 holds the superblock
  std::optional<MetadataAllocator> meta_;  // with a base
  ErofsStats stats_;
};

}  // namespace

std::string erofs_encoding(const ErofsOptions& options) {
  if (options.compression == ErofsCompression::kNone) return "none";
  return "lz4hc:" + std::to_string(options.lz4hc_level);
}

Result<ErofsStats> write_erofs(const Store& store, const Digest& commit, const std::string& output,
                               const ErofsOptions& options) {
  std::string note;
  if (options.base) {
    const ErofsLayout& base = *options.base;
    if (base.block_size != kBlockSize) {
      note = "it has " + std::to_string(base.block_size) + "-byte blocks";
    } else if (base.encoding != erofs_encoding(options)) {
      note = "it was encoded as " + base.encoding + ", this image as " + erofs_encoding(options);
    } else {
      ImageWriter writer(store, output, options);
      auto written = writer.write(commit);
      if (written.ok() || writer.base_failure().empty()) return written;
      note = writer.base_failure();
    }
  }
  ErofsOptions fresh = options;
  fresh.base = nullptr;
  ImageWriter writer(store, output, fresh);
  ErofsStats stats = TRY(writer.write(commit));
  stats.base_note = note;
  return stats;
}

}  // namespace goldroot
