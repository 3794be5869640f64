// Unified kernel images: one signed EFI program per image and boot mode —
// systemd's EFI stub (Debian's systemd-boot-efi) with the image's kernel,
// its initrd followed by the goldroot initrd, the kernel command line and
// an os-release added as PE sections, signed with the site's Secure Boot
// key (crypto/secure_boot_key.h) by sbsign. A PC whose firmware trusts
// that key runs it and nothing the site did not sign; under Secure Boot the
// stub ignores a command line the firmware passes, so the signed one holds.
//
// Debian 12's systemd (252) has no ukify: objcopy adds the sections at
// addresses computed here from the stub's own section table, each after
// the last, page-aligned, in the order .osrel .cmdline .linux .initrd.
//
// The command line names no host (boot=goldroot goldroot.server=URL
// goldroot.mode=MODE ip=dhcp + extra arguments): every host of an image and
// mode boots the same file, and goldroot-boot learns its MAC from the
// interface DHCP configured (boot/boot_interface.h).
//
// Builds are cached in a directory: `<sha256>.efi`, and `<recipe>.ref`
// naming the build of a given set of inputs (their digests, the command
// line, the os-release, the certificate), so asking again costs hashing
// the inputs. Written to a temporary name and renamed, so a reader never
// sees half a file. Functions only; thread-safe for distinct processes and
// threads (temporary names are unique).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/hash.h"
#include "base/result.h"
#include "sys/env.h"

namespace goldroot {

class Site;

inline constexpr const char* kSystemdStub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";

// A PE/COFF section of the stub: its address is the VMA objcopy speaks of
// (image base + relative virtual address).
struct PeSection {
  std::string name;
  uint64_t address = 0;
  uint64_t size = 0;  // in memory: the larger of its virtual and raw size
};
struct PeImage {
  uint64_t image_base = 0;
  uint32_t section_alignment = 0;
  std::vector<PeSection> sections;
};

// Reads the section table of a PE32+ file's contents; a sentence for
// anything else.
Result<PeImage> parse_pe_image(std::string_view contents);

// Where sections of `sizes` go, in order: after the stub's last section,
// each aligned to a page (or the stub's larger alignment). The addresses
// never overlap each other or the stub's sections.
std::vector<uint64_t> place_sections(const PeImage& stub, const std::vector<uint64_t>& sizes);

// "boot=goldroot goldroot.server=URL goldroot.mode=MODE ip=dhcp ARGS".
// Refuses an unknown mode, a server URL that is not http(s):// or holds
// spaces or quotes, and arguments with control characters.
Result<std::string> uki_command_line(std::string_view server, std::string_view mode,
                                     std::string_view extra_arguments);

// The .osrel section: systemd-boot shows PRETTY_NAME in its menu.
std::string uki_os_release(std::string_view image_name, const Digest& commit);

struct UkiInputs {
  std::string stub = kSystemdStub;
  std::string kernel;                // a file
  std::vector<std::string> initrds;  // files, concatenated in this order
  std::string command_line;
  std::string os_release;
  std::string key, certificate;  // sbsign's --key and --cert (files)
};

struct Uki {
  std::string path;  // DIR/<sha256>.efi
  Digest sha256;
  uint64_t size = 0;
  bool reused = false;
};

// Builds and signs the UKI of `inputs` in `output_dir`, or returns the
// cached one. Needs objcopy (binutils) and sbsign (sbsigntool).
Result<Uki> build_uki(Env* env, const UkiInputs& inputs, const std::string& output_dir);

// What a UKI of one of the site's images is for.
struct UkiOptions {
  std::string server;           // the boot server's URL, as clients reach it
  std::string kernel_arguments;  // e.g. "console=ttyS0"
  std::string image_name;       // for PRETTY_NAME; "" shows the commit only
  // The server's TLS pin for the goldroot initrd; "" takes the site's when
  // `server` is https://.
  std::string tls_pin;
  std::string tools_dir;  // goldroot-boot and goldroot-agent; "" = beside this program
};

// The signed UKI that boots `commit` in `mode` (SITE/exports/uki/<sha256>.efi),
// built on first use: the image's kernel and initrd, its goldroot initrd
// (built too if needed), signed with the site's Secure Boot key (made if
// the site has none yet). `goldroot serve` calls it for hosts of labs
// marked uefi=uki. Calls for one site are to be serialized (as serve does
// its initrd builds): the goldroot initrd's build is not safe against a
// second one of the same process.
Result<std::string> uki_for(Site& site, const Digest& commit, std::string_view mode,
                            const UkiOptions& options);
// The same, with the build's size and whether it was cached (the CLI's).
Result<Uki> build_site_uki(Site& site, const Digest& commit, std::string_view mode,
                           const UkiOptions& options);

}  // namespace goldroot
