// BootOptions: what goldroot-boot reads from the kernel command line.
//
//   boot=goldroot goldroot.server=http://10.0.0.1:8080 goldroot.mac=52:54:00:aa:00:01
//   goldroot.host=pc01 goldroot.mode=reset goldroot.manifest=URL
//   goldroot.data=GOLDROOT-DATA goldroot.format=yes
//
// `goldroot.server` is the boot server's origin; `goldroot.manifest`
// overrides the manifest URL (default SERVER/api/v1/boot/MAC). The MAC is
// `goldroot.mac`, else BOOTIF's (01-52-54-00-…), else none: a unified
// kernel image's command line is the same for every host of an image and
// mode, so it names no host, and goldroot-boot then asks the interface the
// initramfs configured (boot_interface.h) and calls set_boot_mac.
// `goldroot.data` names the label of the local data partition (default
// GOLDROOT-DATA; "none" keeps every boot in RAM); `goldroot.format=no`
// forbids formatting a partition that only carries the GPT name.
// `goldroot.retry=SECONDS` is how long the initramfs glue waits before a
// failed boot tries again (default 20; retry_backoff.h doubles it while
// the server keeps refusing). `goldroot.install=LABEL` names install mode's
// target (GOLDROOT-ROOT). Words that
// are not ours are ignored; quoted values ("a b") are unquoted the way the
// kernel does. Mode names match the fleet's (fleet/boot_mode.h), which
// the server writes into each host's iPXE script. Plain value; functions are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace goldroot::boot {

enum class BootMode {
  kNormal,       // tmpfs upper (or the data partition, kept), image downloaded each boot
  kReset,        // the upper is discarded before mounting
  kMaintenance,  // persistent upper on the data partition
  kCache,        // keep a verified copy; boot from it when the server is unreachable
  kInstall,      // copy image + host layer onto the GOLDROOT-ROOT partition and run from it
  kShell,        // as normal, but a failure drops to a shell (the glue's job)
};

const char* boot_mode_name(BootMode mode);
Result<BootMode> parse_boot_mode(std::string_view name);

struct BootOptions {
  bool goldroot = false;  // boot=goldroot was given
  std::string server;     // origin, no trailing slash
  std::string manifest_url;
  std::string mac;   // "52:54:00:aa:00:01"; "" until known
  std::string host;  // informational; the manifest names the host
  BootMode mode = BootMode::kNormal;
  std::string data_label = "GOLDROOT-DATA";  // "" when goldroot.data=none
  bool format_allowed = true;
  std::string install_label = "GOLDROOT-ROOT";  // install mode's target partition
  int64_t retry_seconds = 20;                   // goldroot.retry: the glue's first wait
};

// Parses a command line such as /proc/cmdline. Fails when boot=goldroot is
// present but neither a server nor a manifest URL is, on a malformed MAC
// (goldroot.mac, BOOTIF) or on an unknown mode. Without a MAC and a
// manifest URL, manifest_url stays "" for set_boot_mac.
Result<BootOptions> parse_kernel_cmdline(std::string_view cmdline);

// Sets the MAC found on the machine and, unless the command line gave one,
// the manifest URL SERVER/api/v1/boot/MAC.
void set_boot_mac(BootOptions* options, const std::string& mac);

// "52-54-00-AA-00-01" or "52:54:00:aa:00:01" -> "52:54:00:aa:00:01"; a
// sentence naming `what` for anything else.
Result<std::string> parse_mac_address(std::string_view text, std::string_view what);

}  // namespace goldroot::boot
