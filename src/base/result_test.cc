// Result, Error and TRY: the errno mapping callers branch on (kNotFound to
// create a missing file, kBusy to say "try again"), the one-line message the
// user reads, and context that accumulates as an error rises.
#include "base/result.h"

#include <cerrno>
#include <cstring>
#include <memory>

#include "base/testing/testing.h"

namespace goldroot {
namespace {

TEST(ErrnoError, MapsEachErrnoToTheCodeCallersBranchOn) {
  struct Case {
    int error;
    ErrorCode code;
  };
  const Case cases[] = {
      {ENOENT, ErrorCode::kNotFound},
      {ENOTDIR, ErrorCode::kNotFound},
      {EEXIST, ErrorCode::kAlreadyExists},
      {ENOTEMPTY, ErrorCode::kAlreadyExists},
      {ENOSPC, ErrorCode::kNoSpace},
      {EDQUOT, ErrorCode::kNoSpace},
      {EACCES, ErrorCode::kPermissionDenied},
      {EPERM, ErrorCode::kPermissionDenied},
      {EROFS, ErrorCode::kPermissionDenied},
      {EINVAL, ErrorCode::kInvalidArgument},
      {ENAMETOOLONG, ErrorCode::kInvalidArgument},
      {EBUSY, ErrorCode::kBusy},
      {EWOULDBLOCK, ErrorCode::kBusy},
      {ENOTSUP, ErrorCode::kUnsupported},
      // Everything else is an I/O error.
      {EIO, ErrorCode::kIo},
      {EMFILE, ErrorCode::kIo},
      {ELOOP, ErrorCode::kIo},
      {EXDEV, ErrorCode::kIo},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::strerror(c.error));
    Error error = errno_error("opening x", c.error);
    EXPECT_EQ(error.code, c.code) << error_code_name(error.code);
    EXPECT_EQ(error.sys_errno, c.error);
  }
}

TEST(ErrnoError, MessageIsWhatThenTheSystemsSentence) {
  Error error = errno_error("reading /srv/site/site.json", ENOENT);
  EXPECT_EQ(error.message, "reading /srv/site/site.json: No such file or directory");
  EXPECT_EQ(errno_error("syncing /srv", ENOSPC).message,
            std::string("syncing /srv: ") + std::strerror(ENOSPC));
}

TEST(MakeError, CarriesNoErrno) {
  Error error = make_error(ErrorCode::kCorruption, "bad magic");
  EXPECT_EQ(error.code, ErrorCode::kCorruption);
  EXPECT_EQ(error.sys_errno, 0);
  EXPECT_EQ(error.message, "bad magic");
}

TEST(ResultContext, PrependsOuterContextAndKeepsCodeAndErrno) {
  Result<int> failed = errno_error("open", EACCES);
  Result<int> risen =
      std::move(failed).context("reading etc/shadow").context("importing /srv/root");
  ASSERT_FALSE(risen.ok());
  EXPECT_EQ(risen.error().message,
            "importing /srv/root: reading etc/shadow: open: Permission denied");
  EXPECT_EQ(risen.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(risen.error().sys_errno, EACCES);

  Status status = make_error(ErrorCode::kBusy, "locked");
  EXPECT_EQ(std::move(status).context("gc").error().message, "gc: locked");

  Error error = make_error(ErrorCode::kIo, "short read");
  EXPECT_EQ(std::move(error).with_context("layer 3").message, "layer 3: short read");
}

TEST(ResultContext, LeavesASuccessAlone) {
  Result<int> value = 7;
  Result<int> same = std::move(value).context("unused");
  ASSERT_OK(same);
  EXPECT_EQ(*same, 7);
  Status ok = ok_status();
  EXPECT_OK(std::move(ok).context("unused"));
}

Result<std::unique_ptr<int>> make_number(bool fail) {
  if (fail) return errno_error("making", ENOSPC);
  return std::make_unique<int>(42);
}

Result<int> double_number(bool fail, bool* reached_end) {
  std::unique_ptr<int> number = TRY(make_number(fail));
  *reached_end = true;
  return *number * 2;
}

Status check(bool fail, bool* reached_end) {
  TRY(Status(fail ? make_error(ErrorCode::kCorruption, "bad") : Status()));
  *reached_end = true;
  return {};
}

TEST(Try, YieldsTheValueOnSuccess) {
  bool reached_end = false;
  Result<int> doubled = double_number(false, &reached_end);
  ASSERT_OK(doubled);
  EXPECT_EQ(*doubled, 84);
  EXPECT_TRUE(reached_end);

  reached_end = false;
  EXPECT_OK(check(false, &reached_end));
  EXPECT_TRUE(reached_end);
}

TEST(Try, ReturnsTheErrorUnchangedAndStops) {
  bool reached_end = false;
  Result<int> doubled = double_number(true, &reached_end);
  ASSERT_FALSE(doubled.ok());
  EXPECT_FALSE(reached_end);
  EXPECT_EQ(doubled.error().code, ErrorCode::kNoSpace);
  EXPECT_EQ(doubled.error().sys_errno, ENOSPC);
  EXPECT_EQ(doubled.error().message, std::string("making: ") + std::strerror(ENOSPC));

  Status checked = check(true, &reached_end);
  ASSERT_FALSE(checked.ok());
  EXPECT_FALSE(reached_end);
  EXPECT_EQ(checked.error().code, ErrorCode::kCorruption);
  EXPECT_EQ(checked.error().message, "bad");
}

}  // namespace
}  // namespace goldroot
