#include "image/erofs_layout.h"

#include <algorithm>
#include <cstring>

namespace goldroot::erofs {

namespace {

constexpr std::string_view kMagic = "goldroot-erofs-layout 1\n";

class Writer {
 public:
  void u8(uint8_t value) { out_.push_back(static_cast<char>(value)); }
  void u32(uint32_t value) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>(value >> (8 * i)));
  }
  void u64(uint64_t value) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>(value >> (8 * i)));
  }
  void bytes(std::string_view value) {
    u32(static_cast<uint32_t>(value.size()));
    out_ += value;
  }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

// Reads what Writer wrote; any read past the end makes ok() false and
// returns zeros, so the parser checks once at the end of each record.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool ok() const { return ok_; }
  uint64_t remaining() const { return data_.size() - at_; }
  uint8_t u8() { return static_cast<uint8_t>(take(1)[0]); }
  uint32_t u32() { return static_cast<uint32_t>(little(4)); }
  uint64_t u64() { return little(8); }
  std::string_view raw(size_t length) {
    if (!ok_ || length > remaining()) {
      ok_ = false;
      return std::string_view("\0\0\0\0\0\0\0\0", 8).substr(0, std::min<size_t>(length, 8));
    }
    std::string_view out = data_.substr(at_, length);
    at_ += length;
    return out;
  }
  std::string_view bytes() { return raw(u32()); }

 private:
  std::string_view take(size_t length) {
    std::string_view out = raw(length);
    return out.size() == length ? out : std::string_view("\0\0\0\0\0\0\0\0", 8);
  }
  uint64_t little(int length) {
    std::string_view raw_bytes = take(static_cast<size_t>(length));
    uint64_t value = 0;
    for (int i = 0; i < length; ++i)
      value |= uint64_t{static_cast<uint8_t>(raw_bytes[static_cast<size_t>(i)])} << (8 * i);
    return value;
  }

  std::string_view data_;
  size_t at_ = 0;
  bool ok_ = true;
};

Error corrupt(const std::string& why) {
  return make_error(ErrorCode::kCorruption, "the erofs layout is damaged: " + why);
}

}  // namespace

std::string ErofsLayout::serialize() const {
  Writer writer;
  writer.out() += kMagic;
  writer.u32(block_size);
  writer.bytes(encoding);
  writer.u32(meta_blkaddr);
  writer.u32(total_blocks);
  writer.u32(static_cast<uint32_t>(meta_blocks.size()));
  for (const BlockRange& range : meta_blocks) {
    writer.u32(range.first);
    writer.u32(range.count);
  }
  writer.u64(records.size());
  for (const LayoutRecord& record : records) {
    writer.bytes(record.path);
    writer.u8(static_cast<uint8_t>(record.type));
    writer.out().append(reinterpret_cast<const char*>(record.digest.bytes.data()),
                        record.digest.bytes.size());
    writer.u64(record.size);
    writer.u32(record.xattr_bytes);
    writer.u64(record.meta_offset);
    writer.u32(record.meta_bytes);
    writer.u32(record.blocks.first);
    writer.u32(record.blocks.count);
    writer.u32(record.ino);
  }
  Digest sum = Sha256::of(writer.out());
  writer.out().append(reinterpret_cast<const char*>(sum.bytes.data()), sum.bytes.size());
  return std::move(writer.out());
}

Result<ErofsLayout> ErofsLayout::parse(std::string_view data) {
  if (data.size() < kMagic.size() + 32 || !data.starts_with(kMagic))
    return corrupt("it does not start as a layout file does");
  std::string_view body = data.substr(0, data.size() - 32);
  Digest sum = Sha256::of(body);
  if (std::memcmp(sum.bytes.data(), data.data() + body.size(), 32) != 0)
    return corrupt("its checksum does not match");
  Reader reader(body.substr(kMagic.size()));
  ErofsLayout layout;
  layout.block_size = reader.u32();
  layout.encoding = std::string(reader.bytes());
  layout.meta_blkaddr = reader.u32();
  layout.total_blocks = reader.u32();
  uint32_t ranges = reader.u32();
  if (!reader.ok() || ranges > reader.remaining() / 8) return corrupt("its header is cut short");
  for (uint32_t i = 0; i < ranges; ++i) {
    BlockRange range{reader.u32(), reader.u32()};
    if (range.count == 0 || range.first < layout.meta_blkaddr ||
        uint64_t{range.first} + range.count > layout.total_blocks)
      return corrupt("a metadata block lies outside the image");
    layout.meta_blocks.push_back(range);
  }
  uint64_t count = reader.u64();
  if (!reader.ok() || count > reader.remaining() / 60) return corrupt("its record count is wrong");
  layout.records.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    LayoutRecord record;
    record.path = std::string(reader.bytes());
    record.type = static_cast<FileType>(reader.u8());
    std::memcpy(record.digest.bytes.data(), reader.raw(32).data(), reader.ok() ? 32 : 0);
    record.size = reader.u64();
    record.xattr_bytes = reader.u32();
    record.meta_offset = reader.u64();
    record.meta_bytes = reader.u32();
    record.blocks.first = reader.u32();
    record.blocks.count = reader.u32();
    record.ino = reader.u32();
    if (!reader.ok()) return corrupt("a record is cut short");
    if (record.blocks.count && (record.blocks.first == 0 ||
                                uint64_t{record.blocks.first} + record.blocks.count >
                                    layout.total_blocks))
      return corrupt("the blocks of " + escape_path(record.path) + " lie outside the image");
    layout.records.push_back(std::move(record));
  }
  if (reader.remaining() != 0) return corrupt("it has bytes after its last record");
  return layout;
}

Result<uint32_t> BlockAllocator::allocate(uint32_t count, uint32_t minimum) {
  for (auto hole = holes_.begin(); hole != holes_.end(); ++hole) {
    uint32_t first = hole->first, length = hole->second;
    if (first + length <= minimum) continue;
    uint32_t start = std::max(first, minimum);
    if (uint64_t{start} + count > uint64_t{first} + length) continue;
    holes_.erase(hole);
    if (start > first) holes_[first] = start - first;
    if (start + count < first + length) holes_[start + count] = first + length - (start + count);
    return start;
  }
  // Appending takes over a hole that ends the image, so that a run given
  // back at the end (a streamed file that needed less) is used next.
  uint32_t start = std::max(end_, minimum);
  if (!holes_.empty()) {
    auto last = std::prev(holes_.end());
    if (last->first + last->second == end_ && end_ >= minimum) {
      uint32_t first = last->first;
      start = std::max(first, minimum);
      holes_.erase(last);
      if (start > first) holes_[first] = start - first;
    }
  }
  if (uint64_t{start} + count > UINT32_MAX)
    return make_error(ErrorCode::kUnsupported, "the image is too large for erofs");
  if (start > end_) release({end_, start - end_});
  end_ = start + count;
  return start;
}

void BlockAllocator::release(BlockRange range) {
  if (range.count == 0) return;
  uint32_t first = range.first, end = range.end();
  auto next = holes_.lower_bound(first);
  if (next != holes_.begin()) {
    auto previous = std::prev(next);
    if (previous->first + previous->second == first) {
      first = previous->first;
      holes_.erase(previous);
    }
  }
  if (next != holes_.end() && next->first == end) {
    end = next->first + next->second;
    holes_.erase(next);
  }
  holes_[first] = end - first;
}

bool BlockAllocator::reserve(BlockRange range) {
  if (range.count == 0) return true;
  auto hole = holes_.upper_bound(range.first);
  if (hole == holes_.begin()) return false;
  --hole;
  uint32_t first = hole->first, end = hole->first + hole->second;
  if (range.first < first || range.end() > end) return false;
  holes_.erase(hole);
  if (range.first > first) holes_[first] = range.first - first;
  if (range.end() < end) holes_[range.end()] = end - range.end();
  return true;
}

uint32_t BlockAllocator::trim() {
  while (!holes_.empty()) {
    auto last = std::prev(holes_.end());
    if (last->first + last->second != end_) break;
    end_ = last->first;
    holes_.erase(last);
  }
  return end_;
}

uint64_t BlockAllocator::free_blocks() const {
  uint64_t total = 0;
  for (const auto& [first, count] : holes_) total += count;
  return total;
}

void MetadataAllocator::add_block(uint32_t block) { used_.try_emplace(block); }

void MetadataAllocator::mark(uint64_t offset, uint32_t bytes) {
  uint64_t first_slot = offset / kSlotBytes;
  uint64_t slots = (uint64_t{bytes} + kSlotBytes - 1) / kSlotBytes;
  for (uint64_t slot = first_slot; slot < first_slot + slots; ++slot)
    used_[meta_blkaddr_ + static_cast<uint32_t>(slot / kSlotsPerBlock)].set(slot % kSlotsPerBlock);
}

bool MetadataAllocator::claim(uint64_t offset, uint32_t bytes) {
  if (runs_built_ || bytes == 0 || offset % kSlotBytes) return false;
  uint64_t in_block = offset % 4096;
  if (bytes <= 4096 ? in_block + bytes > 4096 : in_block != 0) return false;
  uint64_t first_slot = offset / kSlotBytes;
  uint64_t slots = (uint64_t{bytes} + kSlotBytes - 1) / kSlotBytes;
  for (uint64_t slot = first_slot; slot < first_slot + slots; ++slot) {
    uint64_t block = meta_blkaddr_ + slot / kSlotsPerBlock;
    auto found = used_.find(static_cast<uint32_t>(block));
    if (block > UINT32_MAX || found == used_.end() || found->second.test(slot % kSlotsPerBlock))
      return false;
  }
  mark(offset, bytes);
  return true;
}

void MetadataAllocator::mark_changed(uint64_t offset, uint32_t bytes) {
  if (bytes == 0) return;
  uint64_t first = meta_blkaddr_ + offset / 4096;
  uint64_t last = meta_blkaddr_ + (offset + bytes - 1) / 4096;
  for (uint64_t block = first; block <= last && block <= UINT32_MAX; ++block)
    changed_.insert(static_cast<uint32_t>(block));
}

void MetadataAllocator::build_runs() {
  runs_built_ = true;
  for (const auto& [block, used] : used_) {
    if (changed_only_ && !changed_.count(block)) continue;
    uint32_t slot = 0;
    while (slot < kSlotsPerBlock) {
      if (used.test(slot)) {
        ++slot;
        continue;
      }
      uint32_t start = slot;
      while (slot < kSlotsPerBlock && !used.test(slot)) ++slot;
      runs_.emplace((slot - start) * kSlotBytes,
                    uint64_t{block - meta_blkaddr_} * 4096 + start * kSlotBytes);
    }
  }
}

Result<uint64_t> MetadataAllocator::allocate(uint32_t bytes, uint64_t limit) {
  if (!runs_built_) build_runs();
  uint32_t need = (bytes + kSlotBytes - 1) / kSlotBytes * kSlotBytes;
  if (bytes <= 4096) {
    auto run = runs_.lower_bound(need);
    if (limit != UINT64_MAX)
      while (run != runs_.end() && run->second + need > limit) ++run;
    if (run != runs_.end()) {
      uint32_t length = run->first;
      uint64_t offset = run->second;
      runs_.erase(run);
      if (length > need) runs_.emplace(length - need, offset + need);
      mark(offset, bytes);
      return offset;
    }
  }
  uint32_t count = (bytes + 4095) / 4096;
  uint32_t block = TRY(blocks_->allocate(count, meta_blkaddr_));
  for (uint32_t i = 0; i < count; ++i) add_block(block + i);
  uint64_t offset = uint64_t{block - meta_blkaddr_} * 4096;
  if (offset + need > limit)
    return make_error(ErrorCode::kUnsupported, "an inode is out of the superblock's reach");
  mark(offset, bytes);
  uint32_t tail = need - (count - 1) * 4096;
  if (tail < 4096) runs_.emplace(4096 - tail, offset + (count - 1) * 4096 + tail);
  return offset;
}

std::vector<BlockRange> MetadataAllocator::blocks() const {
  std::vector<BlockRange> out;
  for (const auto& [block, used] : used_) {
    if (!out.empty() && out.back().end() == block) ++out.back().count;
    else out.push_back({block, 1});
  }
  return out;
}

}  // namespace goldroot::erofs
