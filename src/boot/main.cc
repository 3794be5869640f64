// goldroot-boot: assembles the overlay root in the initramfs (see
// boot/boot_sequence.h for the steps). Runs once and exits; the initramfs
// glue then switches root to --root.
//
//   goldroot-boot [--cmdline STRING] [--site-key PATH] [--host-key PATH] [--tls-pin PATH]
//                 [--root DIR] [--run-dir DIR] [--state PATH] [--cache-dir DIR]
//                 [--upper-dir DIR | --upper-device LABEL [--format-upper]]
//                 [--attempts N] [--agent-from DIR [--units-dir DIR]]
//
// --tls-pin names the server's TLS key pin (crypto/tls_pin.h; default:
// tls.pin beside the site key, as the goldroot initrd has them). Without
// one, an https:// server is refused, never trusted blindly.
//
// Without --upper-*, the command line decides: the partition labelled
// goldroot.data (default GOLDROOT-DATA) when the machine has one, else RAM.
//
// Exit codes (one "goldroot-boot: error: …" line on stderr otherwise):
//   0  the root is mounted and boot.json written
//   2  bad usage or command line (no boot=goldroot: exit 2 too, silently
//      unless --cmdline was given, so the glue can test for it)
//   3  the manifest could not be fetched (no network interface came up,
//      server unreachable, no cache; or
//      the server refused this host: its key waits for enrolment, or is
//      not the enrolled one, or its MAC is unknown). A refusal also leaves
//      the glue's next wait in RUN/retry, doubling while it lasts, and is
//      printed in full only when it differs from the last attempt's
//      (retry_backoff.h)
//   4  the manifest failed verification (signature, key, fields, another
//      MAC or request, expired, below the rollback floor)
//   5  the image could not be downloaded or failed its digest check
//   6  mounting the image, the host layer, the upper or the overlay failed
//   7  the boot record could not be written
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "boot/boot_interface.h"
#include "boot/boot_sequence.h"
#include "boot/http_fetch.h"
#include "boot/retry_backoff.h"
#include "crypto/tls_pin.h"

namespace {

using namespace goldroot;
using namespace goldroot::boot;

constexpr const char* kUsage =
    "usage: goldroot-boot [--cmdline STRING] [--site-key PATH] [--host-key PATH]\n"
    "                     [--tls-pin PATH] [--root DIR] [--run-dir DIR]\n"
    "                     [--state PATH] [--cache-dir DIR] [--upper-dir DIR]\n"
    "                     [--upper-device LABEL [--format-upper]] [--attempts N]\n"
    "                     [--agent-from DIR [--units-dir DIR]]\n";

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "goldroot-boot: error: %s\n", message.c_str());
  return code;
}

int exit_code_for(BootStage stage, const Error& error) {
  switch (stage) {
    case BootStage::kConfig: return 2;
    case BootStage::kManifest: return error.code == ErrorCode::kCorruption ? 4 : 3;
    case BootStage::kImage: return 5;
    case BootStage::kRecord: return 7;
    default: return 6;
  }
}

}  // namespace

int main(int argc, char** argv) {
  BootConfig config;
  std::string cmdline, tls_pin_path;
  bool cmdline_given = false, upper_given = false, format_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* argument = nullptr;
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (flag == "--format-upper") {
      config.upper.format = FormatPolicy::kAllowed;
      format_given = true;
      continue;
    }
    argument = value();
    if (!argument) return fail(2, "option " + flag + " needs a value\n" + kUsage);
    if (flag == "--cmdline") cmdline = argument, cmdline_given = true;
    else if (flag == "--site-key") config.site_key_path = argument;
    else if (flag == "--host-key") config.host_key_path = argument;
    else if (flag == "--tls-pin") tls_pin_path = argument;
    else if (flag == "--root") config.root = argument;
    else if (flag == "--run-dir") config.run_dir = argument;
    else if (flag == "--state") config.state_path = argument;
    else if (flag == "--cache-dir") config.cache_dir = argument;
    else if (flag == "--upper-dir") config.upper.kind = UpperKind::kDirectory, config.upper.directory = argument, upper_given = true;
    else if (flag == "--upper-device") config.upper.kind = UpperKind::kDevice, config.upper.label = argument, upper_given = true;
    else if (flag == "--agent-from") config.agent_from = argument;
    else if (flag == "--units-dir") config.units_dir = argument;
    else if (flag == "--attempts") config.download.max_attempts = std::atoi(argument);
    else return fail(2, "unknown option " + flag + "\n" + kUsage);
  }
  if (!cmdline_given) {
    std::ifstream in("/proc/cmdline");
    if (!in) return fail(2, "cannot read /proc/cmdline");
    std::stringstream text;
    text << in.rdbuf();
    cmdline = text.str();
  }
  auto options = parse_kernel_cmdline(cmdline);
  if (!options.ok()) return fail(2, options.error().message);
  if (!options->goldroot) {
    if (cmdline_given) return fail(2, "the command line does not say boot=goldroot");
    return 2;
  }
  config.options = std::move(options).value();
  if (config.options.mac.empty()) {
    // A unified kernel image's command line names no host: ask the
    // interface the initramfs brought up.
    auto mac = find_boot_mac("/run", "/sys/class/net", interfaces_with_ipv4());
    if (!mac.ok()) return fail(3, mac.error().message);
    set_boot_mac(&config.options, *mac);
    std::fprintf(stderr, "goldroot-boot: booting as %s\n", mac->c_str());
  }
  if (!upper_given && !config.options.data_label.empty()) {
    // The kernel command line's policy: the labelled partition when the
    // machine has one, RAM otherwise.
    config.upper.kind = UpperKind::kDevice;
    config.upper.label = config.options.data_label;
    config.upper.optional = true;
  }
  // Flags decide for themselves; otherwise goldroot.format does (data and
  // install partitions alike).
  if (!upper_given && !format_given && config.options.format_allowed)
    config.upper.format = FormatPolicy::kAllowed;

  if (tls_pin_path.empty())
    tls_pin_path = config.site_key_path.substr(0, config.site_key_path.rfind('/') + 1) + "tls.pin";
  auto pin = read_tls_pin_file(tls_pin_path);
  if (!pin.ok()) return fail(2, pin.error().message);
  config.download.fetch.pinned_public_key = *pin;
  config.tls_pin_path = tls_pin_path;

  http_global_init();
  BootStage stage = BootStage::kConfig;
  auto record = run_boot(config, &stage);
  if (!record.ok()) {
    const Error& error = record.error();
    int code = exit_code_for(stage, error);
    if (stage == BootStage::kManifest && is_refusal(error)) {
      // The glue waits longer each time; the screen keeps the answer.
      RetryAdvice advice =
          advise_retry(config.run_dir, error.message, config.options.retry_seconds);
      if (advice.same_answer) return fail(code, "the server still refuses this machine, as above");
      return fail(code, error.message);
    }
    forget_refusals(config.run_dir);
    return fail(code, error.message);
  }
  forget_refusals(config.run_dir);
  std::fprintf(stderr, "goldroot-boot: %s root from image %.12s (commit %.12s) mounted at %s in %lld ms\n",
               record->mode.c_str(), record->image_sha256.c_str(), record->commit.c_str(),
               record->root.c_str(), static_cast<long long>(record->total_ms));
  return 0;
}
