#include "blockd/read_set.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace goldroot::blockd {

ReadSet::ReadSet(std::string directory, const Digest& root, uint64_t data_blocks,
                 std::chrono::steady_clock::duration window, size_t max_extents)
    : root_hex_(root.hex()),
      data_blocks_(data_blocks),
      until_(std::chrono::steady_clock::now() + window),
      max_extents_(max_extents) {
  recorded_.reserve(max_extents_);
  seen_.reset(new uint64_t[(data_blocks + 63) / 64]());
  if (directory.empty()) return;
  path_ = directory + "/" + root_hex_ + ".readset";
  directory_path_ = directory;
  directory_ = UniqueFd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::ifstream in(path_);
  std::string line;
  if (!in || !std::getline(in, line) || line != "goldroot-readset 1 " + root_hex_) return;
  uint64_t first = 0, count = 0;
  while (in >> first >> count && previous_.size() < max_extents_)
    if (first < data_blocks_ && count > 0 && count <= data_blocks_ - first)
      previous_.push_back({first, count});
}

void ReadSet::record(uint64_t first_block, uint64_t count) {
  if (std::chrono::steady_clock::now() > until_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  for (uint64_t block = first_block; block < first_block + count && block < data_blocks_; ++block) {
    uint64_t mask = uint64_t{1} << (block % 64);
    if (seen_[block / 64] & mask) continue;
    if (!recorded_.empty() && recorded_.back().first + recorded_.back().count == block) {
      ++recorded_.back().count;
    } else {
      if (recorded_.size() == max_extents_) return;
      recorded_.push_back({block, 1});
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
    text = "goldroot-readset 1 " + root_hex_ + "\n";
    for (const Extent& extent : recorded_)
      text += std::to_string(extent.first) + " " + std::to_string(extent.count) + "\n";
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
