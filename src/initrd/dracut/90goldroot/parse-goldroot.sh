#!/bin/sh
# dracut cmdline hook: boot=goldroot means goldroot-boot provides the root.
if [ "$(getarg boot=)" = goldroot ]; then
    root=goldroot
    rootok=1
    # The network must be up before the mount hook runs goldroot-boot.
    getargbool 0 rd.neednet || echo "rd.neednet=1" > /etc/cmdline.d/90-goldroot.conf
    echo '[ -e /tmp/goldroot.net-up ] || ls /tmp/net.*.did-setup >/dev/null 2>&1' \
        > "$hookdir/initqueue/finished/goldroot.sh"
fi
