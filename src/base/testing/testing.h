// Helpers for goldroot's tests: Result assertions (LevelDB's IsOK) and a
// temporary directory removed when the test ends.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "base/result.h"

#define EXPECT_OK(expr)                                                  \
  do {                                                                   \
    auto&& _r = (expr);                                                  \
    EXPECT_TRUE(_r.ok()) << (_r.ok() ? std::string() : _r.error().message); \
  } while (0)
#define ASSERT_OK(expr)                                                  \
  do {                                                                   \
    auto&& _r = (expr);                                                  \
    ASSERT_TRUE(_r.ok()) << (_r.ok() ? std::string() : _r.error().message); \
  } while (0)

// ASSERT_OK_AND_ASSIGN(auto x, expr)
#define GOLDROOT_CONCAT_(a, b) a##b
#define GOLDROOT_CONCAT(a, b) GOLDROOT_CONCAT_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(GOLDROOT_CONCAT(_result_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(result, lhs, expr)                               \
  auto result = (expr);                                                            \
  ASSERT_TRUE(result.ok()) << (result.ok() ? std::string() : result.error().message); \
  lhs = std::move(result).value()

namespace goldroot::testing {

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  // Under `base` instead of $TMPDIR (e.g. /dev/shm, for tests whose
  // durability is simulated and which only need speed).
  explicit TempDir(const std::string& base);
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Runs a shell command; returns its exit status. Output goes to the test log.
int run(const std::string& command);
// Runs a shell command and returns its stdout.
std::string run_output(const std::string& command);
// Writes a file with the given contents (creating parent dirs).
void write_file(const std::string& path, const std::string& contents);
std::string read_file(const std::string& path);
// `size` pseudo-random bytes, the same for the same seed.
std::string random_bytes(size_t size, uint32_t seed);

}  // namespace goldroot::testing
