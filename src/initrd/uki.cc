#include "initrd/uki.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "base/scope_guard.h"
#include "base/strings.h"
#include "crypto/site_key.h"
#include "crypto/tls_identity.h"
#include "image/export.h"
#include "initrd/goldroot_initrd.h"
#include "site/site.h"
#include "sys/run_tool.h"
#include "sys/unique_fd.h"

namespace goldroot {

namespace {

constexpr uint64_t kPage = 4096;
// The kernel skips zeros between the archives of an initramfs, and wants
// each cpio archive to start 4-byte aligned (iPXE pads the same way).
constexpr uint64_t kInitrdAlignment = 4;

uint64_t align_up(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

uint32_t read_u32(std::string_view bytes, size_t at) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = value << 8 | static_cast<uint8_t>(bytes[at + i]);
  return value;
}
uint16_t read_u16(std::string_view bytes, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(bytes[at]) |
                               static_cast<uint8_t>(bytes[at + 1]) << 8);
}
uint64_t read_u64(std::string_view bytes, size_t at) {
  return static_cast<uint64_t>(read_u32(bytes, at + 4)) << 32 | read_u32(bytes, at);
}

// The boot modes goldroot-boot knows (fleet/boot_mode.h, boot/kernel_cmdline.h).
bool known_mode(std::string_view mode) {
  for (const char* name : {"normal", "reset", "maintenance", "cache", "install", "shell"})
    if (mode == name) return true;
  return false;
}

// What os-release may quote: no quotes, backslashes, dollars or control characters.
std::string os_release_value(std::string_view text) {
  std::string value;
  for (char c : text)
    if (static_cast<unsigned char>(c) >= 0x20 && c != '"' && c != '\\' && c != '$' && c != '`' &&
        c != 0x7f)
      value += c;
  return value;
}

// Appends `source` to `out`, then zeros up to `alignment`.
Status append_file(int out, const std::string& source, uint64_t* offset, uint64_t alignment) {
  UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return errno_error("opening " + source, errno);
  char buffer[1 << 16];
  while (true) {
    ssize_t count = ::read(in.get(), buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) return errno_error("reading " + source, errno);
    if (count == 0) break;
    for (ssize_t written = 0; written < count;) {
      ssize_t n = ::write(out, buffer + written, static_cast<size_t>(count - written));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error("writing the UKI's initrd", errno);
      written += n;
    }
    *offset += static_cast<uint64_t>(count);
  }
  uint64_t padding = align_up(*offset, alignment) - *offset;
  if (padding) {
    char zeros[8] = {};
    if (::write(out, zeros, padding) != static_cast<ssize_t>(padding))
      return errno_error("writing the UKI's initrd", errno);
    *offset += padding;
  }
  return {};
}

Status write_text(const std::string& path, std::string_view text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_error("creating " + path, errno);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return errno_error("writing " + path, errno);
  return {};
}

std::string hex_address(uint64_t address) {
  char text[32];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(address));
  return text;
}

}  // namespace

Result<PeImage> parse_pe_image(std::string_view bytes) {
  auto bad = [](const std::string& why) {
    return make_error(ErrorCode::kInvalidArgument, "the EFI stub is not a PE32+ program: " + why);
  };
  if (bytes.size() < 0x40 || bytes.substr(0, 2) != "MZ") return bad("no MZ header");
  uint32_t pe = read_u32(bytes, 0x3c);
  if (uint64_t{pe} + 24 > bytes.size() || bytes.substr(pe, 4) != std::string_view("PE\0\0", 4))
    return bad("no PE signature");
  uint16_t section_count = read_u16(bytes, pe + 6);
  uint16_t optional_size = read_u16(bytes, pe + 20);
  size_t optional = pe + 24;
  if (optional_size < 40 || optional + optional_size > bytes.size())
    return bad("a short optional header");
  if (read_u16(bytes, optional) != 0x20b) return bad("not PE32+ (64-bit)");
  PeImage image;
  image.image_base = read_u64(bytes, optional + 24);
  image.section_alignment = read_u32(bytes, optional + 32);
  size_t table = optional + optional_size;
  if (table + size_t{section_count} * 40 > bytes.size()) return bad("a truncated section table");
  for (uint16_t i = 0; i < section_count; ++i) {
    size_t at = table + size_t{i} * 40;
    PeSection section;
    std::string_view name = bytes.substr(at, 8);
    section.name = std::string(name.substr(0, name.find('\0')));
    uint32_t virtual_size = read_u32(bytes, at + 8);
    uint32_t raw_size = read_u32(bytes, at + 16);
    section.address = image.image_base + read_u32(bytes, at + 12);
    section.size = std::max(virtual_size, raw_size);
    image.sections.push_back(std::move(section));
  }
  if (image.sections.empty()) return bad("no sections");
  return image;
}

std::vector<uint64_t> place_sections(const PeImage& stub, const std::vector<uint64_t>& sizes) {
  uint64_t alignment = std::max<uint64_t>(kPage, stub.section_alignment);
  uint64_t end = stub.image_base;
  for (const PeSection& section : stub.sections) end = std::max(end, section.address + section.size);
  std::vector<uint64_t> addresses;
  uint64_t next = align_up(end, alignment);
  for (uint64_t size : sizes) {
    addresses.push_back(next);
    next = align_up(next + std::max<uint64_t>(size, 1), alignment);
  }
  return addresses;
}

Result<std::string> uki_command_line(std::string_view server, std::string_view mode,
                                     std::string_view extra_arguments) {
  if (!known_mode(mode))
    return make_error(ErrorCode::kInvalidArgument,
                      "unknown mode \"" + printable(mode) +
                          "\" (expected normal, reset, maintenance, cache, install or shell)");
  bool web = starts_with(server, "http://") || starts_with(server, "https://");
  bool plain = std::all_of(server.begin(), server.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && c != '"' && c != 0x7f;
  });
  if (!web || !plain || server.size() > 512)
    return make_error(ErrorCode::kInvalidArgument,
                      "the server URL \"" + printable(server) +
                          "\" must be http:// or https:// with no spaces or quotes");
  for (char c : extra_arguments)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return make_error(ErrorCode::kInvalidArgument,
                        "the kernel arguments hold a control character: \"" +
                            printable(extra_arguments) + "\"");
  std::string url(server);
  while (!url.empty() && url.back() == '/') url.pop_back();
  std::string line = "boot=goldroot goldroot.server=" + url + " goldroot.mode=" +
                     std::string(mode) + " ip=dhcp";
  std::string_view extra = trim(extra_arguments);
  if (!extra.empty()) line += " " + std::string(extra);
  return line;
}

std::string uki_os_release(std::string_view image_name, const Digest& commit) {
  std::string short_commit = commit.hex().substr(0, 12);
  std::string name = os_release_value(image_name);
  std::string pretty = name.empty() ? "goldroot image " + short_commit
                                    : "goldroot image " + name + " (" + short_commit + ")";
  return "NAME=\"goldroot\"\nID=goldroot\nPRETTY_NAME=\"" + pretty + "\"\nVERSION_ID=\"" +
         short_commit + "\"\nIMAGE_ID=\"" + (name.empty() ? short_commit : name) +
         "\"\nIMAGE_VERSION=\"" + commit.hex() + "\"\n";
}

Result<Uki> build_uki(Env* env, const UkiInputs& inputs, const std::string& output_dir) {
  // The recipe: everything the signed file depends on.
  Sha256 recipe;
  auto add_file = [&](const char* role, const std::string& path) -> Status {
    uint64_t size = 0;
    Digest digest = TRY(sha256_of_file(path, &size).context("the UKI's " + std::string(role)));
    recipe.update(std::string(role) + " " + digest.hex() + "\n");
    return {};
  };
  TRY(add_file("stub", inputs.stub));
  TRY(add_file("kernel", inputs.kernel));
  for (const std::string& initrd : inputs.initrds) TRY(add_file("initrd", initrd));
  TRY(add_file("certificate", inputs.certificate));
  recipe.update("cmdline " + Sha256::of(inputs.command_line).hex() + "\nosrel " +
                Sha256::of(inputs.os_release).hex() + "\n");
  Digest recipe_digest = recipe.finish();

  std::error_code error;
  std::filesystem::create_directories(output_dir, error);
  if (error) return make_error(ErrorCode::kIo, "creating " + output_dir + ": " + error.message());
  Uki uki;
  std::string ref_path = output_dir + "/" + recipe_digest.hex() + ".ref";
  if (auto built = env->read_file(ref_path); built.ok()) {
    auto digest = Digest::from_hex(std::string(trim(*built)));
    struct stat st;
    if (digest && ::stat((output_dir + "/" + digest->hex() + ".efi").c_str(), &st) == 0) {
      uki.sha256 = *digest;
      uki.path = output_dir + "/" + digest->hex() + ".efi";
      uki.size = static_cast<uint64_t>(st.st_size);
      uki.reused = true;
      return uki;
    }
  }

  static std::atomic<unsigned> builds{0};
  std::string work = output_dir + "/.build-" + std::to_string(::getpid()) + "-" +
                     std::to_string(builds++);
  std::filesystem::remove_all(work, error);
  if (::mkdir(work.c_str(), 0700) != 0) return errno_error("creating " + work, errno);
  ScopeGuard cleanup([&] {
    std::error_code ignored;
    std::filesystem::remove_all(work, ignored);
  });

  std::string stub_text = TRY(env->read_file(inputs.stub));
  PeImage stub = TRY(parse_pe_image(stub_text).context(inputs.stub));
  std::string osrel = work + "/os-release", cmdline = work + "/cmdline", initrd = work + "/initrd";
  TRY(write_text(osrel, inputs.os_release));
  // systemd-stub takes the section's bytes as the line; the NUL ends it.
  TRY(write_text(cmdline, inputs.command_line + std::string(1, '\0')));
  uint64_t initrd_size = 0;
  {
    UniqueFd out(::open(initrd.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!out.valid()) return errno_error("creating " + initrd, errno);
    for (const std::string& part : inputs.initrds)
      TRY(append_file(out.get(), part, &initrd_size, kInitrdAlignment));
  }
  struct stat kernel_stat;
  if (::stat(inputs.kernel.c_str(), &kernel_stat) != 0)
    return errno_error("reading " + inputs.kernel, errno);
  std::vector<uint64_t> addresses =
      place_sections(stub, {inputs.os_release.size(), inputs.command_line.size() + 1,
                            static_cast<uint64_t>(kernel_stat.st_size), initrd_size});
  std::string unsigned_path = work + "/unsigned.efi", signed_path = work + "/signed.efi";
  TRY(run_tool({"objcopy",
                "--add-section", ".osrel=" + osrel, "--change-section-vma", ".osrel=" + hex_address(addresses[0]),
                "--add-section", ".cmdline=" + cmdline, "--change-section-vma", ".cmdline=" + hex_address(addresses[1]),
                "--add-section", ".linux=" + inputs.kernel, "--change-section-vma", ".linux=" + hex_address(addresses[2]),
                "--add-section", ".initrd=" + initrd, "--change-section-vma", ".initrd=" + hex_address(addresses[3]),
                inputs.stub, unsigned_path},
               "the unified kernel image"));
  TRY(run_tool({"sbsign", "--key", inputs.key, "--cert", inputs.certificate, "--output",
                signed_path, unsigned_path},
               "the unified kernel image's signature"));
  uki.sha256 = TRY(sha256_of_file(signed_path, &uki.size));
  uki.path = output_dir + "/" + uki.sha256.hex() + ".efi";
  // Durable under its name before its .ref says it is complete.
  TRY(env->publish_file(signed_path, uki.path).context("storing " + uki.path));
  TRY(env->write_file_atomic(ref_path, uki.sha256.hex() + "\n"));
  return uki;
}

}  // namespace goldroot

namespace goldroot {

// ---- The site's UKIs ------------------------------------------------------

Result<Uki> build_site_uki(Site& site, const Digest& commit, std::string_view mode,
                           const UkiOptions& options) {
  std::string command_line =
      TRY(uki_command_line(options.server, mode, options.kernel_arguments));
  Store& store = site.store();
  Artifact boot_files;
  boot_files.commit = commit;
  TRY(find_boot_files(store, commit, &boot_files));
  if (!boot_files.kernel || !boot_files.initrd)
    return make_error(ErrorCode::kNotFound,
                      "image " + commit.hex().substr(0, 12) +
                          " has no kernel or initrd in /boot, so it has no unified kernel image");
  InitrdSources sources;
  sources.tools_dir = options.tools_dir;
  if (sources.tools_dir.empty()) {
    std::error_code error;
    sources.tools_dir =
        std::filesystem::read_symlink("/proc/self/exe", error).parent_path().string();
  }
  sources.site_public_key = TRY(load_site_public_key(site.keys_dir())).to_pem();
  sources.tls_pin = options.tls_pin;
  if (sources.tls_pin.empty() && starts_with(options.server, "https://"))
    sources.tls_pin = TRY(tls_public_key_pin(site.keys_dir()));
  GoldrootInitrd goldroot_initrd =
      TRY(build_goldroot_initrd(store, commit, *boot_files.kernel, sources,
                                site.exports_dir() + "/initrd")
              .context("building the goldroot initrd"));
  SecureBootFiles key = TRY(site.secure_boot_key());

  UkiInputs inputs;
  inputs.kernel = store.objects().object_path(ObjectType::kFile, boot_files.kernel->sha256);
  inputs.initrds = {store.objects().object_path(ObjectType::kFile, boot_files.initrd->sha256),
                    goldroot_initrd.path};
  inputs.command_line = command_line;
  inputs.os_release = uki_os_release(options.image_name, commit);
  inputs.key = key.key;
  inputs.certificate = key.certificate;
  return build_uki(site.env(), inputs, site.exports_dir() + "/uki");
}

Result<std::string> uki_for(Site& site, const Digest& commit, std::string_view mode,
                            const UkiOptions& options) {
  Uki uki = TRY(build_site_uki(site, commit, mode, options));
  return uki.path;
}

}  // namespace goldroot
