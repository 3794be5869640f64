#include "initrd/goldroot_initrd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "base/strings.h"
#include "image/tree_builder.h"
#include "initrd/cpio_writer.h"
#include "initrd/embedded_files.h"
#include "initrd/kernel_modules.h"
#include "store/store.h"
#include "sys/directory.h"
#include "sys/env.h"
#include "sys/unique_fd.h"

namespace goldroot {
namespace {

constexpr const char* kLib = "usr/lib/goldroot";

// One entry of the archive. Exactly one of `source` (a file to copy) and
// `text` is used for files.
struct Item {
  enum Kind { kDirectory, kFile, kSymlink } kind = kFile;
  std::string path;
  uint32_t mode = 0644;
  std::string source;
  std::string text;
  Digest digest;  // of the contents (files), for the recipe
};

// Runs NAME from libexec with the bundled loader and libraries.
std::string wrapper_script(const std::string& name, const std::string& loader,
                           const std::string& arguments, const std::string& environment) {
  return "#!/bin/sh\n"
         "# goldroot: runs " + name + " with the libraries it was built against.\n"
         "here=${0%/*}/..\n" + environment +
         "exec \"$here/lib/" + loader + "\" --library-path \"$here/lib\" \"$here/libexec/" + name +
         "\"" + (arguments.empty() ? "" : " " + arguments) + " \"$@\"\n";
}

// CACHE/<commit>.commit names the initrd that `commit` boots with, so that
// prune_goldroot_initrds knows which builds are still in use.
Status note_commit(Env* env, const std::string& cache_dir, const Digest& commit,
                   const Digest& initrd) {
  std::string path = cache_dir + "/" + commit.hex() + ".commit";
  std::string text = initrd.hex() + "\n";
  if (auto noted = env->read_file(path); noted.ok() && *noted == text) return {};
  return env->write_file_atomic(path, text);
}

class Recipe {
 public:
  void directory(const std::string& path) {
    // Directories the image's initrd has are left out: the kernel replaces
    // an existing entry of another type, so an entry "lib" would replace a
    // merged-/usr image's lib -> usr/lib symlink with an empty directory,
    // and an entry "lib/dracut/hooks" newer dracut's symlink to
    // /var/lib/dracut/hooks, where it looks for hooks. Files are written
    // through such symlinks; the dracut hooks of an image without dracut,
    // whose initrd lacks their directories, are not unpacked at all.
    if (path == "lib" || path == "usr" || path == "usr/lib" || starts_with(path, "lib/dracut")) return;
    if (!directories_.insert(path).second) return;
    size_t slash = path.rfind('/');
    if (slash != std::string::npos) directory(path.substr(0, slash));
    items_.push_back({Item::kDirectory, path, 0755, "", "", Digest()});
  }
  void text(const std::string& path, uint32_t mode, std::string contents) {
    parent(path);
    Digest digest = Sha256::of(contents);
    items_.push_back({Item::kFile, path, mode, "", std::move(contents), digest});
  }
  void file(const std::string& path, uint32_t mode, const std::string& source, Digest digest) {
    parent(path);
    items_.push_back({Item::kFile, path, mode, source, "", digest});
  }
  Status host_file(const std::string& path, uint32_t mode, const std::string& source) {
    uint64_t size = 0;
    Digest digest = TRY(sha256_of_file(source, &size));
    file(path, mode, source, digest);
    return ok_status();
  }
  // A binary of the server, its libraries (once each) and its wrapper.
  Status program(const std::string& name, const std::string& binary, const std::string& arguments = "",
                 const std::string& environment = "") {
    std::vector<std::string> libraries = TRY(shared_libraries(binary));
    std::string loader = basename_of(libraries.back());
    for (const std::string& library : libraries)
      if (libraries_.insert(basename_of(library)).second)
        TRY(host_file(std::string(kLib) + "/lib/" + basename_of(library), 0755, library));
    TRY(host_file(std::string(kLib) + "/libexec/" + name, 0755, binary));
    text(std::string(kLib) + "/bin/" + name, 0755,
         wrapper_script(name, loader, arguments, environment));
    return ok_status();
  }

  // What the archive will hold, as text: its digest names the build.
  Digest digest() const {
    Sha256 hash;
    for (const Item& item : items_) {
      std::string line = std::to_string(item.kind) + " " + item.path + " " +
                         std::to_string(item.mode) + " " + item.digest.hex() + "\n";
      hash.update(line);
    }
    return hash.finish();
  }

  Status write(CpioWriter& cpio) const {
    for (const Item& item : items_) {
      switch (item.kind) {
        case Item::kDirectory: TRY(cpio.add_directory(item.path, item.mode)); break;
        case Item::kSymlink: TRY(cpio.add_symlink(item.path, item.text)); break;
        case Item::kFile:
          if (item.source.empty()) TRY(cpio.add_file(item.path, item.mode, item.text));
          else TRY(cpio.add_file_from(item.path, item.mode, item.source));
          break;
      }
    }
    return ok_status();
  }

 private:
  void parent(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash != std::string::npos) directory(path.substr(0, slash));
  }
  std::vector<Item> items_;
  std::set<std::string> directories_, libraries_;
};

}  // namespace

std::string kernel_version_of(const std::string& kernel_path) {
  std::string name = basename_of(kernel_path);
  for (const char* prefix : {"vmlinuz-", "vmlinux-", "bzImage-"})
    if (starts_with(name, prefix)) return name.substr(std::string_view(prefix).size());
  return "";
}

Result<std::vector<std::string>> shared_libraries(const std::string& binary) {
  if (::access(binary.c_str(), X_OK) != 0) return errno_error("cannot run " + binary, errno);
  std::string command = "ldd '" + binary + "' 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) return errno_error("running ldd", errno);
  std::string output;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe.get())) > 0;) output.append(buffer, n);
  int status = ::pclose(pipe.release());
  if (status != 0)
    return make_error(ErrorCode::kIo, "ldd " + binary + " failed: " + std::string(trim(output)));
  std::vector<std::string> libraries;
  std::string loader;
  for (const std::string& raw : split(output, '\n')) {
    std::string line(trim(raw));
    size_t arrow = line.find("=> ");
    if (arrow != std::string::npos) {
      std::string path = line.substr(arrow + 3);
      path = path.substr(0, path.find(' '));
      if (path == "not")
        return make_error(ErrorCode::kNotFound, binary + " needs a library this server lacks: " + line);
      if (!path.empty() && path[0] == '/') libraries.push_back(path);
    } else if (!line.empty() && line[0] == '/') {
      loader = line.substr(0, line.find(' '));
    }
  }
  if (loader.empty())
    return make_error(ErrorCode::kInvalidArgument, binary + " is not a dynamically linked program");
  libraries.push_back(loader);
  return libraries;
}

Result<GoldrootInitrd> build_goldroot_initrd(const Store& store, const Digest& commit,
                                             const BootFile& kernel, const InitrdSources& sources,
                                             const std::string& cache_dir) {
  GoldrootInitrd initrd;
  initrd.kernel_version = kernel_version_of(kernel.path);

  Recipe recipe;
  const std::string lib = kLib;
  recipe.text("scripts/goldroot", 0644, std::string(embedded_file("initramfs-tools/goldroot")));
  recipe.text("lib/dracut/hooks/cmdline/90-goldroot.sh", 0755,
              std::string(embedded_file("dracut/90goldroot/parse-goldroot.sh")));
  recipe.text("lib/dracut/hooks/mount/90-goldroot.sh", 0755,
              std::string(embedded_file("dracut/90goldroot/mount-goldroot.sh")));
  for (const char* name : {"module-setup.sh", "parse-goldroot.sh", "mount-goldroot.sh"})
    recipe.text(lib + "/dracut/90goldroot/" + name, 0755,
                std::string(embedded_file(std::string("dracut/90goldroot/") + name)));
  recipe.text(lib + "/site.pub", 0644, sources.site_public_key);
  // goldroot-boot reads it beside site.pub and trusts https:// only with it.
  if (!sources.tls_pin.empty()) recipe.text(lib + "/tls.pin", 0644, sources.tls_pin + "\n");
  TRY(recipe.program("goldroot-boot", sources.tools_dir + "/goldroot-boot"));
  // The on-demand daemon (blockd/): goldroot-boot starts it for fetch=demand.
  std::string blockd = sources.tools_dir + "/goldroot-blockd";
  if (::access(blockd.c_str(), X_OK) == 0) TRY(recipe.program("goldroot-blockd", blockd));
  std::string agent = sources.tools_dir + "/goldroot-agent";
  std::string_view unit = embedded_file("goldroot-agent.service");
  if (::access(agent.c_str(), X_OK) == 0 && !unit.empty()) {
    TRY(recipe.program("goldroot-agent", agent));
    std::string text(unit);
    for (size_t at; (at = text.find("@AGENT@")) != std::string::npos;)
      text.replace(at, 7, "/run/goldroot/agent/bin/goldroot-agent");
    recipe.text(lib + "/goldroot-agent.service", 0644, text);
  }
  if (::access(sources.mke2fs.c_str(), X_OK) == 0) {
    std::string environment;
    if (::access("/etc/mke2fs.conf", R_OK) == 0) {
      TRY(recipe.host_file(lib + "/mke2fs.conf", 0644, "/etc/mke2fs.conf"));
      environment = "MKE2FS_CONFIG=$here/mke2fs.conf\nexport MKE2FS_CONFIG\n";
    }
    TRY(recipe.program("mke2fs", sources.mke2fs, "", environment));
    recipe.text(lib + "/bin/mkfs.ext4", 0755, "#!/bin/sh\nexec \"${0%/*}/mke2fs\" -t ext4 \"$@\"\n");
  }
  if (!initrd.kernel_version.empty()) {
    TreeBuilder tree = TRY(TreeBuilder::from_commit(store, commit));
    std::vector<ImageModule> modules = TRY(image_modules(store, tree, initrd.kernel_version));
    std::string order;
    for (const ImageModule& module : modules) {
      recipe.file(lib + "/modules/" + module.path, 0644,
                  store.objects().object_path(ObjectType::kFile, module.digest), module.digest);
      order += module.path + "\n";
    }
    recipe.text(lib + "/modules/order", 0644, order);
    initrd.modules = modules.size();
  }

  std::error_code error;
  std::filesystem::create_directories(cache_dir, error);
  if (error) return make_error(ErrorCode::kIo, "creating " + cache_dir + ": " + error.message());
  std::string ref_path = cache_dir + "/" + recipe.digest().hex() + ".ref";
  if (auto built = store.env()->read_file(ref_path); built.ok()) {
    auto digest = Digest::from_hex(std::string(trim(*built)));
    struct stat st;
    if (digest && ::stat((cache_dir + "/" + digest->hex() + ".img").c_str(), &st) == 0) {
      initrd.sha256 = *digest;
      initrd.path = cache_dir + "/" + digest->hex() + ".img";
      initrd.size = static_cast<uint64_t>(st.st_size);
      initrd.reused = true;
      TRY(note_commit(store.env(), cache_dir, commit, initrd.sha256));
      return initrd;
    }
  }

  std::string temporary = cache_dir + "/.build-" + std::to_string(::getpid()) + ".img";
  {
    CpioWriter cpio = TRY(CpioWriter::create(temporary));
    Status written = recipe.write(cpio);
    if (written.ok()) written = cpio.finish();
    if (!written.ok()) {
      ::unlink(temporary.c_str());
      return std::move(written).error();
    }
  }
  auto digest = sha256_of_file(temporary, &initrd.size);
  if (!digest.ok()) {
    ::unlink(temporary.c_str());
    return std::move(digest).error();
  }
  initrd.sha256 = *digest;
  initrd.path = cache_dir + "/" + initrd.sha256.hex() + ".img";
  // Durable under its name before its .ref says it is complete.
  TRY(store.env()->publish_file(temporary, initrd.path).context("storing " + initrd.path));
  TRY(store.env()->write_file_atomic(ref_path, initrd.sha256.hex() + "\n"));
  TRY(note_commit(store.env(), cache_dir, commit, initrd.sha256));
  return initrd;
}

Result<PruneReport> prune_goldroot_initrds(const std::string& cache_dir,
                                           const std::set<Digest>& keep, int64_t now,
                                           int64_t grace_seconds) {
  PruneReport report;
  UniqueFd dir(::open(cache_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) {
    if (errno == ENOENT) return report;
    return errno_error("opening " + cache_dir, errno);
  }
  auto remove = [&](const std::string& name, const struct stat& st) -> Status {
    if (::unlinkat(dir.get(), name.c_str(), 0) != 0 && errno != ENOENT)
      return errno_error("removing " + cache_dir + "/" + name, errno);
    ++report.files_removed;
    report.bytes_freed += static_cast<uint64_t>(st.st_size);
    return {};
  };
  auto read_digest = [&](const std::string& name) -> std::optional<Digest> {
    auto text = read_file_no_follow(cache_dir + "/" + name);
    if (!text.ok()) return std::nullopt;
    return Digest::from_hex(std::string(trim(*text)));
  };
  std::vector<std::string> names = TRY(read_directory(dir.get(), cache_dir));
  std::map<std::string, struct stat> files;
  for (const std::string& name : names) {
    struct stat st;
    if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
      files.emplace(name, st);
  }
  // 1. The notes of commits nobody boots any more; the others name what stays.
  std::set<std::string> in_use;
  for (const auto& [name, st] : files) {
    if (!ends_with(name, ".commit")) continue;
    auto commit = Digest::from_hex(name.substr(0, name.size() - 7));
    if (commit && keep.count(*commit)) {
      if (auto initrd = read_digest(name)) in_use.insert(initrd->hex() + ".img");
    } else if (commit) {
      TRY(remove(name, st));
    }
  }
  // 2. Initrds no note names, once past the grace period (a server may be
  //    between building one and noting it; a crashed build leaves .build-*).
  std::set<std::string> present;
  for (const auto& [name, st] : files) {
    if (!ends_with(name, ".img")) continue;
    if (in_use.count(name) || now - st.st_mtime < grace_seconds) {
      present.insert(name);
      continue;
    }
    TRY(remove(name, st));
  }
  // 3. Recipes whose build is gone.
  for (const auto& [name, st] : files) {
    if (!ends_with(name, ".ref")) continue;
    auto initrd = read_digest(name);
    if (!initrd || !present.count(initrd->hex() + ".img")) TRY(remove(name, st));
  }
  return report;
}

}  // namespace goldroot
