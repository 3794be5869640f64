#include "overlay/security_changes.h"

#include <sys/stat.h>

#include "base/testing/testing.h"

namespace goldroot {
namespace {

using Reasons = std::vector<std::string>;

Entry file(uint32_t mode, uint32_t uid = 0, uint32_t gid = 0) {
  Entry entry;
  entry.type = FileType::kRegular;
  entry.mode = mode;
  entry.uid = uid;
  entry.gid = gid;
  entry.size = 3;
  entry.digest = Sha256::of("abc");
  entry.mtime_sec = 1795000000;
  return entry;
}

Reasons added(const std::string& path, const Entry& entry) {
  return security_reasons({path, ChangeKind::kAdded, nullptr, &entry});
}
Reasons changed(const std::string& path, const Entry& before, const Entry& after) {
  ChangeKind kind = before.same_content(after) ? ChangeKind::kMetadata : ChangeKind::kModified;
  return security_reasons({path, kind, &before, &after});
}
Reasons deleted(const std::string& path, const Entry& entry) {
  return security_reasons({path, ChangeKind::kDeleted, &entry, nullptr});
}

// vfs_cap_data revision 2: magic_etc, then {permitted, inheritable} twice.
std::string capability_xattr(uint64_t permitted, bool effective) {
  auto le32 = [](uint32_t value) {
    std::string bytes(4, '\0');
    for (int i = 0; i < 4; ++i) bytes[i] = static_cast<char>(value >> (8 * i));
    return bytes;
  };
  return le32(0x02000000u | (effective ? 1 : 0)) + le32(static_cast<uint32_t>(permitted)) +
         le32(0) + le32(static_cast<uint32_t>(permitted >> 32)) + le32(0);
}

TEST(SecurityChangesTest, NewSetuidAndSetgidFiles) {
  EXPECT_EQ(added("/usr/local/bin/rootsh", file(04755)), Reasons{"setuid root"});
  EXPECT_EQ(added("/home/alice/sh", file(04755, 1000)), Reasons{"setuid uid 1000"});
  EXPECT_EQ(added("/usr/local/bin/g", file(02755, 0, 42)), Reasons{"setgid gid 42"});
  EXPECT_EQ(added("/tmp/both", file(06755)), (Reasons{"setuid root", "setgid root"}));
  // A setgid directory (/var/mail, shared project dirs) grants nothing.
  Entry directory = file(02775);
  directory.type = FileType::kDirectory;
  EXPECT_TRUE(added("/srv/shared", directory).empty());
}

TEST(SecurityChangesTest, ModeChangeThatAddsSetuidToAnExistingFile) {
  Entry before = file(0755);
  Entry after = file(04755);
  EXPECT_EQ(changed("/usr/bin/find", before, after), Reasons{"setuid root"});
  // Taking the bit away grants nothing.
  EXPECT_TRUE(changed("/usr/bin/find", after, before).empty());
}

TEST(SecurityChangesTest, ChangedContentOfASetuidFile) {
  Entry before = file(04755);
  Entry after = before;
  after.digest = Sha256::of("a shell");
  EXPECT_EQ(changed("/usr/bin/passwd", before, after), Reasons{"setuid root"});
  // Given to root: marked even though the bit was there.
  Entry theirs = file(04755, 1000);
  EXPECT_EQ(changed("/usr/local/bin/x", theirs, before), Reasons{"setuid root"});
}

TEST(SecurityChangesTest, DeletedSetuidFileIsNotMarked) {
  EXPECT_TRUE(deleted("/usr/bin/passwd", file(04755)).empty());
  EXPECT_TRUE(deleted("/usr/bin/ping", [] {
                Entry entry = file(0755);
                entry.xattrs = {{"security.capability", capability_xattr(1ull << 13, true)}};
                return entry;
              }()).empty());
}

TEST(SecurityChangesTest, OnlyTheMtimeChangedIsNotMarked) {
  Entry before = file(04755);
  Entry after = before;
  after.mtime_sec += 60;
  EXPECT_TRUE(changed("/usr/bin/passwd", before, after).empty());
  EXPECT_TRUE(changed("/etc/shadow", file(0640), [] {
                Entry entry = file(0640);
                entry.mtime_sec += 1;
                return entry;
              }()).empty());
}

TEST(SecurityChangesTest, FileCapabilities) {
  Entry entry = file(0755);
  entry.xattrs = {{"security.capability", capability_xattr(1ull << 7, true)}};
  EXPECT_EQ(added("/usr/local/bin/py", entry), Reasons{"file capabilities cap_setuid=ep"});
  entry.xattrs = {{"security.capability",
                   capability_xattr((1ull << 13) | (1ull << 10) | (1ull << 40), false)}};
  EXPECT_EQ(added("/usr/bin/ping", entry),
            Reasons{"file capabilities cap_net_bind_service,cap_net_raw,cap_checkpoint_restore=p"});
  // Added to an existing file: a metadata change, marked.
  Entry before = file(0755);
  EXPECT_EQ(changed("/usr/bin/python3", before, entry).size(), 1u);
  entry.xattrs = {{"security.capability", "junk"}};
  EXPECT_EQ(added("/usr/bin/x", entry), Reasons{"file capabilities unreadable"});
  // Other xattrs are not capabilities.
  entry.xattrs = {{"user.note", "hello"}};
  EXPECT_TRUE(added("/usr/bin/x", entry).empty());
}

TEST(SecurityChangesTest, DeviceNodes) {
  Entry disk;
  disk.type = FileType::kBlockDevice;
  disk.mode = 0666;
  disk.rdev = (8 << 8) | 0;
  EXPECT_EQ(added("/var/tmp/disk", disk), Reasons{"device node"});
}

TEST(SecurityChangesTest, WorldWritableFilesAndDirectories) {
  Entry directory = file(0777);
  directory.type = FileType::kDirectory;
  Entry before = directory;
  before.mode = 0755;
  EXPECT_EQ(changed("/etc", before, directory), Reasons{"world-writable"});
  EXPECT_EQ(added("/usr/bin/ls", file(0757)), Reasons{"world-writable"});
  // /tmp's sticky bit keeps users to their own files.
  directory.mode = 01777;
  EXPECT_TRUE(added("/srv/drop", directory).empty());
  Entry link;
  link.type = FileType::kSymlink;
  link.mode = 0777;
  EXPECT_TRUE(added("/srv/link", link).empty());
}

TEST(SecurityChangesTest, EachPathCategory) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/etc/sudoers", "sudoers"},
      {"/etc/sudoers.d/student", "sudoers"},
      {"/etc/sudoers.d", "sudoers"},
      {"/etc/shadow", "password hashes"},
      {"/etc/gshadow", "group passwords"},
      {"/etc/passwd", "user accounts"},
      {"/etc/group", "groups"},
      {"/root/.ssh/authorized_keys", "ssh authorized keys"},
      {"/home/alice/.ssh/authorized_keys", "ssh authorized keys"},
      {"/home/alice/.ssh/authorized_keys2", "ssh authorized keys"},
      {"/etc/ssh/sshd_config", "ssh server config"},
      {"/etc/ssh/sshd_config.d/10-keys.conf", "ssh server config"},
      {"/etc/pam.d/common-auth", "PAM config"},
      {"/etc/security/access.conf", "PAM config"},
      {"/lib/x86_64-linux-gnu/security/pam_unix.so", "PAM module"},
      {"/usr/lib/x86_64-linux-gnu/security/pam_permit.so", "PAM module"},
      {"/etc/systemd/system/backdoor.service", "systemd unit"},
      {"/etc/systemd/system/multi-user.target.wants/backdoor.service", "systemd unit"},
      {"/etc/systemd/system/daily.timer", "systemd timer"},
      {"/lib/systemd/system/ssh.service", "systemd unit"},
      {"/usr/lib/systemd/system/cron.service", "systemd unit"},
      {"/etc/systemd/system-generators/g", "systemd generator"},
      {"/etc/systemd/user/agent.service", "systemd user unit"},
      {"/usr/lib/systemd/user/agent.timer", "systemd user timer"},
      {"/home/alice/.config/systemd/user/miner.service", "systemd user unit"},
      {"/root/.config/systemd/user/default.target.wants/x.service", "systemd user unit"},
      {"/etc/crontab", "cron"},
      {"/etc/cron.d/job", "cron"},
      {"/etc/cron.hourly/job", "cron"},
      {"/etc/anacrontab", "cron"},
      {"/var/spool/cron/crontabs/root", "cron"},
      {"/etc/ld.so.preload", "ld.so.preload"},
  };
  for (const auto& [path, reason] : cases) {
    SCOPED_TRACE(path);
    EXPECT_EQ(added(path, file(0644)), Reasons{reason});
    EXPECT_EQ(changed(path, file(0644), file(0600)), Reasons{reason});
    // Deleting one matters too: a PAM file gone, a unit masked.
    EXPECT_EQ(deleted(path, file(0644)), Reasons{reason});
  }
}

TEST(SecurityChangesTest, PathsBesideTheCategoriesAreNotMarked) {
  for (const char* path : {"/etc/motd", "/etc/sudoers.bak.d/x", "/etc/shadowsocks.json",
                           "/etc/passwd-", "/etc/systemd/system.conf", "/etc/systemd/journald.conf",
                           "/usr/lib/python3/dist-packages/x/security/y.py", "/var/spool/cronx",
                           "/etc/ld.so.conf", "/home/alice/notes/authorized", "/etc/group.d/x",
                           "/opt/app/lib/systemd/system/x.service", "/home/alice/.bashrc"}) {
    SCOPED_TRACE(path);
    EXPECT_TRUE(added(path, file(0644)).empty());
  }
}

TEST(SecurityChangesTest, HarmlessChangesAreNotMarked) {
  EXPECT_TRUE(added("/etc/motd", file(0644)).empty());
  EXPECT_TRUE(added("/usr/local/bin/tool", file(0755)).empty());
  Entry before = file(0644);
  Entry after = before;
  after.digest = Sha256::of("welcome");
  EXPECT_TRUE(changed("/etc/motd", before, after).empty());
  EXPECT_TRUE(deleted("/etc/fstab", file(0644)).empty());
  Entry link;
  link.type = FileType::kSymlink;
  link.mode = 0777;
  link.target = "../etc/motd";
  EXPECT_TRUE(added("/srv/motd-link", link).empty());
}

TEST(SecurityChangesTest, SeveralReasonsAtOnce) {
  EXPECT_EQ(added("/etc/cron.daily/x", file(04755)), (Reasons{"setuid root", "cron"}));
}

}  // namespace
}  // namespace goldroot
