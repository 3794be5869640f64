#include "agent/probe.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <utmpx.h>

#include <cstdio>
#include <cstring>

#include "base/testing/testing.h"

namespace goldroot::agent {
namespace {

using testing::TempDir;
using testing::write_file;

void write_session(FILE* out, short type, const char* user, const char* line) {
  struct utmpx entry;
  std::memset(&entry, 0, sizeof entry);
  entry.ut_type = type;
  std::strncpy(entry.ut_user, user, sizeof entry.ut_user);
  std::strncpy(entry.ut_line, line, sizeof entry.ut_line);
  entry.ut_tv.tv_sec = 1795000000;
  std::fwrite(&entry, sizeof entry, 1, out);
}

TEST(ProbeTest, ReadsOnlyUserSessionsFromUtmp) {
  TempDir dir;
  FILE* out = std::fopen((dir / "utmp").c_str(), "wb");
  write_session(out, BOOT_TIME, "reboot", "~");
  write_session(out, USER_PROCESS, "alice", "tty1");
  write_session(out, DEAD_PROCESS, "", "pts/3");
  write_session(out, USER_PROCESS, "bob", "pts/0");
  std::fclose(out);
  std::vector<UserSession> users = read_users(dir / "utmp");
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].user, "alice");
  EXPECT_EQ(users[0].line, "tty1");
  EXPECT_EQ(users[0].since, 1795000000);
  EXPECT_EQ(users[1].user, "bob");
  EXPECT_TRUE(read_users(dir / "missing").empty());
}

TEST(ProbeTest, ReadsTheBootState) {
  TempDir dir;
  write_file(dir / "boot.json", R"({"version": 1, "mode": "reset", "host": "pc01",
      "mac": "52:54:00:aa:00:01", "server": "http://10.0.0.1:8080",
      "manifest": {"sha256": "abc"}, "commit": "def", "lower": "/run/goldroot/image",
      "middle": "/run/goldroot/middle", "upper": {"kind": "tmpfs", "path": "/run/u"}})");
  ASSERT_OK_AND_ASSIGN(BootState state, read_boot_state(dir / "boot.json"));
  EXPECT_EQ(state.host, "pc01");
  EXPECT_EQ(state.mode, "reset");
  EXPECT_EQ(state.manifest_sha256, "abc");
  EXPECT_EQ(state.upper_kind, "tmpfs");
  EXPECT_EQ(state.upper_path, "/run/u");
  // A whole copy made from the older one: what it fetched, what it made.
  write_file(dir / "copy.json", R"({"host": "pc02", "image": {"source": "seeded", "size": 1000000,
      "downloaded": 30000}})");
  ASSERT_OK_AND_ASSIGN(BootState copy, read_boot_state(dir / "copy.json"));
  RootStorage root;
  root.backing = "copy";
  count_whole_copy(copy, &root);
  EXPECT_EQ(root.fetched_bytes, 30000u);
  EXPECT_EQ(root.seeded_bytes, 970000u);
  write_file(dir / "bad.json", "{\"mode\": \"normal\"}");
  auto bad = read_boot_state(dir / "bad.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("names no host"), std::string::npos);
  EXPECT_FALSE(read_boot_state(dir / "missing.json").ok());
}

TEST(ProbeTest, ReadsWhereTheRootIsReadFrom) {
  TempDir dir;
  // No daemon: goldroot-boot downloaded the image whole.
  EXPECT_EQ(read_root_storage(dir / "blockd.json").backing, "copy");
  write_file(dir / "blockd.json", R"({"image": "ab", "backing": "network", "blocks": 1000,
      "present": 430, "fill_percent": 43, "fetched_bytes": 1761280, "reused_bytes": 0,
      "seeded_bytes": 8192, "cache": "disk", "verify_failures": 2, "last_error": "block 9 did not match"})");
  RootStorage root = read_root_storage(dir / "blockd.json");
  EXPECT_EQ(root.backing, "network");
  EXPECT_EQ(root.fill_percent(), 43);
  EXPECT_EQ(root.fetched_bytes, 1761280u);
  EXPECT_EQ(root.seeded_bytes, 8192u);
  EXPECT_EQ(root.verify_failures, 2u);
  EXPECT_EQ(root.error, "block 9 did not match");
  write_file(dir / "blockd.json", "{half");
  root = read_root_storage(dir / "blockd.json");
  EXPECT_EQ(root.backing, "");
  EXPECT_NE(root.error.find("is not a JSON object"), std::string::npos);
}

TEST(ProbeTest, SummarizesChangesOfAnUpperOverItsLower) {
  TempDir dir;
  write_file(dir / "lower/etc/motd", "welcome\n");
  write_file(dir / "lower/var/log/dpkg.log", "\n");
  write_file(dir / "upper/etc/motd", "welcome back\n");
  write_file(dir / "upper/etc/new", "x\n");
  write_file(dir / "upper/var/log/syslog", "ignored by default\n");
  Report report;
  ProbePaths paths;
  paths.ignore_file = dir / "no-ignore-file";
  BootState boot;
  boot.lower = dir / "lower";
  summarize_changes(boot, dir / "upper", paths, &report);
  EXPECT_TRUE(report.changes.error.empty()) << report.changes.error;
  EXPECT_TRUE(report.dirty);
  EXPECT_EQ(report.changes.total, 2u);
  EXPECT_EQ(report.changes.counts["added"], 1u);
  EXPECT_EQ(report.changes.counts["modified"], 1u);
  EXPECT_GE(report.changes.ignored, 1u);
  ASSERT_EQ(report.changes.paths.size(), 2u);
  EXPECT_EQ(report.changes.paths[0].path, "/etc/motd");
}

// The host layer sits between image and upper: a file it supplies that a
// user then edits is modified, not added; what it deletes (a whiteout) and
// the upper brings back is added; an untouched layer file is no change.
TEST(ProbeTest, ComparesWithTheHostLayerOverTheImage) {
  TempDir dir;
  write_file(dir / "image/etc/hostname", "template\n");
  write_file(dir / "image/etc/issue", "Debian\n");
  write_file(dir / "middle/etc/hostname", "pc01\n");
  write_file(dir / "middle/etc/goldroot/host.key", "k\n");
  if (::mknod((dir / "middle/etc/issue").c_str(), S_IFCHR | 0000, 0) != 0)
    GTEST_SKIP() << "a whiteout (char 0/0) needs CAP_MKNOD";
  write_file(dir / "upper/etc/hostname", "renamed\n");
  write_file(dir / "upper/etc/issue", "back\n");
  BootState boot;
  boot.lower = dir / "image";
  boot.middle = dir / "middle";
  ProbePaths paths;
  paths.ignore_file = dir / "no-ignore-file";
  Report report;
  summarize_changes(boot, dir / "upper", paths, &report);
  ASSERT_TRUE(report.changes.error.empty()) << report.changes.error;
  ASSERT_EQ(report.changes.paths.size(), 2u);
  EXPECT_EQ(report.changes.paths[0].path, "/etc/hostname");
  EXPECT_EQ(report.changes.paths[0].change, "modified");
  EXPECT_EQ(report.changes.paths[1].path, "/etc/issue");
  EXPECT_EQ(report.changes.paths[1].change, "added");
}

TEST(ProbeTest, ReportsTheErrorWhenChangesCannotBeRead) {
  TempDir dir;
  Report report;
  BootState boot;
  boot.lower = dir / "nolower";
  summarize_changes(boot, dir / "noupper", ProbePaths{}, &report);
  EXPECT_FALSE(report.changes.error.empty());
  EXPECT_FALSE(report.dirty);
}

TEST(ProbeTest, LastInputIsNullWithoutDevices) {
  TempDir dir;
  EXPECT_FALSE(last_input_activity(dir.path()).has_value());
}

}  // namespace
}  // namespace goldroot::agent
