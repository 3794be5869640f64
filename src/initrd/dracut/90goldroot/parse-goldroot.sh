#!/bin/sh
# dracut cmdline hook: boot=goldroot means goldroot-boot provides the root.
if [ "$(getarg boot=)" = goldroot ]; then
    root=goldroot
    rootok=1
    # The network must be up before the mount hook runs goldroot-boot.
    # dracut's emergency shell is a root shell without a password (its
    # sulogin -e, as the image's root is locked): a lab PC whose network or
    # initrd fails reboots into PXE instead. Only the server's verified
    # manifest gives a shell (mount-goldroot.sh). Options typed on the
    # kernel command line come after these and win, as they do for
    # initramfs-tools' break=.
    echo "rd.neednet=1 rd.shell=0 rd.emergency=reboot" > /etc/cmdline.d/90-goldroot.conf
    echo 'ls /tmp/net.*.did-setup >/dev/null 2>&1' > "$hookdir/initqueue/finished/goldroot.sh"
fi
