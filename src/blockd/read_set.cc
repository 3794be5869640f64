#include "blockd/read_set.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace goldroot::blockd {

Result<ReadSetFile> parse_read_set(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string magic;
  int version = 0;
  ReadSetFile file;
  if (!(in >> magic >> version >> file.root_hex) || magic != "goldroot-readset" ||
      (version != 1 && version != 2))
    return make_error(ErrorCode::kCorruption, "not a goldroot read set");
  TimedExtent timed;
  while (in >> timed.extent.first >> timed.extent.count) {
    if (version == 2 && !(in >> timed.at_ms)) break;
    file.extents.push_back(timed);
  }
  if (!in.eof()) return make_error(ErrorCode::kCorruption, "a malformed line in a read set");
  return file;
}

ReadSet::ReadSet(std::string directory, const Digest& root, uint64_t data_blocks,
                 std::chrono::steady_clock::duration window, size_t max_extents)
    : root_hex_(root.hex()),
      data_blocks_(data_blocks),
      start_(std::chrono::steady_clock::now()),
      until_(start_ + window),
      max_extents_(max_extents) {
  recorded_.reserve(max_extents_);
  recorded_ms_.reserve(max_extents_);
  seen_.reset(new uint64_t[(data_blocks + 63) / 64]());
  if (directory.empty()) return;
  path_ = directory + "/" + root_hex_ + ".readset";
  directory_path_ = directory;
  directory_ = UniqueFd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::ifstream in(path_);
  if (!in) return;
  std::stringstream text;
  text << in.rdbuf();
  Result<ReadSetFile> file = parse_read_set(text.str());
  if (!file.ok() || file->root_hex != root_hex_) return;
  for (const TimedExtent& timed : file->extents) {
    const auto [first, count] = timed.extent;
    if (previous_.size() == max_extents_) break;
    if (first < data_blocks_ && count > 0 && count <= data_blocks_ - first)
      previous_.push_back({first, count});
  }
}

void ReadSet::record(uint64_t first_block, uint64_t count) {
  const auto now = std::chrono::steady_clock::now();
  if (now > until_) return;
  const auto at_ms = static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now - start_).count());
  std::lock_guard<std::mutex> lock(mutex_);
  for (uint64_t block = first_block; block < first_block + count && block < data_blocks_; ++block) {
    uint64_t mask = uint64_t{1} << (block % 64);
    if (seen_[block / 64] & mask) continue;
    if (!recorded_.empty() && recorded_.back().first + recorded_.back().count == block) {
      ++recorded_.back().count;
    } else {
      if (recorded_.size() == max_extents_) return;
      recorded_.push_back({block, 1});
      recorded_ms_.push_back(at_ms);
    }
    seen_[block / 64] |= mask;
    saved_all_ = false;
  }
}

std::vector<Extent> ReadSet::recorded() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return recorded_;
}

Status ReadSet::save() {
  if (path_.empty()) return {};
  std::string text;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!directory_.valid())  // made after this read set: open it now
      directory_ = UniqueFd(::open(directory_path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!directory_.valid()) return errno_error("opening the directory of " + path_, errno);
    if (recorded_.empty() || saved_all_) return {};
    text = "goldroot-readset 2 " + root_hex_ + "\n";
    for (size_t i = 0; i < recorded_.size(); ++i)
      text += std::to_string(recorded_[i].first) + " " + std::to_string(recorded_[i].count) + " " +
              std::to_string(recorded_ms_[i]) + "\n";
    saved_all_ = true;
  }
  std::string name = root_hex_ + ".readset";
  std::string temporary = name + ".tmp";
  int fd = ::openat(directory_.get(), temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return errno_error("creating " + temporary, errno);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  int saved_errno = errno;
  ::close(fd);
  if (!ok) return errno_error("writing " + temporary, saved_errno);
  if (::renameat(directory_.get(), temporary.c_str(), directory_.get(), name.c_str()) != 0)
    return errno_error("renaming " + temporary, errno);
  return {};
}

}  // namespace goldroot::blockd
