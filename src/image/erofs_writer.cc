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
  for (const auto& [name, value] : xattrs) {
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

class ImageWriter {
 public:
  ImageWriter(const Store& store, const std::string& output, const ErofsOptions& options)
      : store_(store), output_(output), options_(options) {}

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

    fd_ = UniqueFd(::open(output_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd_.valid()) return errno_error("creating " + output_, errno);
    next_block_ = 1;  // block 0 holds the superblock
    TRY(write_file_data());
    for (uint32_t i = 0; i < inodes_.size(); ++i) TRY(plan_other(i));
    TRY(layout_and_write_metadata());
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
    uint32_t first = next_block_;
    TRY(reserve_blocks(encoded.blocks.size() / kBlockSize));
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

  // Compresses and writes a file at the end of the image holding only a
  // window of it; the bytes are the same as encode_file() then place_file()
  // would give. Runs while no other file can be placed.
  Status stream_file(Inode& inode, Compressor* compressor) {
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
    uint32_t first = next_block_;
    uint64_t flat_blocks = blocks_for(inode.size);
    if (compressor && inode.size > kBlockSize) {
      std::vector<Extent> extents;
      char block[kBlockSize];
      uint64_t position = 0;
      while (position < inode.size && extents.size() < flat_blocks) {
        TRY(fill(position));
        std::string_view rest(window.data() + (position - window_start),
                              window.size() - (position - window_start));
        Extent extent = compressor->compress_extent(rest, position, block);
        TRY(reserve_blocks(1));
        TRY(write_at(fd_.get(), block, kBlockSize, uint64_t{next_block_ - 1} << kBlockBits,
                     output_));
        extents.push_back(extent);
        position += extent.length;
      }
      if (position >= inode.size && extents.size() < flat_blocks) {
        inode.layout = kCompressedFull;
        inode.union_word = static_cast<uint32_t>(extents.size());
        inode.inline_data = build_lcluster_indexes(extents, inode.size, first);
        ++stats_.compressed_files;
        return {};
      }
      next_block_ = first;  // no saving: the flat copy goes over the attempt
      window.clear();
      window_start = 0;
    }
    uint64_t full = inode.size & ~uint64_t{kBlockSize - 1};
    TRY(reserve_blocks(full / kBlockSize));
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
      return {};
    }
    inode.layout = kFlatPlain;
    inode.union_word = first;
    tail.resize(kBlockSize, '\0');
    TRY(reserve_blocks(1));
    return write_at(fd_.get(), tail.data(), kBlockSize, uint64_t{next_block_ - 1} << kBlockBits,
                    output_);
  }

  Status reserve_blocks(uint64_t count) {
    if (next_block_ + count > UINT32_MAX)
      return make_error(ErrorCode::kUnsupported, "the image is too large for erofs");
    next_block_ += static_cast<uint32_t>(count);
    return {};
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

  Status layout_and_write_metadata() {
    uint64_t meta_blocks = place_inodes();
    if (inodes_[0].meta_offset >> kInodeSlotBits > 0xffff)
      return make_error(ErrorCode::kUnsupported, "the root inode is out of reach");
    uint32_t meta_blkaddr = next_block_;
    TRY(reserve_blocks(meta_blocks));
    for (Inode& inode : inodes_) {
      uint64_t count = outside_blocks(inode);
      if (!count) continue;
      inode.union_word = next_block_;
      TRY(reserve_blocks(count));
    }
    std::string meta(meta_blocks * kBlockSize, '\0');
    std::string outside((next_block_ - meta_blkaddr - meta_blocks) * uint64_t{kBlockSize}, '\0');
    uint64_t outside_base = uint64_t{meta_blkaddr + meta_blocks} * kBlockSize;
    for (uint32_t i = 0; i < inodes_.size(); ++i) {
      Inode& inode = inodes_[i];
      if (inode.entry.type == FileType::kDirectory) fill_directory(inode, outside, outside_base);
      if (inode.entry.type == FileType::kSymlink && inode.layout == kFlatPlain && inode.size)
        outside.replace(uint64_t{inode.union_word} * kBlockSize - outside_base, inode.size,
                        inode.entry.target);
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
      disk.ino = i + 1;
      disk.uid = inode.entry.uid;
      disk.gid = inode.entry.gid;
      disk.mtime_sec = inode.entry.mtime_sec;
      disk.mtime_nsec = inode.entry.mtime_nsec;
      disk.nlink = inode.nlink;
      char* at = meta.data() + inode.meta_offset;
      disk.encode(at);
      std::memcpy(at + kExtendedInodeSize, inode.xattrs.data(), inode.xattrs.size());
      uint64_t data_at = kExtendedInodeSize + inode.xattrs.size();
      if (inode.layout == kCompressedFull) data_at = round_up(data_at, 8);
      std::memcpy(at + data_at, inode.inline_data.data(), inode.inline_data.size());
    }
    TRY(write_at(fd_.get(), meta.data(), meta.size(), uint64_t{meta_blkaddr} * kBlockSize,
                 output_));
    TRY(write_at(fd_.get(), outside.data(), outside.size(), outside_base, output_));

    SuperBlock super;
    super.root_nid = static_cast<uint16_t>(inodes_[0].meta_offset >> kInodeSlotBits);
    super.inodes = inodes_.size();
    super.blocks = next_block_;
    super.meta_blkaddr = meta_blkaddr;
    // Named by the commit, so that one commit always gives the same bytes.
    std::memcpy(super.uuid, commit_.bytes.data(), sizeof(super.uuid));
    char block[kSuperBlockSize];
    super.encode(block);
    TRY(write_at(fd_.get(), block, sizeof(block), kSuperBlockOffset, output_));
    if (::ftruncate(fd_.get(), static_cast<off_t>(uint64_t{next_block_} * kBlockSize)) != 0)
      return errno_error("writing " + output_, errno);
    stats_.inodes = inodes_.size();
    stats_.blocks = next_block_;
    return {};
  }

  // Full directory blocks go outside the inode; the short last one inline
  // when it fits, else padded in its own block.
  void fill_directory(Inode& dir, std::string& outside, uint64_t outside_base) {
    size_t blocks = dir.block_starts.size();
    for (size_t b = 0; b < blocks; ++b) {
      std::string data = directory_block(dir, b);
      if (b + 1 == blocks && dir.layout == kFlatInline) {
        dir.inline_data = std::move(data);
      } else {
        uint64_t at = (uint64_t{dir.union_word} + b) * kBlockSize - outside_base;
        outside.replace(at, data.size(), data);
      }
    }
  }

  const Store& store_;
  std::string output_;
  ErofsOptions options_;
  Digest commit_;
  std::vector<Inode> inodes_;
  std::map<std::string, size_t> hardlink_group_;
  std::vector<uint32_t> group_inode_;
  UniqueFd fd_;
  uint32_t next_block_ = 1;
  ErofsStats stats_;
};

}  // namespace

Result<ErofsStats> write_erofs(const Store& store, const Digest& commit, const std::string& output,
                               const ErofsOptions& options) {
  ImageWriter writer(store, output, options);
  return writer.write(commit);
}

}  // namespace goldroot
