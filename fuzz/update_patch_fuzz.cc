// libFuzzer: an update patch as goldroot-blockd reads it from the server
// (verity/update_patch.h): its head, its header, and each frame's zstd
// bytes decompressed against a reference. Anyone on the wire can answer
// the request, so every input must end in a parsed header or one sentence,
// and a frame in its exact size or one sentence.
//
// The input names the roots it claims (as a real patch does), so the parse
// goes past the root check; the devices are 2^20 blocks. Frames that make
// at most 64 KiB are decompressed, against the input's first 8 KiB.
#include <cstdint>
#include <string>
#include <string_view>

#include "verity/update_patch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (input.size() < goldroot::PatchHeader::kHeadSize) {
    (void)goldroot::patch_header_size(input);
    return 0;
  }
  goldroot::Digest old_root, new_root;
  for (size_t i = 0; i < 32; ++i) old_root.bytes[i] = static_cast<uint8_t>(input[16 + i]);
  for (size_t i = 0; i < 16; ++i) new_root.bytes[i] = static_cast<uint8_t>(input[48 + i]);
  auto header = goldroot::parse_patch_header(input, old_root, 1 << 20, new_root, 1 << 20);
  if (!header.ok()) return 0;
  auto header_size = goldroot::patch_header_size(input);
  if (!header_size.ok() || goldroot::serialize_patch_header(*header).size() != header_size.value())
    __builtin_trap();  // a parsed header writes back to the size it was read from
  std::string_view reference = input.substr(0, 8192);
  for (const goldroot::PatchFrame& frame : header->frames) {
    uint64_t out_size = goldroot::run_blocks(frame.targets) * goldroot::PatchHeader::kBlockSize;
    if (out_size > 65536 || frame.offset >= input.size()) continue;
    std::string out(out_size, '\0');
    (void)goldroot::decompress_patch_frame(input.substr(frame.offset, frame.compressed_size), reference,
                                           out.data(), out.size());
  }
  return 0;
}
