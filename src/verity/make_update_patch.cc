#include "verity/update_patch.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <thread>

#include "base/parallel.h"
#include "sys/file_io.h"
#include "sys/unique_fd.h"

namespace goldroot {
namespace {

constexpr uint64_t kBlock = PatchHeader::kBlockSize;
// Blocks a frame makes: 4 MiB, so a large update compresses on several
// cores and a client holding only part of the base loses little per frame
// it cannot use.
constexpr size_t kFrameBlocks = 1024;

uint64_t key_of(const void* hash) {
  uint64_t key;
  std::memcpy(&key, hash, sizeof key);
  return key;
}

// A device (image, then tree) open for reading blocks.
class Device {
 public:
  static Result<Device> open(const PatchInput& files) {
    Device device;
    device.params_ = files.params;
    device.geometry_ = VerityGeometry(files.params.data_blocks, kBlock);
    device.image_path_ = files.image_path;
    device.image_ = UniqueFd(::open(files.image_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!device.image_.valid()) return errno_error("opening " + files.image_path, errno);
    UniqueFd tree(::open(files.tree_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!tree.valid()) return errno_error("opening " + files.tree_path, errno);
    device.tree_.resize(device.geometry_.tree_size());
    TRY(pread_exact(tree.get(), device.tree_.data(), device.tree_.size(), 0, files.tree_path));
    char extra;
    if (::pread(tree.get(), &extra, 1, static_cast<off_t>(device.tree_.size())) == 1)
      return make_error(ErrorCode::kCorruption, files.tree_path + " is not the size of its image's tree");
    return device;
  }

  uint64_t data_blocks() const { return params_.data_blocks; }
  uint64_t blocks() const { return params_.data_blocks + geometry_.tree_blocks(); }
  const VerityGeometry& geometry() const { return geometry_; }
  // The hash the tree (or the root) records for hash block `k` of `level`.
  const uint8_t* recorded(int level, uint64_t k) const {
    if (level + 1 == geometry_.levels()) return params_.root_hash.bytes.data();
    return reinterpret_cast<const uint8_t*>(tree_.data() + geometry_.hash_offset(level + 1, k));
  }
  const uint8_t* leaf(uint64_t block) const {
    return reinterpret_cast<const uint8_t*>(tree_.data() + geometry_.hash_offset(0, block));
  }
  // Appends the device blocks `run` to `out`.
  Status append(PatchRun run, std::string* out) const {
    if (run.first >= params_.data_blocks) {
      out->append(tree_, (run.first - params_.data_blocks) * kBlock, uint64_t{run.count} * kBlock);
      return {};
    }
    size_t at = out->size();
    out->resize(at + uint64_t{run.count} * kBlock);
    return pread_exact(image_.get(), out->data() + at, uint64_t{run.count} * kBlock, run.first * kBlock,
                        image_path_);
  }

 private:
  Device() : geometry_(0, kBlock) {}
  VerityParams params_;
  VerityGeometry geometry_;
  std::string tree_;
  UniqueFd image_;
  std::string image_path_;
};

// Sorted and merged.
std::vector<PatchRun> merged(std::vector<PatchRun> runs) {
  std::sort(runs.begin(), runs.end(),
            [](const PatchRun& a, const PatchRun& b) { return a.first < b.first; });
  std::vector<PatchRun> out;
  for (const PatchRun& run : runs) {
    if (!out.empty() && run.first <= out.back().end()) {
      uint64_t end = std::max(out.back().end(), run.end());
      out.back().count = static_cast<uint32_t>(end - out.back().first);
    } else {
      out.push_back(run);
    }
  }
  return out;
}

void add_block(std::vector<PatchRun>* runs, uint64_t block) {
  if (!runs->empty() && runs->back().end() == block) ++runs->back().count;
  else runs->push_back({block, 1});
}

// Which base blocks a new block most likely resembles (the header's
// comment): by path, by place, by level and index.
class References {
 public:
  References(const Device& base, const Device& image, const std::vector<PatchExtent>& extents)
      : base_(base), image_(image), extents_(extents) {
    std::sort(extents_.begin(), extents_.end(), [](const PatchExtent& a, const PatchExtent& b) {
      return a.image.first < b.image.first;
    });
  }

  // Adds the references of new device block `block` to `runs` (within
  // `budget` blocks, which it lowers).
  void add(uint64_t block, std::vector<PatchRun>* runs, uint64_t* budget) {
    if (block >= image_.data_blocks()) {
      uint64_t t = block - image_.data_blocks();
      const VerityGeometry& geometry = image_.geometry();
      for (int level = 0; level < geometry.levels(); ++level) {
        uint64_t start = geometry.level_start(level);
        if (t < start || t >= start + geometry.level_blocks(level)) continue;
        uint64_t k = t - start;
        if (level < base_.geometry().levels() && k < base_.geometry().level_blocks(level))
          take({base_.data_blocks() + base_.geometry().level_start(level) + k, 1}, runs, budget);
      }
      return;
    }
    auto it = std::upper_bound(extents_.begin(), extents_.end(), block,
                               [](uint64_t b, const PatchExtent& e) { return b < e.image.first; });
    if (it != extents_.begin() && block < (it - 1)->image.end()) {
      const PatchExtent& extent = *(it - 1);
      if (taken_extents_.insert(extent.image.first).second) take(extent.base, runs, budget);
    }
    if (block < base_.data_blocks()) take({block, 1}, runs, budget);
  }

  void next_frame() { taken_extents_.clear(); }

 private:
  void take(PatchRun run, std::vector<PatchRun>* runs, uint64_t* budget) {
    if (run.first >= base_.blocks()) return;
    run.count = static_cast<uint32_t>(std::min<uint64_t>(run.count, base_.blocks() - run.first));
    if (run.count > *budget) return;
    *budget -= run.count;
    if (run.count == 1) add_block(runs, run.first);
    else runs->push_back(run);
  }

  const Device& base_;
  const Device& image_;
  std::vector<PatchExtent> extents_;
  std::set<uint64_t> taken_extents_;
};

}  // namespace

Result<MadePatch> make_update_patch(const PatchInput& base_files, const PatchInput& image_files,
                                   const std::vector<PatchExtent>& extents, int level) {
  const Device base = TRY(Device::open(base_files));
  const Device image = TRY(Device::open(image_files));
  if (base.geometry().levels() == 0 || image.geometry().levels() == 0)
    return make_error(ErrorCode::kInvalidArgument, "an image of one block has no hash tree to patch");
  MadePatch summary;

  // What a client holding the base makes itself: data blocks whose leaf
  // hash the base's tree has (blockd/seed_index.h), blocks of zeros, and
  // hash blocks under a hash the base's tree has at that level.
  std::vector<uint64_t> base_leaves;
  base_leaves.reserve(base.data_blocks());
  for (uint64_t b = 0; b < base.data_blocks(); ++b) base_leaves.push_back(key_of(base.leaf(b)));
  std::sort(base_leaves.begin(), base_leaves.end());
  static const char kZeros[kBlock] = {};
  const uint64_t zero_key = key_of(verity_block_hash(image_files.params.salt, kZeros, kBlock).bytes.data());
  std::vector<std::vector<uint64_t>> base_levels(base.geometry().levels());
  for (int l = 0; l < base.geometry().levels(); ++l) {
    for (uint64_t k = 0; k < base.geometry().level_blocks(l); ++k)
      base_levels[l].push_back(key_of(base.recorded(l, k)));
    std::sort(base_levels[l].begin(), base_levels[l].end());
  }
  auto held = [](const std::vector<uint64_t>& keys, uint64_t key) {
    return std::binary_search(keys.begin(), keys.end(), key);
  };
  std::vector<uint64_t> tree_targets, data_targets;
  const VerityGeometry& geometry = image.geometry();
  for (int l = geometry.levels() - 1; l >= 0; --l)  // the tree file's order: top first
    for (uint64_t k = 0; k < geometry.level_blocks(l); ++k)
      if (l >= static_cast<int>(base_levels.size()) || !held(base_levels[l], key_of(image.recorded(l, k))))
        tree_targets.push_back(image.data_blocks() + geometry.level_start(l) + k);
  for (uint64_t b = 0; b < image.data_blocks(); ++b) {
    uint64_t key = key_of(image.leaf(b));
    if (key != zero_key && !held(base_leaves, key)) data_targets.push_back(b);
  }
  summary.tree_blocks = tree_targets.size();
  summary.target_blocks = tree_targets.size() + data_targets.size();
  if (summary.target_blocks == 0) return summary;

  // Frames: the hash blocks first, then the data, each at most
  // kMaxFrameBlocks made from at most kMaxReferenceBlocks.
  PatchHeader header;
  header.old_root = base_files.params.root_hash;
  header.new_root = image_files.params.root_hash;
  header.old_data_blocks = base.data_blocks();
  header.new_data_blocks = image.data_blocks();
  References references(base, image, extents);
  for (const std::vector<uint64_t>* targets : {&tree_targets, &data_targets}) {
    for (size_t i = 0; i < targets->size(); i += kFrameBlocks) {
      PatchFrame frame;
      std::vector<PatchRun> refs;
      uint64_t budget = PatchHeader::kMaxReferenceBlocks;
      references.next_frame();
      size_t end = std::min(targets->size(), i + kFrameBlocks);
      for (size_t j = i; j < end; ++j) {
        add_block(&frame.targets, (*targets)[j]);
        references.add((*targets)[j], &refs, &budget);
      }
      frame.references = merged(std::move(refs));
      header.frames.push_back(std::move(frame));
    }
  }
  // Frames compress apart: on a few cores at once (level 19 takes about
  // half a second of a core per MiB made).
  std::vector<std::string> compressed(header.frames.size());
  const unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  TRY(parallel_for(header.frames.size(), threads, [&](size_t i) -> Status {
    PatchFrame& frame = header.frames[i];
    std::string target, reference;
    for (const PatchRun& run : frame.targets) TRY(image.append(run, &target));
    for (const PatchRun& run : frame.references) TRY(base.append(run, &reference));
    compressed[i] = TRY(compress_patch_frame(target, reference, level));
    frame.compressed_size = compressed[i].size();
    return {};
  }));
  uint64_t at = serialize_patch_header(header).size();  // fixed-width fields: offsets do not change it
  for (PatchFrame& frame : header.frames) {
    frame.offset = at;
    at += frame.compressed_size;
  }
  summary.bytes = serialize_patch_header(header);
  for (const std::string& bytes : compressed) summary.bytes += bytes;
  summary.frames = header.frames.size();
  return summary;
}

}  // namespace goldroot
