#include "initrd/kernel_modules.h"

#include "base/testing/testing.h"
#include "initrd/goldroot_initrd.h"

namespace goldroot {
namespace {

// Lines as Debian 12's depmod writes them.
constexpr const char* kModulesDep =
    "kernel/fs/erofs/erofs.ko: kernel/lib/libcrc32c.ko\n"
    "kernel/lib/libcrc32c.ko:\n"
    "kernel/crypto/crc32c_generic.ko:\n"
    "kernel/fs/overlayfs/overlay.ko:\n"
    "kernel/fs/btrfs/btrfs.ko: kernel/crypto/xor.ko kernel/lib/raid6/raid6_pq.ko kernel/lib/libcrc32c.ko\n"
    "kernel/drivers/block/loop.ko.xz:\n"
    "kernel/drivers/block/nbd.ko:\n"
    "kernel/drivers/md/dm-mod.ko:\n"
    "kernel/drivers/md/dm-bufio.ko: kernel/drivers/md/dm-mod.ko\n"
    "kernel/drivers/md/dm-verity.ko: kernel/drivers/md/dm-bufio.ko kernel/drivers/md/dm-mod.ko "
    "kernel/lib/reed_solomon/reed_solomon.ko\n"
    "kernel/lib/reed_solomon/reed_solomon.ko:\n";

TEST(KernelModules, LoadsDependenciesFirstAndEachOnce) {
  // squashfs is built in here: it is simply absent.
  EXPECT_EQ(module_load_order(kModulesDep, goldroot_module_names()),
            (std::vector<std::string>{"kernel/drivers/block/loop.ko.xz",
                                      "kernel/fs/overlayfs/overlay.ko",
                                      "kernel/crypto/crc32c_generic.ko", "kernel/lib/libcrc32c.ko",
                                      "kernel/fs/erofs/erofs.ko", "kernel/drivers/block/nbd.ko",
                                      "kernel/drivers/md/dm-mod.ko",
                                      "kernel/lib/reed_solomon/reed_solomon.ko",
                                      "kernel/drivers/md/dm-bufio.ko",
                                      "kernel/drivers/md/dm-verity.ko"}));
}

TEST(KernelModules, DependencyOfADependencyLoadsBeforeIt) {
  // depmod lists a's dependencies as "b c" where b needs c: c goes first.
  EXPECT_EQ(module_load_order("a.ko: b.ko c.ko\nb.ko: c.ko\nc.ko:\n", {"a"}),
            (std::vector<std::string>{"c.ko", "b.ko", "a.ko"}));
}

TEST(KernelModules, NamesAsModprobeKnowsThem) {
  EXPECT_EQ(module_name("kernel/arch/x86/crypto/crc32c-intel.ko.zst"), "crc32c_intel");
  EXPECT_EQ(module_name("erofs.ko"), "erofs");
}

TEST(KernelModules, KernelVersionFromTheFileName) {
  EXPECT_EQ(kernel_version_of("/boot/vmlinuz-6.1.0-13-amd64"), "6.1.0-13-amd64");
  EXPECT_EQ(kernel_version_of("/vmlinuz"), "");
}

}  // namespace
}  // namespace goldroot
