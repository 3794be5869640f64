#include "verity/update_patch.h"

#include <zstd.h>

#include <cstring>
#include <memory>

namespace goldroot {
namespace {

constexpr char kMagic[8] = {'G', 'R', 'P', 'A', 'T', 'C', 'H', '1'};
constexpr size_t kRootPrefix = 16;  // bytes of the new root in the head
// The largest window a frame needs: its reference and what it makes.
constexpr int kWindowLog = 27;
static_assert((PatchHeader::kMaxFrameBlocks + PatchHeader::kMaxReferenceBlocks) *
                  PatchHeader::kBlockSize <=
              (uint64_t{1} << kWindowLog));

void put_u32(std::string* out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(value >> (8 * i)));
}
void put_u64(std::string* out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(value >> (8 * i)));
}
void put_runs(std::string* out, const std::vector<PatchRun>& runs) {
  put_u32(out, static_cast<uint32_t>(runs.size()));
  for (const PatchRun& run : runs) {
    put_u64(out, run.first);
    put_u32(out, run.count);
  }
}

// Reads little-endian fields; a read past the end sets `short_`.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  uint64_t u64() { return take(8); }
  uint32_t u32() { return static_cast<uint32_t>(take(4)); }
  bool short_read() const { return short_; }
  size_t remaining() const { return data_.size() - at_; }

 private:
  uint64_t take(int bytes) {
    if (remaining() < static_cast<size_t>(bytes)) {
      short_ = true;
      at_ = data_.size();
      return 0;
    }
    uint64_t value = 0;
    for (int i = 0; i < bytes; ++i)
      value |= uint64_t{static_cast<unsigned char>(data_[at_ + i])} << (8 * i);
    at_ += bytes;
    return value;
  }
  std::string_view data_;
  size_t at_ = 0;
  bool short_ = false;
};

Error bad_patch(const std::string& why) {
  return make_error(ErrorCode::kCorruption, "the update patch is not usable: " + why);
}

// Runs of `reader`, each inside [0, device_blocks); nullopt-like failure
// through `why`.
bool read_runs(Reader* reader, uint64_t device_blocks, uint64_t max_blocks,
               std::vector<PatchRun>* runs, std::string* why) {
  uint32_t count = reader->u32();
  if (reader->short_read() || count > reader->remaining() / 12) {
    *why = "its header is cut short";
    return false;
  }
  uint64_t total = 0;
  runs->reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    PatchRun run{reader->u64(), reader->u32()};
    if (run.count == 0 || run.first >= device_blocks || run.count > device_blocks - run.first) {
      *why = "a block run lies outside its image";
      return false;
    }
    total += run.count;
    if (total > max_blocks) {
      *why = "a frame is larger than a frame may be";
      return false;
    }
    runs->push_back(run);
  }
  return true;
}

}  // namespace

uint64_t run_blocks(const std::vector<PatchRun>& runs) {
  uint64_t total = 0;
  for (const PatchRun& run : runs) total += run.count;
  return total;
}

std::string patch_suffix(const Digest& old_root) { return ".patch-" + old_root.hex(); }

std::string serialize_patch_header(const PatchHeader& header) {
  std::string body;
  put_u64(&body, header.old_data_blocks);
  put_u64(&body, header.new_data_blocks);
  put_u32(&body, static_cast<uint32_t>(header.frames.size()));
  for (const PatchFrame& frame : header.frames) {
    put_u64(&body, frame.offset);
    put_u64(&body, frame.compressed_size);
    put_runs(&body, frame.targets);
    put_runs(&body, frame.references);
  }
  std::string out(kMagic, sizeof kMagic);
  put_u64(&out, PatchHeader::kHeadSize + body.size());
  out.append(reinterpret_cast<const char*>(header.old_root.bytes.data()), 32);
  out.append(reinterpret_cast<const char*>(header.new_root.bytes.data()), kRootPrefix);
  return out + body;
}

Result<uint64_t> patch_header_size(std::string_view head) {
  if (head.size() < PatchHeader::kHeadSize || std::memcmp(head.data(), kMagic, sizeof kMagic) != 0)
    return bad_patch("it does not begin as a goldroot patch");
  uint64_t size = Reader(head.substr(8)).u64();
  if (size < PatchHeader::kHeadSize + 20 || size > PatchHeader::kMaxHeaderBytes)
    return bad_patch("its header size is out of range");
  return size;
}

Result<PatchHeader> parse_patch_header(std::string_view data, const Digest& old_root,
                                       uint64_t old_device_blocks, const Digest& new_root,
                                       uint64_t new_device_blocks) {
  uint64_t size = TRY(patch_header_size(data));
  if (data.size() < size) return bad_patch("its header is cut short");
  PatchHeader header;
  std::memcpy(header.old_root.bytes.data(), data.data() + 16, 32);
  if (header.old_root != old_root) return bad_patch("it is made for another old image");
  if (std::memcmp(data.data() + 48, new_root.bytes.data(), kRootPrefix) != 0)
    return bad_patch("it is made for another new image");
  header.new_root = new_root;
  Reader reader(data.substr(PatchHeader::kHeadSize, size - PatchHeader::kHeadSize));
  header.old_data_blocks = reader.u64();
  header.new_data_blocks = reader.u64();
  uint32_t frames = reader.u32();
  if (reader.short_read() || header.old_data_blocks >= old_device_blocks ||
      header.new_data_blocks >= new_device_blocks || frames > reader.remaining() / 24)
    return bad_patch("its header does not fit the images");
  std::string why;
  uint64_t previous_end = size;
  for (uint32_t i = 0; i < frames; ++i) {
    PatchFrame frame;
    frame.offset = reader.u64();
    frame.compressed_size = reader.u64();
    if (reader.short_read() || frame.offset < previous_end || frame.compressed_size == 0 ||
        frame.compressed_size > ZSTD_compressBound(PatchHeader::kMaxFrameBlocks * PatchHeader::kBlockSize))
      return bad_patch("a frame lies outside the file");
    previous_end = frame.offset + frame.compressed_size;
    if (!read_runs(&reader, new_device_blocks, PatchHeader::kMaxFrameBlocks, &frame.targets, &why) ||
        !read_runs(&reader, old_device_blocks, PatchHeader::kMaxReferenceBlocks, &frame.references,
                   &why))
      return bad_patch(why);
    if (frame.targets.empty()) return bad_patch("a frame makes no block");
    header.frames.push_back(std::move(frame));
  }
  if (reader.short_read() || reader.remaining() != 0) return bad_patch("its header is malformed");
  return header;
}

Result<std::string> compress_patch_frame(std::string_view target, std::string_view reference,
                                         int level) {
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> context(ZSTD_createCCtx(), ZSTD_freeCCtx);
  if (!context) return make_error(ErrorCode::kIo, "zstd could not allocate a compression context");
  int window = 10;
  while (window < kWindowLog && (uint64_t{1} << window) < target.size() + reference.size()) ++window;
  ZSTD_CCtx_setParameter(context.get(), ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(context.get(), ZSTD_c_windowLog, window);
  ZSTD_CCtx_setParameter(context.get(), ZSTD_c_checksumFlag, 0);
  if (!reference.empty()) {
    ZSTD_CCtx_setParameter(context.get(), ZSTD_c_enableLongDistanceMatching, 1);
    size_t referenced = ZSTD_CCtx_refPrefix(context.get(), reference.data(), reference.size());
    if (ZSTD_isError(referenced))
      return make_error(ErrorCode::kIo, std::string("zstd: ") + ZSTD_getErrorName(referenced));
  }
  std::string out(ZSTD_compressBound(target.size()), '\0');
  size_t written =
      ZSTD_compress2(context.get(), out.data(), out.size(), target.data(), target.size());
  if (ZSTD_isError(written))
    return make_error(ErrorCode::kIo, std::string("zstd: ") + ZSTD_getErrorName(written));
  out.resize(written);
  return out;
}

Status decompress_patch_frame(std::string_view compressed, std::string_view reference, char* out,
                              size_t out_size) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> context(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!context) return make_error(ErrorCode::kIo, "zstd could not allocate a decompression context");
  ZSTD_DCtx_setParameter(context.get(), ZSTD_d_windowLogMax, kWindowLog);
  if (!reference.empty()) {
    size_t referenced = ZSTD_DCtx_refPrefix(context.get(), reference.data(), reference.size());
    if (ZSTD_isError(referenced)) return bad_patch(std::string("zstd: ") + ZSTD_getErrorName(referenced));
  }
  size_t made =
      ZSTD_decompressDCtx(context.get(), out, out_size, compressed.data(), compressed.size());
  if (ZSTD_isError(made)) return bad_patch(std::string("a frame does not decompress: ") + ZSTD_getErrorName(made));
  if (made != out_size) return bad_patch("a frame makes fewer bytes than its blocks");
  return {};
}

}  // namespace goldroot
