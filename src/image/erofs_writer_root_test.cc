// The native EROFS writer against the kernel: trees with every feature the
// store models are imported, written as erofs (compressed and flat),
// checked by fsck.erofs, loop-mounted, and compared with a checkout of the
// same commit — metadata, xattrs, ACLs, hardlinks and every byte.
// Needs root (mknod, trusted.* xattrs, loop mounts) and erofs in the kernel.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "base/testing/testing.h"
#include "image/checkout.h"
#include "image/erofs_writer.h"
#include "image/import.h"

namespace goldroot {
namespace {

using testing::read_file;
using testing::run;
using testing::run_output;
using testing::TempDir;
using testing::write_file;

// A loop mount of an image, undone when it goes out of scope.
class ScopedErofsMount {
 public:
  ScopedErofsMount(const std::string& image, const std::string& target) : target_(target) {
    ::mkdir(target.c_str(), 0755);
    mounted_ = run("mount -t erofs -o loop,ro " + image + " " + target) == 0;
  }
  ~ScopedErofsMount() {
    if (mounted_) run("umount " + target_ + " || umount -l " + target_);
  }
  bool mounted() const { return mounted_; }

 private:
  std::string target_;
  bool mounted_ = false;
};

std::string random_bytes(size_t length, uint32_t seed) {
  std::mt19937 generator(seed);
  std::string out(length, '\0');
  for (char& c : out) c = static_cast<char>(generator());
  return out;
}

void set_mtime(const std::string& path, int64_t sec, long nsec) {
  struct timespec times[2] = {{sec, nsec}, {sec, nsec}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
}

class ErofsWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mknod, trusted xattrs, loop mounts)";
    ASSERT_OK(store_.create());
  }

  // Every feature of the store's tree model, on tmpfs (which keeps trusted.*,
  // security.* and ACLs).
  void build_tree(const std::string& src) {
    write_file(src + "/empty", "");
    write_file(src + "/small", "hello\n");
    for (size_t size : {4032, 4033, 4095, 4096, 4097, 8191, 12293})
      write_file(src + "/sized/" + std::to_string(size),
                 random_bytes(size, size).substr(0, size / 2) + std::string(size - size / 2, 'z'));
    write_file(src + "/compressible-4097", std::string(4097, 'a'));
    write_file(src + "/random-100k", random_bytes(100000, 7));
    std::string text;
    for (int i = 0; text.size() < (1 << 20); ++i)
      text += "line " + std::to_string(i) + " of the log\n";
    std::string large =
        text + random_bytes(1 << 20, 1) + std::string(3 << 20, '\0') + text + random_bytes(777, 2);
    write_file(src + "/usr/lib/large.bin", large);
    write_file(src + "/usr/bin/tool", text.substr(0, 50000));
    ASSERT_EQ(::chmod((src + "/usr/bin/tool").c_str(), 04755), 0);
    ASSERT_EQ(::link((src + "/usr/bin/tool").c_str(), (src + "/usr/bin/tool-link").c_str()), 0);
    ASSERT_EQ(::link((src + "/usr/bin/tool").c_str(), (src + "/tool-at-root").c_str()), 0);
    ASSERT_EQ(::link((src + "/small").c_str(), (src + "/usr/small-link").c_str()), 0);
    ASSERT_EQ(::mkdir((src + "/tmp").c_str(), 01777), 0);
    ASSERT_EQ(::chmod((src + "/tmp").c_str(), 01777), 0);
    ASSERT_EQ(::mkdir((src + "/shared").c_str(), 02775), 0);
    ASSERT_EQ(::chmod((src + "/shared").c_str(), 02775), 0);
    ASSERT_EQ(::mkdir((src + "/empty-dir").c_str(), 0700), 0);
    ASSERT_EQ(::mkdir((src + "/dev").c_str(), 0755), 0);
    ASSERT_EQ(::mknod((src + "/dev/null").c_str(), S_IFCHR | 0666, ::makedev(1, 3)), 0);
    ASSERT_EQ(::mknod((src + "/dev/loop0").c_str(), S_IFBLK | 0660, ::makedev(7, 0)), 0);
    ASSERT_EQ(::mknod((src + "/dev/big").c_str(), S_IFCHR | 0600, ::makedev(4095, 1048575)), 0);
    ASSERT_EQ(::mkfifo((src + "/dev/fifo").c_str(), 0644), 0);
    int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    std::string socket_path = src + "/dev/socket";
    ASSERT_LT(socket_path.size(), sizeof(address.sun_path));
    std::strcpy(address.sun_path, socket_path.c_str());
    ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ::close(sock);
    ASSERT_EQ(::symlink("/usr/bin/tool", (src + "/abs-link").c_str()), 0);
    ASSERT_EQ(::symlink("missing", (src + "/dangling").c_str()), 0);
    ASSERT_EQ(::symlink(std::string(4000, 'p').c_str(), (src + "/long-link").c_str()), 0);
    ASSERT_EQ(::lchown((src + "/usr/bin/tool").c_str(), 100000, 70000), 0);
    ASSERT_EQ(::lchown((src + "/abs-link").c_str(), 1234, 5678), 0);
    ASSERT_EQ(::lchown((src + "/shared").c_str(), 65536, 4294967294u), 0);
    // A directory of many blocks, and names with any bytes.
    for (int i = 0; i < 600; ++i)
      write_file(src + "/many/" + std::string(90, 'n') + std::to_string(i), std::to_string(i));
    for (std::string name : {std::string("\x01\xff odd name\nwith newline"), std::string("!bang"),
                             std::string("-dash"), std::string(" space"), std::string(255, 'L'),
                             std::string("\xe2\x9c\x93 utf8")})
      write_file(src + "/names/" + name, name);
    // xattrs of every namespace erofs has a prefix for, ACLs included.
    std::string cap = "0x0100000200200000000000000000000000000000";
    ASSERT_EQ(run("setfattr -n security.capability -v " + cap + " " + src + "/usr/bin/tool"), 0);
    ASSERT_EQ(run("setfattr -n user.comment -v 'a user note' " + src + "/small"), 0);
    ASSERT_EQ(run("setfattr -n trusted.overlay.opaque -v y " + src + "/shared"), 0);
    ASSERT_EQ(
        run("setfattr -n user.big -v 0x" + std::string(3000, 'a') + " " + src + "/sized/4033"), 0);
    // Xattrs larger than a block: the inode spans blocks.
    ASSERT_EQ(
        run("setfattr -n user.big -v 0x" + std::string(6000, 'b') + " " + src + "/sized/4095"), 0);
    ASSERT_EQ(
        run("setfattr -n user.big2 -v 0x" + std::string(6000, 'c') + " " + src + "/sized/4095"), 0);
    ASSERT_EQ(run("setfattr -n user.big -v 0x" + std::string(7000, 'd') + " " + src + "/usr/lib"),
              0);
    ASSERT_EQ(run("setfacl -m u:1234:rwx,g:99:r " + src + "/sized/4096"), 0);
    ASSERT_EQ(run("setfacl -d -m u:1234:rx " + src + "/shared"), 0);
    ASSERT_EQ(run("setfattr -h -n trusted.link -v t " + src + "/abs-link"), 0);
    // Nanosecond mtimes everywhere, directories last.
    ASSERT_EQ(run("cd " + src +
                  " && find . -depth -print0 | xargs -0 touch -h -d "
                  "'2021-03-04 05:06:07.123456789'"),
              0);
    set_mtime(src + "/small", 1600000000, 999999999);
    set_mtime(src + "/dev", 17, 1);
    set_mtime(src + "/dev/null", -86400, 5);
  }

  Digest import(const std::string& src) {
    auto result = import_directory(store_, src, {"img", ""});
    EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
    return result.ok() ? result->commit : Digest{};
  }

  void expect_same_ranges(const std::string& expected_path, const std::string& actual_path) {
    std::string expected = read_file(expected_path);
    int fd = ::open(actual_path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    std::mt19937 generator(11);
    for (int i = 0; i < 200; ++i) {
      size_t offset = generator() % expected.size();
      size_t length = std::min<size_t>(1 + generator() % 20000, expected.size() - offset);
      std::string actual(length, '\0');
      ASSERT_EQ(::pread(fd, actual.data(), length, static_cast<off_t>(offset)),
                static_cast<ssize_t>(length));
      ASSERT_EQ(actual, expected.substr(offset, length)) << "at " << offset << "+" << length;
    }
    ::close(fd);
  }

  // Writes the image and checks it against a checkout of the commit.
  void write_and_compare(const Digest& commit, const ErofsOptions& options) {
    std::string image = temp_ / "image.erofs";
    auto stats = write_erofs(store_, commit, image, options);
    ASSERT_OK(stats);
    EXPECT_EQ(run("fsck.erofs " + image), 0);
    std::string checkout_dir = shm_ / "checkout";
    if (::access(checkout_dir.c_str(), F_OK) != 0)
      ASSERT_OK(checkout(store_, commit, checkout_dir));
    std::string mount_dir = temp_ / "mnt";
    ScopedErofsMount mount(image, mount_dir);
    ASSERT_TRUE(mount.mounted()) << "the kernel refused the image";
    // Random reads first, while nothing is cached: the kernel must find
    // each extent from any offset (the lookback through lcluster indexes).
    expect_same_ranges(checkout_dir + "/usr/lib/large.bin", mount_dir + "/usr/lib/large.bin");
    EXPECT_EQ(run_output("rsync -aHAXnci --numeric-ids " + checkout_dir + "/ " + mount_dir + "/"),
              "");
    // rsync compares mtimes to the second; the overlay tracker needs nanoseconds.
    std::string listing =
        "find . -printf '%p %y %m %U %G %T@ %l\\n' | sort; "
        "find . ! -type d -printf '%p %s %n\\n' | sort; "
        "find . \\( -type b -o -type c \\) -exec stat -c '%n %t:%T' {} + | sort; "
        "find . -print0 | sort -z | xargs -0 getfattr -h -d -m - -e hex 2>/dev/null; "
        "find . -type f -print0 | sort -z | xargs -0 sha256sum";
    std::string expected = run_output("cd " + checkout_dir + " && (" + listing + ")");
    std::string actual = run_output("cd " + mount_dir + " && (" + listing + ")");
    EXPECT_GT(expected.size(), 1000u);
    EXPECT_EQ(actual, expected);
    EXPECT_EQ(run("cmp " + checkout_dir + "/usr/lib/large.bin " + mount_dir + "/usr/lib/large.bin"),
              0);
    struct stat a, b;
    ASSERT_EQ(::stat((mount_dir + "/usr/bin/tool").c_str(), &a), 0);
    ASSERT_EQ(::stat((mount_dir + "/tool-at-root").c_str(), &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino);
    EXPECT_EQ(a.st_nlink, 3u);
    EXPECT_EQ(a.st_mtim.tv_nsec, 123456789);
    if (options.compression == ErofsCompression::kLz4hc) {
      EXPECT_GT(stats->compressed_files, 0u);
      // Compressed files take fewer blocks than their size.
      ASSERT_EQ(::stat((mount_dir + "/usr/lib/large.bin").c_str(), &a), 0);
      EXPECT_LT(a.st_blocks * 512, a.st_size / 2);
    } else {
      EXPECT_EQ(stats->compressed_files, 0u);
    }
  }

  TempDir temp_;
  TempDir shm_{"/dev/shm"};
  PosixEnv env_;
  Store store_{&env_, temp_ / "store"};
};

TEST_F(ErofsWriterTest, CompressedImageReproducesTheCommit) {
  std::string src = shm_ / "src";
  build_tree(src);
  Digest commit = import(src);
  // The 6 MiB file goes through the streaming path; the rest in memory.
  write_and_compare(commit, {.stream_threshold = 1 << 20});
}

TEST_F(ErofsWriterTest, FlatImageReproducesTheCommit) {
  std::string src = shm_ / "src";
  build_tree(src);
  Digest commit = import(src);
  write_and_compare(commit, {.compression = ErofsCompression::kNone});
}

TEST_F(ErofsWriterTest, SameCommitGivesTheSameBytesWhateverTheThreadsOrStreaming) {
  std::string src = shm_ / "src";
  build_tree(src);
  Digest commit = import(src);
  ASSERT_OK(write_erofs(store_, commit, temp_ / "one.erofs", {.threads = 1}));
  ASSERT_OK(write_erofs(store_, commit, temp_ / "four.erofs", {.threads = 4}));
  EXPECT_EQ(run("cmp " + temp_ / "one.erofs" + " " + temp_ / "four.erofs"), 0);
  // Streaming large files through a window (the 6 MiB one compressed, the
  // random 100 kB one falling back to flat) writes the same bytes.
  ASSERT_OK(write_erofs(store_, commit, temp_ / "streamed.erofs",
                        {.threads = 2, .stream_threshold = 64 << 10}));
  EXPECT_EQ(run("cmp " + temp_ / "one.erofs" + " " + temp_ / "streamed.erofs"), 0);
  ASSERT_OK(write_erofs(store_, commit, temp_ / "flat.erofs",
                        {.compression = ErofsCompression::kNone, .threads = 1}));
  ASSERT_OK(write_erofs(store_, commit, temp_ / "flat-streamed.erofs",
                        {.compression = ErofsCompression::kNone, .stream_threshold = 64 << 10}));
  EXPECT_EQ(run("cmp " + temp_ / "flat.erofs" + " " + temp_ / "flat-streamed.erofs"), 0);
}

TEST_F(ErofsWriterTest, AnXattrErofsHasNoPrefixForIsRefused) {
  std::string src = shm_ / "src";
  write_file(src + "/a", "a");
  Digest commit = import(src);
  // No filesystem lets us set system.* freely: build the tree by hand.
  ASSERT_OK_AND_ASSIGN(Commit parsed, store_.objects().read_commit(commit));
  ASSERT_OK_AND_ASSIGN(Tree root, store_.objects().read_tree(parsed.root));
  ASSERT_OK_AND_ASSIGN(Tree top, store_.objects().read_tree(root.entries[0].digest));
  top.entries[0].xattrs = {{"system.nfs4_acl", "x"}};
  Transaction transaction(&store_.objects());
  ASSERT_OK(transaction.begin());
  ASSERT_OK_AND_ASSIGN(Digest top_digest,
                       transaction.add_bytes(ObjectType::kTree, top.serialize()));
  root.entries[0].digest = top_digest;
  ASSERT_OK_AND_ASSIGN(Digest root_digest,
                       transaction.add_bytes(ObjectType::kTree, root.serialize()));
  parsed.root = root_digest;
  ASSERT_OK_AND_ASSIGN(Digest edited,
                       transaction.add_bytes(ObjectType::kCommit, parsed.serialize()));
  ASSERT_OK(transaction.commit());
  auto result = write_erofs(store_, edited, temp_ / "image.erofs", {});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("system.nfs4_acl"), std::string::npos);
}

}  // namespace
}  // namespace goldroot
