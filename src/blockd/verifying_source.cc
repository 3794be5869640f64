#include "blockd/verifying_source.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace goldroot::blockd {

struct VerifyingSource::Slot {
  std::unique_ptr<RangeClient> client;
  std::unique_ptr<char[]> buffer;  // unit_size bytes
};

// Hands a Slot back to the idle list when it goes.
class VerifyingSource::SlotLease {
 public:
  SlotLease(VerifyingSource* source, std::unique_ptr<Slot> slot)
      : source_(source), slot_(std::move(slot)) {}
  SlotLease(SlotLease&&) = default;
  ~SlotLease() {
    if (!slot_) return;
    std::lock_guard<std::mutex> lock(source_->mutex_);
    source_->idle_slots_.push_back(std::move(slot_));
  }
  Slot* operator->() const { return slot_.get(); }
  Slot* get() const { return slot_.get(); }

 private:
  VerifyingSource* source_;
  std::unique_ptr<Slot> slot_;
};

VerifyingSource::VerifyingSource(BlockCache* cache, SourceOptions options)
    : cache_(cache),
      options_(std::move(options)),
      geometry_(cache->data_blocks(), kBlockSize),
      blocks_per_unit_(options_.unit_size / kBlockSize) {
  static const char kZeros[kBlockSize] = {};
  zero_leaf_ = verity_block_hash(cache->params().salt, kZeros, kBlockSize);
  in_flight_.reserve(64);
  idle_slots_.reserve(64);
}

VerifyingSource::~VerifyingSource() = default;

Result<std::unique_ptr<VerifyingSource>> VerifyingSource::open(BlockCache* cache,
                                                               SourceOptions options) {
  if (options.unit_size < kBlockSize || options.unit_size % kBlockSize != 0)
    return make_error(ErrorCode::kInvalidArgument,
                      "the fetch unit must be a multiple of 4096 bytes, not " +
                          std::to_string(options.unit_size));
  std::unique_ptr<VerifyingSource> source(new VerifyingSource(cache, std::move(options)));
  source->load_patch();
  TRY(source->load_tree());
  source->patch_tree_.clear();
  return source;
}

void VerifyingSource::log(const std::string& line) {
  if (options_.log) options_.log(line);
  else std::fprintf(stderr, "goldroot-blockd: %s\n", line.c_str());
}

Result<VerifyingSource::SlotLease> VerifyingSource::lease_slot() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!idle_slots_.empty()) {
      std::unique_ptr<Slot> slot = std::move(idle_slots_.back());
      idle_slots_.pop_back();
      return SlotLease(this, std::move(slot));
    }
  }
  // One per thread fetching at once: bounded by the server's thread pool.
  auto slot = std::make_unique<Slot>();
  slot->client = TRY(RangeClient::create(options_.http));
  slot->buffer.reset(new char[options_.unit_size]);
  return SlotLease(this, std::move(slot));
}

namespace {

// `url` with its origin replaced by `origin` ("http://h:p/").
std::string with_origin(const std::string& url, const std::string& origin) {
  size_t scheme = url.find("://");
  size_t path = scheme == std::string::npos ? std::string::npos : url.find('/', scheme + 3);
  std::string base = origin.ends_with('/') ? origin.substr(0, origin.size() - 1) : origin;
  return path == std::string::npos ? base + "/" : base + url.substr(path);
}

}  // namespace

Status VerifyingSource::fetch_with_retry(Slot* slot, const std::string& url, uint64_t offset,
                                         uint64_t length, char* out, Lane lane) {
  auto wait = options_.retry_first;
  bool failed_before = false;
  const size_t origins = options_.mirrors.size() + 1;
  size_t tried = 0;  // origins that failed since the last wait
  while (true) {
    size_t origin = origin_.load(std::memory_order_relaxed) % origins;
    const std::string target = origin == 0 ? url : with_origin(url, options_.mirrors[origin - 1]);
    uint64_t requests_before = slot->client->requests();
    Status status = slot->client->fetch(target, offset, length, out, lane);
    requests_.fetch_add(slot->client->requests() - requests_before, std::memory_order_relaxed);
    if (status.ok()) {
      fetched_bytes_.fetch_add(length, std::memory_order_relaxed);
      if (failed_before) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!last_error_.empty()) {
          last_error_.clear();
          log(origin == 0 ? "the server answers again"
                          : "reading from " + options_.mirrors[origin - 1] + " now");
        }
      }
      return {};
    }
    failed_before = true;
    std::unique_lock<std::mutex> lock(mutex_);
    if (status.error().message != last_error_) {  // one line per change, not per retry
      last_error_ = status.error().message;
      log(last_error_ + (origins > 1 ? "; trying the site's other servers" : "; retrying until it answers"));
    }
    // The next origin, unless another thread moved on already.
    origin_.compare_exchange_strong(origin, (origin + 1) % origins);
    if (++tried < origins) continue;
    tried = 0;
    changed_.wait_for(lock, wait, [this] { return shutdown_; });
    if (shutdown_) return make_error(ErrorCode::kIo, "the block daemon is shutting down");
    wait = std::min(wait * 2, options_.retry_max);
  }
}

Status VerifyingSource::load_tree() {
  const uint64_t first = cache_->data_blocks();
  const uint64_t count = cache_->tree_blocks();
  bool all_present = true;
  for (uint64_t b = first; b < first + count && all_present; ++b) all_present = cache_->present(b);
  if (all_present) {
    if (verify_verity_tree(cache_->tree(), cache_->params()).ok()) return {};
    log("the cached hash tree does not match the root hash; fetching what does not match again");
  }
  // The Merkle descent: level by level from the top, each hash block checked
  // against its parent, verified already (the top against the root hash).
  for (int level = geometry_.levels() - 1; level >= 0; --level)
    TRY(load_tree_level(level));
  return {};
}

// The hash that the (verified) level above, or the root, records for block
// `index` of `level`.
const uint8_t* VerifyingSource::recorded_hash(int level, uint64_t index) const {
  if (level + 1 == geometry_.levels()) return cache_->params().root_hash.bytes.data();
  return reinterpret_cast<const uint8_t*>(cache_->tree().data() +
                                          geometry_.hash_offset(level + 1, index));
}

bool VerifyingSource::tree_block_matches(int level, uint64_t index, const char* block) const {
  Digest digest = verity_block_hash(cache_->params().salt, block, kBlockSize);
  return std::memcmp(digest.bytes.data(), recorded_hash(level, index), digest.bytes.size()) == 0;
}

Status VerifyingSource::load_tree_level(int level) {
  const uint64_t start = cache_->data_blocks() + geometry_.level_start(level);
  const uint64_t count = geometry_.level_blocks(level);
  alignas(64) char block[kBlockSize];
  // Kept if cached and right, else copied from an older tree if one has it.
  for (uint64_t k = 0; k < count; ++k) {
    if (cache_->present(start + k)) {
      TRY(cache_->read(start + k, 1, block));
      if (tree_block_matches(level, k, block)) continue;
      cache_->forget(start + k);
      cache_repairs_.fetch_add(1, std::memory_order_relaxed);
    }
    if (options_.seed) TRY(seed_tree_block(level, k));
    if (auto made = patch_tree_.find(start + k); made != patch_tree_.end() && !cache_->present(start + k)) {
      if (tree_block_matches(level, k, made->second.data())) {
        TRY(cache_->store(start + k, made->second));
        patched_bytes_.fetch_add(kBlockSize, std::memory_order_relaxed);
      } else {
        patch_rejects_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  // The rest from the server, one Range request per run of them.
  SlotLease slot = TRY(lease_slot());
  char* buffer = slot->buffer.get();
  const uint64_t tree_first = cache_->data_blocks();
  for (uint64_t k = 0; k < count;) {
    if (cache_->present(start + k)) {
      ++k;
      continue;
    }
    uint64_t end = k + 1;
    while (end < count && end - k < blocks_per_unit_ && !cache_->present(start + end)) ++end;
    const uint64_t length = (end - k) * kBlockSize;
    TRY(fetch_with_retry(slot.get(), options_.tree_url, (start + k - tree_first) * kBlockSize,
                         length, buffer));
    tree_fetched_bytes_.fetch_add(length, std::memory_order_relaxed);
    for (uint64_t i = k; i < end; ++i)
      if (!tree_block_matches(level, i, buffer + (i - k) * kBlockSize))
        return make_error(ErrorCode::kCorruption,
                          "hash block " + std::to_string(i) + " of level " + std::to_string(level) +
                              " of the tree at " + options_.tree_url +
                              (level + 1 == geometry_.levels()
                                   ? " does not match the signed root hash"
                                   : " does not match the level above"));
    TRY(cache_->store(start + k, std::string_view(buffer, length)));
    k = end;
  }
  return {};
}

Result<bool> VerifyingSource::seed_tree_block(int level, uint64_t index) {
  SeedLocation candidates[SeedIndex::kMaxCandidates];
  const int count = options_.seed->lookup_tree(level, recorded_hash(level, index), candidates);
  alignas(64) char buffer[kBlockSize];
  for (int i = 0; i < count; ++i) {
    if (!options_.seed->read_tree(candidates[i], buffer).ok() ||
        !tree_block_matches(level, index, buffer)) {
      seed_rejects_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    TRY(cache_->store(cache_->data_blocks() + geometry_.level_start(level) + index,
                      std::string_view(buffer, kBlockSize)));
    tree_seeded_bytes_.fetch_add(kBlockSize, std::memory_order_relaxed);
    return true;
  }
  return false;
}

Status VerifyingSource::fetch_unit(uint64_t unit, Lane lane, bool* fetched) {
  *fetched = false;
  const InFlight mine{unit, lane};
  {
    std::unique_lock<std::mutex> lock(mutex_);
    // A read waits for another read's fetch of the unit, not for the
    // fill's; the fill waits for any.
    auto busy = [&] {
      return std::any_of(in_flight_.begin(), in_flight_.end(), [&](const InFlight& other) {
        return other.unit == unit && (lane == Lane::kFill || other.lane == Lane::kForeground);
      });
    };
    if (busy()) {
      changed_.wait(lock, [&] { return !busy() || shutdown_; });
      if (shutdown_) return make_error(ErrorCode::kIo, "the block daemon is shutting down");
      return {};
    }
    in_flight_.push_back(mine);
  }
  struct Done {
    VerifyingSource* source;
    InFlight entry;
    ~Done() {
      std::lock_guard<std::mutex> lock(source->mutex_);
      auto found = std::find(source->in_flight_.begin(), source->in_flight_.end(), entry);
      if (found != source->in_flight_.end()) source->in_flight_.erase(found);
      source->changed_.notify_all();
    }
  } done{this, mine};

  uint64_t first = unit * blocks_per_unit_;
  uint64_t end = std::min(first + blocks_per_unit_, cache_->data_blocks());
  while (first < end && cache_->present(first)) ++first;
  while (end > first && cache_->present(end - 1)) --end;
  if (first == end) return {};
  bool made_here = false;
  for (uint64_t b = first; b < end; ++b)
    if (!cache_->present(b) && TRY(seed_block(b))) made_here = true;
  // Blocks an update patch makes: its frame (once; other reads of it wait
  // for it), rather than the blocks and then the frame again.
  for (uint64_t b = first; b < end; ++b) {
    if (cache_->present(b)) continue;
    const int frame = patch_frame_of(b);
    if (frame < 0) continue;
    TRY(apply_patch_frame(frame, lane));
    made_here = true;
  }
  while (first < end && cache_->present(first)) ++first;
  while (end > first && cache_->present(end - 1)) --end;
  if (first == end) return {};
  *fetched = true;
  // Nothing made here, one request for the unit (a block another read
  // stored meanwhile is fetched again: one request beats two).
  if (!options_.seed && !made_here) return fetch_run(first, end, lane);

  // One request per run of missing blocks: seeded blocks are not fetched.
  Status result;
  for (uint64_t b = first; b < end;) {
    if (cache_->present(b)) {
      ++b;
      continue;
    }
    uint64_t run_end = b + 1;
    while (run_end < end && !cache_->present(run_end)) ++run_end;
    Status status = fetch_run(b, run_end, lane);
    if (!status.ok() && status.error().code != ErrorCode::kCorruption) return status;
    if (result.ok() && !status.ok()) result = std::move(status);
    b = run_end;
  }
  return result;
}

Result<bool> VerifyingSource::seed_block(uint64_t block) {
  if (geometry_.levels() == 0) return false;  // one data block: no leaf level
  std::string_view tree = cache_->tree();
  const auto* leaf = reinterpret_cast<const uint8_t*>(tree.data() + geometry_.hash_offset(0, block));
  alignas(64) char buffer[kBlockSize];
  if (std::memcmp(leaf, zero_leaf_.bytes.data(), zero_leaf_.bytes.size()) == 0) {
    std::memset(buffer, 0, kBlockSize);
    TRY(cache_->store(block, std::string_view(buffer, kBlockSize)));
    seeded_bytes_.fetch_add(kBlockSize, std::memory_order_relaxed);
    return true;
  }
  if (!options_.seed) return false;
  SeedLocation candidates[SeedIndex::kMaxCandidates];
  const int count = options_.seed->lookup(leaf, candidates);
  for (int i = 0; i < count; ++i) {
    // An old cache that cannot be read is just not a seed.
    if (!options_.seed->read(candidates[i], buffer).ok() ||
        !verity_block_matches(tree, cache_->params(), geometry_, block, buffer)) {
      seed_rejects_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    TRY(cache_->store(block, std::string_view(buffer, kBlockSize)));
    seeded_bytes_.fetch_add(kBlockSize, std::memory_order_relaxed);
    return true;
  }
  return false;
}

Status VerifyingSource::fetch_run(uint64_t first, uint64_t end, Lane lane) {
  SlotLease slot = TRY(lease_slot());
  char* buffer = slot->buffer.get();
  TRY(fetch_with_retry(slot.get(), options_.image_url, first * kBlockSize, (end - first) * kBlockSize,
                       buffer, lane));
  std::string_view tree = cache_->tree();
  const VerityParams& params = cache_->params();
  Status result;
  // Store runs of good blocks; skip the bad ones (and blocks another read
  // stored meanwhile are simply written again with the same bytes).
  uint64_t run = first;
  auto flush = [&](uint64_t upto) -> Status {
    if (upto > run)
      TRY(cache_->store(run, std::string_view(buffer + (run - first) * kBlockSize,
                                              (upto - run) * kBlockSize)));
    return {};
  };
  for (uint64_t b = first; b < end; ++b) {
    if (verity_block_matches(tree, params, geometry_, b, buffer + (b - first) * kBlockSize)) continue;
    TRY(flush(b));
    run = b + 1;
    verify_failures_.fetch_add(1, std::memory_order_relaxed);
    std::string line = "block " + std::to_string(b) + " (bytes " + std::to_string(b * kBlockSize) +
                       "…) of " + options_.image_url + " does not match its verity hash";
    log(line);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      last_error_ = line;
    }
    if (result.ok()) result = make_error(ErrorCode::kCorruption, line);
  }
  TRY(flush(end));
  return result;
}

Status VerifyingSource::read_data_block(uint64_t block, char* buffer) {
  const uint64_t unit = block / blocks_per_unit_;
  for (int attempt = 0;; ++attempt) {
    if (cache_->present(block)) {
      TRY(cache_->read(block, 1, buffer));
      if (verity_block_matches(cache_->tree(), cache_->params(), geometry_, block, buffer)) {
        if (attempt == 0) reused_bytes_.fetch_add(kBlockSize, std::memory_order_relaxed);
        return {};
      }
      cache_->forget(block);
      cache_repairs_.fetch_add(1, std::memory_order_relaxed);
      log("cached block " + std::to_string(block) + " does not match its hash; fetching it again");
    }
    if (attempt >= 3)
      return make_error(ErrorCode::kCorruption,
                        "block " + std::to_string(block) + " could not be read verified");
    bool fetched = false;
    foreground_waiting_.fetch_add(1, std::memory_order_acq_rel);
    Status status = fetch_unit(unit, Lane::kForeground, &fetched);
    foreground_waiting_.fetch_sub(1, std::memory_order_acq_rel);
    if (!cache_->present(block)) {
      if (!status.ok() && status.error().code != ErrorCode::kCorruption) return status;
      // This thread fetched it and it did not match: the read fails. (Had
      // another thread fetched it, try once more ourselves.)
      if (fetched)
        return make_error(ErrorCode::kCorruption, "block " + std::to_string(block) +
                                                      " does not match its verity hash");
    }
  }
}

Status VerifyingSource::read(uint64_t offset, uint32_t length, char* out) {
  if (offset > size() || length > size() - offset)
    return make_error(ErrorCode::kInvalidArgument,
                      "reading " + std::to_string(length) + " bytes at " + std::to_string(offset) +
                          " past the end of the device (" + std::to_string(size()) + " bytes)");
  const uint64_t data_size = cache_->data_blocks() * kBlockSize;
  if (options_.read_set && offset < data_size && length > 0) {
    uint64_t first = offset / kBlockSize;
    uint64_t last = (std::min(offset + length, data_size) - 1) / kBlockSize;
    options_.read_set->record(first, last - first + 1);
  }
  alignas(64) char block_buffer[kBlockSize];
  while (length > 0) {
    uint64_t block = offset / kBlockSize;
    uint32_t within = static_cast<uint32_t>(offset % kBlockSize);
    uint32_t take = std::min<uint32_t>(length, kBlockSize - within);
    if (offset >= data_size) {  // the tree: verified whole at open
      std::memcpy(out, cache_->tree().data() + (offset - data_size), take);
    } else {
      TRY(read_data_block(block, block_buffer));
      std::memcpy(out, block_buffer + within, take);
    }
    offset += take;
    out += take;
    length -= take;
  }
  return {};
}

Status VerifyingSource::fill_unit(uint64_t unit) {
  bool fetched = false;
  return fetch_unit(unit, Lane::kFill, &fetched);
}

void VerifyingSource::load_patch() {
  const SeedIndex* seed = options_.seed;
  if (!seed || seed->sources().empty() || cache_->complete()) return;
  auto slot = lease_slot();
  if (!slot.ok()) return;
  // The older image most of whose blocks this disk holds first.
  std::vector<int> order(seed->sources().size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(), [seed](int a, int b) {
    return seed->sources()[a].indexed_blocks > seed->sources()[b].indexed_blocks;
  });
  for (int source : order) {
    const std::string& root_hex = seed->sources()[source].root_hex;
    auto old_root = Digest::from_hex(root_hex);
    if (!old_root) continue;
    const std::string url = options_.image_url + patch_suffix(*old_root);
    const size_t origin = origin_.load(std::memory_order_relaxed) % (options_.mirrors.size() + 1);
    const std::string target = origin == 0 ? url : with_origin(url, options_.mirrors[origin - 1]);
    std::string header(PatchHeader::kHeadSize, '\0');
    uint64_t requests_before = (*slot)->client->requests();
    Status got = (*slot)->client->fetch(target, 0, header.size(), header.data());
    if (got.ok()) {
      auto size = patch_header_size(header);
      got = size.ok() ? Status{} : Status(size.error());
      if (got.ok() && *size > header.size()) {
        header.resize(*size);
        got = (*slot)->client->fetch(target, PatchHeader::kHeadSize, *size - PatchHeader::kHeadSize,
                                     header.data() + PatchHeader::kHeadSize);
      }
    }
    requests_.fetch_add((*slot)->client->requests() - requests_before, std::memory_order_relaxed);
    if (!got.ok() && got.error().code == ErrorCode::kNotFound) continue;
    if (!got.ok()) {
      log("not using an update patch: " + got.error().message);
      return;
    }
    fetched_bytes_.fetch_add(header.size(), std::memory_order_relaxed);
    patch_fetched_bytes_.fetch_add(header.size(), std::memory_order_relaxed);
    auto parsed = parse_patch_header(header, *old_root, seed->source_blocks(source),
                                     cache_->params().root_hash, cache_->blocks());
    if (!parsed.ok()) {
      log("not using " + url + ": " + parsed.error().message);
      return;
    }
    patch_ = std::move(*parsed);
    patch_url_ = url;
    patch_source_ = source;
    patch_frames_.assign(patch_->frames.size(), FrameState::kPending);
    uint64_t frames = 0;
    for (const PatchFrame& frame : patch_->frames) {
      if (frame.targets.front().first < cache_->data_blocks()) continue;  // data: apply_patch
      auto made = make_patch_frame(slot->get(), frame, Lane::kForeground);
      if (!made.ok()) {
        log(made.error().message + "; fetching those hash blocks instead");
        continue;
      }
      ++frames;
      uint64_t at = 0;
      for (const PatchRun& run : frame.targets)
        for (uint64_t b = run.first; b < run.end(); ++b, at += kBlockSize)
          patch_tree_[b] = made->substr(at, kBlockSize);
    }
    log("updating from image " + root_hex.substr(0, 12) + " with its patch (" +
        std::to_string(patch_->frames.size()) + " frames; the hash blocks of " +
        std::to_string(frames) + " made now)");
    return;
  }
}

Result<std::string> VerifyingSource::make_patch_frame(Slot* slot, const PatchFrame& frame,
                                                      Lane lane) {
  const SeedIndex* seed = options_.seed;
  std::string reference;
  reference.reserve(run_blocks(frame.references) * kBlockSize);
  for (const PatchRun& run : frame.references) {
    if (!seed->source_holds(patch_source_, run.first, run.count))
      return make_error(ErrorCode::kNotFound,
                        "this disk lacks blocks of the older image that a frame of the update patch refers to");
    size_t at = reference.size();
    reference.resize(at + uint64_t{run.count} * kBlockSize);
    TRY(seed->read_source(patch_source_, run.first, run.count, reference.data() + at));
  }
  std::string compressed(frame.compressed_size, '\0');
  TRY(fetch_with_retry(slot, patch_url_, frame.offset, compressed.size(), compressed.data(), lane));
  patch_fetched_bytes_.fetch_add(compressed.size(), std::memory_order_relaxed);
  std::string made(run_blocks(frame.targets) * kBlockSize, '\0');
  TRY(decompress_patch_frame(compressed, reference, made.data(), made.size()));
  return made;
}

int VerifyingSource::patch_frame_of(uint64_t block) const {
  if (!patch_ || block >= cache_->data_blocks()) return -1;
  const std::vector<PatchFrame>& frames = patch_->frames;
  // Data frames follow the hash blocks' in block order; runs within a
  // frame too.
  auto frame = std::upper_bound(frames.begin(), frames.end(), block, [](uint64_t b, const PatchFrame& f) {
    return b < f.targets.front().first;
  });
  if (frame == frames.begin()) return -1;
  --frame;
  auto run = std::upper_bound(frame->targets.begin(), frame->targets.end(), block,
                              [](uint64_t b, const PatchRun& r) { return b < r.first; });
  if (run == frame->targets.begin() || block >= (run - 1)->end()) return -1;
  return static_cast<int>(frame - frames.begin());
}

Status VerifyingSource::apply_patch_frame(int index, Lane lane) {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return patch_frames_[index] != FrameState::kApplying || shutdown_; });
    if (shutdown_) return make_error(ErrorCode::kIo, "the block daemon is shutting down");
    if (patch_frames_[index] != FrameState::kPending) return {};
    patch_frames_[index] = FrameState::kApplying;
  }
  const PatchFrame& frame = patch_->frames[index];
  const uint64_t data_blocks = cache_->data_blocks();
  Result<std::string> made = [&]() -> Result<std::string> {
    SlotLease slot = TRY(lease_slot());
    return make_patch_frame(slot.get(), frame, lane);
  }();
  if (made.ok()) {
    uint64_t at = 0;
    for (const PatchRun& run : frame.targets)
      for (uint64_t b = run.first; b < run.end(); ++b, at += kBlockSize) {
        if (b >= data_blocks || cache_->present(b)) continue;
        const char* block = made->data() + at;
        if (!verity_block_matches(cache_->tree(), cache_->params(), geometry_, b, block)) {
          patch_rejects_.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        if (!cache_->store(b, std::string_view(block, kBlockSize)).ok()) continue;
        patched_bytes_.fetch_add(kBlockSize, std::memory_order_relaxed);
      }
  } else if (patch_frames_failed_.fetch_add(1, std::memory_order_relaxed) == 0) {
    log(made.error().message + "; fetching those blocks instead");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  patch_frames_[index] = made.ok() ? FrameState::kDone : FrameState::kFailed;
  changed_.notify_all();
  return {};
}

void VerifyingSource::apply_patch(Lane lane) {
  if (!patch_ || patch_applied_.exchange(true)) return;
  const uint64_t data_blocks = cache_->data_blocks();
  for (size_t f = 0; f < patch_->frames.size(); ++f) {
    const PatchFrame& frame = patch_->frames[f];
    bool needed = false;
    for (const PatchRun& run : frame.targets)
      for (uint64_t b = run.first; b < run.end() && !needed; ++b) needed = b < data_blocks && !cache_->present(b);
    if (needed && !apply_patch_frame(static_cast<int>(f), lane).ok()) return;  // shutting down
  }
  log("the update patch made " + std::to_string(patched_bytes_.load(std::memory_order_relaxed) / kBlockSize) +
      " blocks (" + std::to_string(patch_fetched_bytes_.load(std::memory_order_relaxed)) +
      " bytes of patch fetched" +
      (patch_frames_failed_ ? ", " + std::to_string(patch_frames_failed_.load()) + " frames not usable"
                            : std::string()) + ")");
}

SourceCounters VerifyingSource::counters() const {
  SourceCounters counters;
  counters.fetched_bytes = fetched_bytes_.load(std::memory_order_relaxed);
  counters.reused_bytes = reused_bytes_.load(std::memory_order_relaxed);
  counters.seeded_bytes = seeded_bytes_.load(std::memory_order_relaxed);
  counters.seed_rejects = seed_rejects_.load(std::memory_order_relaxed);
  counters.tree_fetched_bytes = tree_fetched_bytes_.load(std::memory_order_relaxed);
  counters.tree_seeded_bytes = tree_seeded_bytes_.load(std::memory_order_relaxed);
  counters.patch_fetched_bytes = patch_fetched_bytes_.load(std::memory_order_relaxed);
  counters.patched_bytes = patched_bytes_.load(std::memory_order_relaxed);
  counters.patch_rejects = patch_rejects_.load(std::memory_order_relaxed);
  counters.verify_failures = verify_failures_.load(std::memory_order_relaxed);
  counters.cache_repairs = cache_repairs_.load(std::memory_order_relaxed);
  counters.requests = requests_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mutex_);
  counters.last_error = last_error_;
  return counters;
}

void VerifyingSource::shutdown() {
  std::lock_guard<std::mutex> lock(mutex_);
  shutdown_ = true;
  changed_.notify_all();
}

}  // namespace goldroot::blockd
