#include "blockd/status_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace goldroot::blockd {

std::string status_json(const StatusReport& report) {
  double percent = report.blocks == 0 ? 0.0 : 100.0 * static_cast<double>(report.present) /
                                                   static_cast<double>(report.blocks);
  nlohmann::json document = {
      {"image", report.image},
      {"root_hash", report.root_hash},
      {"blocks", report.blocks},
      {"present", report.present},
      {"fill_percent", std::floor(percent * 10) / 10},
      {"backing", report.backing == Backing::kLocal ? "local" : "network"},
      {"fetched_bytes", report.counters.fetched_bytes},
      {"reused_bytes", report.counters.reused_bytes},
      {"seeded_bytes", report.counters.seeded_bytes},
      {"tree_fetched_bytes", report.counters.tree_fetched_bytes},
      {"tree_seeded_bytes", report.counters.tree_seeded_bytes},
      {"patch_fetched_bytes", report.counters.patch_fetched_bytes},
      {"patched_bytes", report.counters.patched_bytes},
      {"cache", report.cache == CacheKind::kDisk ? "disk" : "ram"},
      {"verify_failures", report.counters.verify_failures},
      {"last_error", report.counters.last_error},
      {"pid", static_cast<int64_t>(::getpid())},
      {"device", report.device},
  };
  return document.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

StatusReport report_of(const VerifyingSource& source, const std::string& image, Backing backing) {
  const BlockCache& cache = *source.cache();
  return StatusReport{.image = image,
                      .root_hash = cache.params().root_hash.hex(),
                      .blocks = cache.blocks(),
                      .present = cache.present_count(),
                      .backing = backing,
                      .cache = cache.kind(),
                      .counters = source.counters()};
}

Result<std::unique_ptr<StatusWriter>> StatusWriter::open(const std::string& directory,
                                                         std::string name,
                                                         const VerifyingSource* source,
                                                         std::string image) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  std::unique_ptr<StatusWriter> writer(new StatusWriter());
  writer->directory_ = UniqueFd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!writer->directory_.valid()) return errno_error("opening " + directory, errno);
  writer->directory_path_ = directory;
  writer->name_ = std::move(name);
  writer->source_ = source;
  writer->image_ = std::move(image);
  return writer;
}

StatusWriter::~StatusWriter() { stop(); }

Status StatusWriter::write_now() {
  StatusReport report = report_of(*source_, image_, backing_.load());
  std::lock_guard<std::mutex> lock(write_mutex_);
  report.device = device_;
  std::string text = status_json(report);
  std::string temporary = "." + name_ + ".tmp";
  UniqueFd file(::openat(directory_.get(), temporary.c_str(),
                         O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  const std::string where = directory_path_ + "/" + temporary;
  if (!file.valid()) return errno_error("creating " + where, errno);
  if (::write(file.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return errno_error("writing " + where, errno);
  // /run is a tmpfs: no fsync needed for readers to see the whole file.
  file.reset();
  if (::renameat(directory_.get(), temporary.c_str(), directory_.get(), name_.c_str()) != 0)
    return errno_error("renaming " + where, errno);
  return {};
}

void StatusWriter::start(std::chrono::milliseconds period) {
  if (thread_.joinable()) return;
  thread_ = std::thread([this, period] { run(period); });
}

void StatusWriter::run(std::chrono::milliseconds period) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    if (tick_) tick_();
    (void)write_now();
    lock.lock();
    wake_.wait_for(lock, period, [this] { return stopping_; });
  }
}

void StatusWriter::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    wake_.notify_all();
  }
  if (thread_.joinable()) {
    thread_.join();
    if (tick_) tick_();
    (void)write_now();
  }
}

}  // namespace goldroot::blockd
