#!/bin/bash
# dracut module "goldroot": boot=goldroot for dracut-based images.
#
# The goldroot initrd that `goldroot serve` appends already carries the two
# hooks below (and goldroot-boot with its libraries), so a dracut image whose
# initrd has the `network` module boots without this module installed. Install
# it (copy this directory to /usr/lib/dracut/modules.d/90goldroot and run
# `dracut --add goldroot`) to make an image's own initrd goldroot-ready, e.g.
# to boot it from a local disk or to carry the network module for sure.
# goldroot-boot itself still comes from the goldroot initrd.

check() {
    return 255  # only when asked for (--add goldroot)
}

depends() {
    echo network
    return 0
}

installkernel() {
    instmods loop overlay erofs squashfs
}

install() {
    inst_hook cmdline 90 "$moddir/parse-goldroot.sh"
    inst_hook mount 90 "$moddir/mount-goldroot.sh"
    inst_multiple -o mkfs.ext4 blkid
}
