#include "boot/retry_backoff.h"

#include "base/testing/testing.h"
#include "boot/files.h"

namespace goldroot::boot {
namespace {

using testing::TempDir;

int64_t glue_wait(const std::string& run_dir) {
  auto text = read_whole_file(run_dir + "/retry");
  return text.ok() ? std::atoll(text->c_str()) : -1;
}

TEST(RetryBackoff, RefusalsAreTheServersNo) {
  EXPECT_TRUE(is_refusal(make_error(ErrorCode::kNotFound, "HTTP 404")));
  EXPECT_TRUE(is_refusal(make_error(ErrorCode::kPermissionDenied, "HTTP 403")));
  EXPECT_TRUE(is_refusal(make_error(ErrorCode::kBusy, "HTTP 429")));
  EXPECT_FALSE(is_refusal(make_error(ErrorCode::kIo, "Couldn't connect to server")));
  EXPECT_FALSE(is_refusal(make_error(ErrorCode::kCorruption, "a replayed manifest")));
}

TEST(RetryBackoff, WaitDoublesWhileRefusedUpToTheCapAndPrintsOncePerChange) {
  TempDir dir;
  const std::string run = dir.path() + "/run";
  std::vector<int64_t> waits;
  std::vector<bool> repeated;
  for (int i = 0; i < 7; ++i) {
    RetryAdvice advice =
        advise_retry(run, "HTTP 403: host pc04's key 1a2b waits for the admin", 20);
    waits.push_back(advice.wait_seconds);
    repeated.push_back(advice.same_answer);
    EXPECT_EQ(glue_wait(run), advice.wait_seconds);
  }
  EXPECT_EQ(waits, (std::vector<int64_t>{20, 40, 80, 160, 300, 300, 300}));
  EXPECT_EQ(repeated, (std::vector<bool>{false, true, true, true, true, true, true}));

  // Another answer is printed again, and the wait keeps growing: the
  // server is still refusing.
  RetryAdvice changed = advise_retry(run, "HTTP 404: no host has MAC 52:54:00:00:00:09", 20);
  EXPECT_FALSE(changed.same_answer);
  EXPECT_EQ(changed.wait_seconds, 300);

  // A boot that got further, or an unreachable server, starts over.
  forget_refusals(run);
  EXPECT_EQ(glue_wait(run), -1);
  RetryAdvice again = advise_retry(run, "HTTP 404: no host has MAC 52:54:00:00:00:09", 20);
  EXPECT_EQ(again.wait_seconds, 20);
  EXPECT_FALSE(again.same_answer);
}

TEST(RetryBackoff, ALongBaseIsNeverShortened) {
  TempDir dir;
  EXPECT_EQ(advise_retry(dir.path(), "no", 600).wait_seconds, 600);
  EXPECT_EQ(advise_retry(dir.path(), "no", 600).wait_seconds, 600);
}

}  // namespace
}  // namespace goldroot::boot
