#!/bin/sh
# dracut mount hook: goldroot-boot mounts the overlay root at $NEWROOT. On
# failure: a shell when the server's verified manifest said shell mode
# (goldroot-boot writes /run/goldroot/mode), else retry every goldroot.retry
# seconds (default 20; longer while the server refuses this machine, as
# goldroot-boot leaves in /run/goldroot/retry), like the initramfs-tools script.
# Messages go to stderr, which dracut's mount service shows on the console.
[ "$root" = goldroot ] || return 0
GOLDROOT_LIB=/usr/lib/goldroot
PATH="$GOLDROOT_LIB/bin:$PATH"
for module in $(cat "$GOLDROOT_LIB/modules/order" 2>/dev/null); do
    name=${module##*/}
    modprobe -q "${name%%.ko*}" 2>/dev/null || insmod "$GOLDROOT_LIB/modules/$module" 2>/dev/null
done
mkdir -p /run/goldroot
retry=$(getarg goldroot.retry=)
attempt=1
until goldroot-boot --root "$NEWROOT" --site-key "$GOLDROOT_LIB/site.pub" --agent-from "$GOLDROOT_LIB"; do
    status=$?
    if [ "$(cat /run/goldroot/mode 2>/dev/null)" = shell ]; then
        # parse-goldroot.sh turned dracut's shell off; the manifest turns it on.
        echo "rd.shell=1" > /etc/cmdline.d/99-goldroot-shell.conf
        emergency_shell -n goldroot "goldroot: boot attempt $attempt failed (exit $status); shell mode gives you a shell"
        break
    fi
    # Longer while the server refuses this machine (goldroot-boot says how long).
    delay=$(cat /run/goldroot/retry 2>/dev/null)
    case "$delay" in ''|*[!0-9]*) delay=${retry:-20} ;; esac
    echo "goldroot: boot attempt $attempt failed (exit $status); trying again in $delay seconds" >&2
    sleep "$delay"
    attempt=$((attempt + 1))
done
ismounted "$NEWROOT" && echo "goldroot: root is ready" >&2
