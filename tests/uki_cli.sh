#!/usr/bin/env bash
# Signed unified kernel images (initrd/uki.h) and the site's Secure Boot key
# (crypto/secure_boot_key.h), as an admin meets them: `goldroot init` makes
# a key or takes the admin's, `site secure-boot` shows and imports one,
# `image uki` builds a UKI that sbverify accepts with the site's certificate
# and no other, with the image's kernel, both initrds and a host-less
# command line in its sections.
source "$(dirname "$0")/lib.sh"
for tool in objcopy objdump sbsign sbverify openssl; do
  command -v "$tool" >/dev/null || require "$tool (packages binutils, sbsigntool, openssl)"
done
[ -r /usr/lib/systemd/boot/efi/linuxx64.efi.stub ] || require "systemd's EFI stub (package systemd-boot-efi)"

# An admin's own pair, and a mismatched one.
make_pair() {
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.crt" -days 3650 \
    -subj "/CN=$2" 2>/dev/null
}
make_pair "$WORK/own" "lab Secure Boot"
make_pair "$WORK/other" "someone else"

export GOLDROOT_SITE="$WORK/mismatch"
expect_fail "init refuses a key with another key's certificate" \
  gr init --secure-boot-key "$WORK/own.key" --secure-boot-cert "$WORK/other.crt"
[ ! -e "$WORK/mismatch/keys/secureboot.key" ] || fail "a refused init left a Secure Boot key"

export GOLDROOT_SITE="$WORK/own-site"
gr init --secure-boot-key "$WORK/own.key" --secure-boot-cert "$WORK/own.crt" >/dev/null
cmp -s <(openssl x509 -in "$WORK/own.crt" -outform der) "$GOLDROOT_SITE/keys/secureboot.der" \
  || fail "init did not install the admin's certificate"
[ "$(stat -c %a "$GOLDROOT_SITE/keys/secureboot.key")" = 600 ] || fail "secureboot.key is not 0600"
ok "init takes the admin's Secure Boot key and certificate"

export GOLDROOT_SITE="$WORK/site"
gr init >/dev/null
for file in secureboot.key secureboot.crt secureboot.der; do
  [ -s "$GOLDROOT_SITE/keys/$file" ] || fail "init made no $file"
done
openssl x509 -in "$GOLDROOT_SITE/keys/secureboot.crt" -noout -subject | grep -q "Secure Boot" \
  || fail "the certificate's subject: $(openssl x509 -in "$GOLDROOT_SITE/keys/secureboot.crt" -noout -subject)"
gr site secure-boot >"$WORK/show"
grep -q "mokutil --import $GOLDROOT_SITE/keys/secureboot.der" "$WORK/show" || fail "show: $(cat "$WORK/show")"
ok "init makes a Secure Boot key; site secure-boot says how to enrol its certificate"

before=$(sha256sum <"$GOLDROOT_SITE/keys/secureboot.key")
expect_fail "import refuses a mismatched pair" \
  gr site secure-boot --import "$WORK/own.key" "$WORK/other.crt"
grep -q "nothing was imported" <<<"$LAST_ERROR" || fail "the refusal: $LAST_ERROR"
expect_fail "import never replaces a key without --force" \
  gr site secure-boot --import "$WORK/own.key" "$WORK/own.crt"
[ "$(sha256sum <"$GOLDROOT_SITE/keys/secureboot.key")" = "$before" ] || fail "a refused import changed the key"
ok "refused imports leave the key as it was"

# An existing site without a key gets one on first need.
rm "$GOLDROOT_SITE"/keys/secureboot.*
gr site secure-boot >/dev/null
[ -s "$GOLDROOT_SITE/keys/secureboot.key" ] || fail "no key made on first need"
ok "a site made before Secure Boot keys gets one on first need"

src="$WORK/src"
mkdir -p "$src/boot"
head -c 300000 /dev/urandom >"$src/boot/vmlinuz-6.1.0-9-amd64"
head -c 5000 /dev/urandom >"$src/boot/initrd.img-6.1.0-9-amd64"
gr image import "$src" --name img >/dev/null
tools=$(dirname "$GOLDROOT_BOOT")
agent_dir=$(dirname "${GOLDROOT_AGENT:-$GOLDROOT_BOOT}")
[ "$agent_dir" = "$tools" ] || { mkdir "$WORK/tools"; ln -s "$GOLDROOT_BOOT" "$GOLDROOT_AGENT" "$WORK/tools/"; tools="$WORK/tools"; }
start=$(date +%s%N)
uki=$(gr image uki img --server http://10.1.0.1:8080 --kernel-args console=ttyS0 --tools-dir "$tools")
elapsed=$((($(date +%s%N) - start) / 1000000))
[ -f "$uki" ] || fail "image uki printed no file: $uki"
case "$uki" in "$GOLDROOT_SITE/exports/uki/"*.efi) ;; *) fail "the UKI is not under exports/uki: $uki" ;; esac
[ "$(basename "$uki" .efi)" = "$(sha256sum <"$uki" | cut -c1-64)" ] || fail "the UKI is not named by its sha256"
sbverify --cert "$GOLDROOT_SITE/keys/secureboot.crt" "$uki" >/dev/null 2>&1 || fail "sbverify refuses the site's UKI"
! sbverify --cert "$WORK/other.crt" "$uki" >/dev/null 2>&1 || fail "sbverify accepts it with another certificate"
sections=$(objdump -h "$uki")
for section in .osrel .cmdline .linux .initrd; do
  grep -q " $section " <<<"$sections" || fail "no $section section: $sections"
done
ok "image uki builds a UKI signed with the site's key, with .osrel .cmdline .linux .initrd ($(stat -c %s "$uki") bytes, ${elapsed} ms)"

objcopy -O binary --only-section=.cmdline "$uki" "$WORK/cmdline"
[ "$(tr -d '\0' <"$WORK/cmdline")" = "boot=goldroot goldroot.server=http://10.1.0.1:8080 goldroot.mode=normal ip=dhcp console=ttyS0" ] \
  || fail "command line: $(tr -d '\0' <"$WORK/cmdline")"
objcopy -O binary --only-section=.linux "$uki" "$WORK/linux"
cmp -s "$WORK/linux" "$src/boot/vmlinuz-6.1.0-9-amd64" || fail "the .linux section is not the image's kernel"
objcopy -O binary --only-section=.initrd "$uki" "$WORK/initrd"
cmp -s -n 5000 "$WORK/initrd" "$src/boot/initrd.img-6.1.0-9-amd64" || fail "the .initrd does not start with the image's initrd"
tail -c +5001 "$WORK/initrd" | zcat 2>/dev/null | cpio -t --quiet 2>/dev/null | grep -qx usr/lib/goldroot/site.pub \
  || fail "the goldroot initrd does not follow the image's"
objcopy -O binary --only-section=.osrel "$uki" "$WORK/osrel"
grep -q '^PRETTY_NAME="goldroot image img (' "$WORK/osrel" || fail "os-release: $(cat "$WORK/osrel")"
ok "its sections hold the host-less command line, the kernel, the image's initrd then the goldroot initrd, and the image's name"

again=$(gr image uki img --server http://10.1.0.1:8080 --kernel-args console=ttyS0 --tools-dir "$tools" 2>"$WORK/again.err")
[ "$again" = "$uki" ] || fail "a second build gave another file"
grep -q "already built" "$WORK/again.err" || fail "the second build was not reused: $(cat "$WORK/again.err")"
reset=$(gr image uki img --mode reset --server http://10.1.0.1:8080 --tools-dir "$tools" 2>/dev/null)
[ "$reset" != "$uki" ] || fail "another mode gave the same UKI"
ok "the same inputs reuse the build; another mode is another UKI"

expect_fail "an unknown mode is one sentence" gr image uki img --mode rset --server http://s --tools-dir "$tools"
expect_fail "a server that is no URL is one sentence" gr image uki img --server "10.1.0.1 x" --tools-dir "$tools"

gr site secure-boot --import "$WORK/own.key" "$WORK/own.crt" --force >/dev/null
resigned=$(gr image uki img --server http://10.1.0.1:8080 --kernel-args console=ttyS0 --tools-dir "$tools" 2>/dev/null)
[ "$resigned" != "$uki" ] || fail "a new key reused the UKI signed with the old one"
sbverify --cert "$WORK/own.crt" "$resigned" >/dev/null 2>&1 || fail "the new UKI is not signed with the imported key"
ok "after import --force, UKIs are signed with the imported key"
finish
