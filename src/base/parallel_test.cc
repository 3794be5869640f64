// parallel_for and parallel_walk carry import, checkout and the overlay
// readers: a job skipped or run twice is a missing or doubled file, and a
// lost error is a silent partial import.
#include "base/parallel.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/testing/testing.h"

namespace goldroot {
namespace {

enum class WithProgress { kNo, kYes };

Status run_parallel_for(size_t count, unsigned threads, WithProgress with_progress,
                        const std::function<Status(size_t)>& job) {
  if (with_progress == WithProgress::kNo) return parallel_for(count, threads, job);
  return parallel_for(count, threads, job, [](size_t) {});
}

class ParallelForTest : public ::testing::TestWithParam<WithProgress> {};

TEST_P(ParallelForTest, RunsEveryIndexExactlyOnce) {
  for (unsigned threads : {1u, 3u, 16u}) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    std::vector<std::atomic<int>> runs(2000);
    ASSERT_OK(run_parallel_for(runs.size(), threads, GetParam(), [&](size_t i) -> Status {
      ++runs[i];
      return {};
    }));
    for (size_t i = 0; i < runs.size(); ++i) ASSERT_EQ(runs[i].load(), 1) << "index " << i;
  }
}

TEST_P(ParallelForTest, MoreThreadsThanJobs) {
  std::vector<std::atomic<int>> runs(3);
  ASSERT_OK(run_parallel_for(runs.size(), 16, GetParam(), [&](size_t i) -> Status {
    ++runs[i];
    return {};
  }));
  for (auto& count : runs) EXPECT_EQ(count.load(), 1);
}

TEST_P(ParallelForTest, NoJobsIsSuccess) {
  std::atomic<int> calls{0};
  EXPECT_OK(run_parallel_for(0, 4, GetParam(), [&](size_t) -> Status {
    ++calls;
    return {};
  }));
  EXPECT_EQ(calls.load(), 0);
}

TEST_P(ParallelForTest, ReturnsTheFailingJobsError) {
  Status status = run_parallel_for(500, 8, GetParam(), [](size_t i) -> Status {
    if (i == 137) return errno_error("writing file 137", ENOSPC);
    return {};
  });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kNoSpace);
  EXPECT_EQ(status.error().message, std::string("writing file 137: ") + std::strerror(ENOSPC));
}

TEST_P(ParallelForTest, ManyFailuresYieldOneOfThem) {
  Status status = run_parallel_for(500, 8, GetParam(), [](size_t i) -> Status {
    if (i % 7 == 3) return make_error(ErrorCode::kCorruption, "bad " + std::to_string(i));
    return {};
  });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kCorruption);
  const std::string& message = status.error().message;
  ASSERT_EQ(message.rfind("bad ", 0), 0u) << message;
  EXPECT_EQ(std::stoul(message.substr(4)) % 7, 3u) << message;
}

TEST_P(ParallelForTest, StopsHandingOutWorkAfterAFailure) {
  // One thread takes the jobs in order, so nothing after the failure runs.
  std::vector<size_t> ran;
  Status status = run_parallel_for(100, 1, GetParam(), [&](size_t i) -> Status {
    ran.push_back(i);
    if (i == 3) return make_error(ErrorCode::kIo, "stop");
    return {};
  });
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(ran, (std::vector<size_t>{0, 1, 2, 3}));
}

INSTANTIATE_TEST_SUITE_P(Both, ParallelForTest,
                         ::testing::Values(WithProgress::kNo, WithProgress::kYes),
                         [](const auto& info) {
                           return info.param == WithProgress::kYes ? "WithProgress"
                                                                   : "WithoutProgress";
                         });

TEST(ParallelFor, ReportsProgressOnTheCallingThreadWithinBounds) {
  // Job 0 waits until progress has been reported once, so the report is
  // certain to happen while work is still running.
  std::mutex mutex;
  std::condition_variable reported_once;
  bool reported = false;
  std::vector<size_t> reports;
  bool all_on_caller = true;
  const std::thread::id caller = std::this_thread::get_id();
  const size_t count = 50;
  Status status = parallel_for(
      count, 4,
      [&](size_t i) -> Status {
        if (i == 0) {
          std::unique_lock lock(mutex);
          if (!reported_once.wait_for(lock, std::chrono::seconds(30), [&] { return reported; }))
            return make_error(ErrorCode::kIo, "progress was never reported");
        }
        return {};
      },
      [&](size_t started) {
        std::lock_guard lock(mutex);
        if (std::this_thread::get_id() != caller) all_on_caller = false;
        reports.push_back(started);
        reported = true;
        reported_once.notify_all();
      });
  ASSERT_OK(status);
  ASSERT_FALSE(reports.empty());
  EXPECT_TRUE(all_on_caller);
  for (size_t i = 0; i < reports.size(); ++i) {
    EXPECT_LE(reports[i], count);
    if (i) {
      EXPECT_LE(reports[i - 1], reports[i]) << "progress went backwards";
    }
  }
}

// Zero threads still runs every job (on the calling thread).
TEST(ParallelFor, ZeroThreadsStillRunsEveryJob) {
  std::atomic<int> calls{0};
  EXPECT_OK(parallel_for(
      10, 0,
      [&](size_t) -> Status {
        ++calls;
        return {};
      },
      [](size_t) {}));
  EXPECT_EQ(calls.load(), 10);
}

// A binary tree of `size` nodes numbered breadth first: node n's children
// are 2n+1 and 2n+2.
void queue_children(int node, int size, std::vector<int>& more) {
  for (int child : {2 * node + 1, 2 * node + 2})
    if (child < size) more.push_back(child);
}

TEST(ParallelWalk, VisitsEveryQueuedItemOnce) {
  constexpr int kSize = 3000;
  for (size_t threads : {1u, 2u, 16u}) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    std::vector<std::atomic<int>> visits(kSize);
    ASSERT_OK(parallel_walk<int>(0, threads, [&](int& node, std::vector<int>& more) -> Status {
      ++visits[node];
      queue_children(node, kSize, more);
      return {};
    }));
    for (int i = 0; i < kSize; ++i) ASSERT_EQ(visits[i].load(), 1) << "node " << i;
  }
}

TEST(ParallelWalk, ReturnsTheFirstErrorAndDoesNotDescendFurther) {
  std::mutex mutex;
  std::set<int> visited;
  Status status = parallel_walk<int>(0, 1, [&](int& node, std::vector<int>& more) -> Status {
    {
      std::lock_guard lock(mutex);
      visited.insert(node);
    }
    queue_children(node, 1000, more);
    if (node == 5) return errno_error("listing /usr/share", EACCES);
    return {};
  });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(status.error().message, std::string("listing /usr/share: ") + std::strerror(EACCES));
  EXPECT_FALSE(visited.count(11) || visited.count(12)) << "visited a child of the failed node";
  EXPECT_LT(visited.size(), 1000u);
}

TEST(ParallelWalk, AFailureOnManyThreadsEndsTheWalk) {
  // Every worker must notice the failure and return: a hang here is a
  // deadlock in the walk.
  std::atomic<int> visits{0};
  Status status = parallel_walk<int>(0, 16, [&](int& node, std::vector<int>& more) -> Status {
    ++visits;
    queue_children(node, 100000, more);
    if (node == 40) return make_error(ErrorCode::kCorruption, "node 40");
    return {};
  });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "node 40");
  EXPECT_LT(visits.load(), 100000);
}

TEST(IoThreads, SetIoThreadsKeepsTheCountWithinOneTo256) {
  const unsigned saved = io_threads();
  set_io_threads(1);
  EXPECT_EQ(io_threads(), 1u);
  set_io_threads(256);
  EXPECT_EQ(io_threads(), 256u);
  set_io_threads(0);
  EXPECT_EQ(io_threads(), 256u) << "0 threads must be refused";
  set_io_threads(257);
  EXPECT_EQ(io_threads(), 256u) << "more than 256 threads must be refused";
  set_io_threads(saved);
  EXPECT_EQ(io_threads(), saved);
}

}  // namespace
}  // namespace goldroot
