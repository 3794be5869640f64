// The jail and the tar helpers the two archive targets share
// (layer_tar_fuzz.cc, upper_archive_fuzz.cc): see their headers for why the
// unpack runs in a chroot'ed tmpfs of a private mount namespace, and for the
// "M\n" member-list input form.
//
// Include it inside the target's anonymous namespace, after defining
// kTarget (its name, for messages), kDestination (where it unpacks) and
// kDestinationMode.
#pragma once

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "%s: %s: %s (the jail needs root)\n", kTarget, what, std::strerror(errno));
  std::_Exit(1);
}

// ---- The jail

// Runs jobs on the one thread that lives in the jail.
class Jail {
 public:
  Jail() : thread_([this] { serve(); }) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return ready_; });
  }
  void run(const std::function<void()>& job) {
    std::unique_lock lock(mutex_);
    job_ = &job;
    changed_.notify_all();
    changed_.wait(lock, [&] { return job_ == nullptr; });
  }

 private:
  void serve() {
    if (::unshare(CLONE_NEWNS) != 0) fail("unshare(CLONE_NEWNS)");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail("making / private");
    if (::mount("goldroot-fuzz", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                "size=64m,mode=0755") != 0)
      fail("mounting the jail's tmpfs");
    struct stat tmpfs;
    if (::stat("/tmp", &tmpfs) != 0 || ::chroot("/tmp") != 0) fail("chroot");
    std::unique_lock lock(mutex_);
    ready_ = true;
    changed_.notify_all();
    for (;;) {
      changed_.wait(lock, [&] { return job_ != nullptr; });
      // Jobs empty "/": make very sure it is the tmpfs.
      struct stat root;
      if (::stat("/", &root) != 0 || root.st_dev != tmpfs.st_dev) std::abort();
      (*job_)();
      job_ = nullptr;
      changed_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  bool ready_ = false;
  const std::function<void()>* job_ = nullptr;
  std::thread thread_;
};

struct Snapshot {
  struct stat root, victim, victim_dir;
  std::set<std::string> names;  // in the jail's root
  bool victim_dir_empty;
};

Snapshot snapshot() {
  Snapshot shot{};
  ::lstat("/", &shot.root);
  ::lstat("/victim", &shot.victim);
  ::lstat("/victim-dir", &shot.victim_dir);
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/", error))
    shot.names.insert(entry.path().filename().string());
  shot.victim_dir_empty = std::filesystem::is_empty("/victim-dir", error);
  return shot;
}

bool same(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_mode == b.st_mode && a.st_uid == b.st_uid &&
         a.st_gid == b.st_gid && a.st_nlink == b.st_nlink && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

// What changed outside the destination; "" if nothing.
std::string escapes(const Snapshot& before, const Snapshot& after) {
  std::string found;
  if (!same(before.root, after.root)) found += " the jail root's metadata;";
  if (!same(before.victim, after.victim)) found += " /victim's metadata;";
  if (!same(before.victim_dir, after.victim_dir)) found += " /victim-dir's metadata;";
  if (!after.victim_dir_empty) found += " an entry in /victim-dir;";
  for (const std::string& name : after.names)
    if (!before.names.count(name)) found += " a new /" + name + ";";
  return found;
}

// An empty destination (kDestinationMode), /victim and /victim-dir in the
// jail's root, and nothing else.
void reset_jail() {
  std::error_code error;
  ::chmod("/", 0755);
  for (const auto& entry : std::filesystem::directory_iterator("/", error))
    std::filesystem::remove_all(entry.path(), error);
  if (::mkdir(kDestination, kDestinationMode) != 0 || ::mkdir("/victim-dir", 0750) != 0)
    fail("setting up the jail");
  int fd = ::open("/victim", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0 || ::write(fd, "victim\n", 7) != 7) fail("setting up the jail");
  ::close(fd);
}

// ---- Inputs

// "<length> key=value\n", the length counting itself.
std::string pax_record(const std::string& key, const std::string& value) {
  std::string body = " " + key + "=" + value + "\n";
  size_t length = body.size() + 1;
  while (std::to_string(length).size() + body.size() != length) ++length;
  return std::to_string(length) + body;
}

void append_header(std::string& tar, const std::string& name, char type, unsigned mode,
                   const std::string& link, size_t size) {
  char block[512] = {};
  std::snprintf(block, 100, "%s", name.c_str());
  std::snprintf(block + 100, 8, "%07o", mode & 07777);
  std::snprintf(block + 108, 8, "%07o", 0);
  std::snprintf(block + 116, 8, "%07o", 0);
  std::snprintf(block + 124, 12, "%011llo", static_cast<unsigned long long>(size));
  std::snprintf(block + 136, 12, "%011o", 1700000000u);
  block[156] = type;
  std::snprintf(block + 157, 100, "%s", link.c_str());
  std::memcpy(block + 257, "ustar\0" "00", 8);
  std::snprintf(block + 329, 8, "%07o", 0);
  std::snprintf(block + 337, 8, "%07o", 0);
  tar.append(block, 512);
}

void append_data(std::string& tar, const std::string& data) {
  tar += data;
  tar.append((512 - data.size() % 512) % 512, '\0');
}

// The structured form: one member a line,
//   <type>[<octal mode>] <name> [<link target or file content>] [@<xattr>=<value>…]
// e.g. "2 etc /victim-dir", "5777 etc", "0 etc/motd hello", "1 h etc/motd",
// "3 gone" (a whiteout), "5 dir @trusted.overlay.opaque=y"; names and
// targets past 99 bytes go in pax records. Mutating a short name or type
// reaches in seconds what mutating a 512-byte header reaches in hours; the
// raw form still covers the header parser.
std::string tar_from_members(std::string_view text) {
  std::string tar;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = std::min(text.find('\n', start), text.size());
    std::string line(text.substr(start, end - start));
    start = end + 1;
    std::vector<std::string> words;
    for (size_t at = 0; at < line.size();) {
      size_t space = std::min(line.find(' ', at), line.size());
      if (space > at) words.push_back(line.substr(at, space - at));
      at = space + 1;
    }
    if (words.size() < 2) continue;
    char type = words[0][0];
    unsigned mode = words[0].size() > 1
                        ? static_cast<unsigned>(std::strtoul(words[0].c_str() + 1, nullptr, 8))
                        : (type == '5' ? 0755 : 0644);
    const std::string& name = words[1];
    std::string pax, argument;
    for (size_t i = 2; i < words.size(); ++i) {
      size_t equals = words[i].find('=');
      if (words[i][0] == '@' && equals != std::string::npos)
        pax += pax_record("SCHILY.xattr." + words[i].substr(1, equals - 1), words[i].substr(equals + 1));
      else if (argument.empty())
        argument = words[i];
    }
    std::string link = type == '1' || type == '2' ? argument : "";
    std::string data = type == '0' || type == '7' ? argument : "";
    if (name.size() > 99) pax += pax_record("path", name);
    if (link.size() > 99) pax += pax_record("linkpath", link);
    if (!pax.empty()) {
      append_header(tar, "PaxHeaders/member", 'x', 0644, "", pax.size());
      append_data(tar, pax);
    }
    append_header(tar, name, type, mode, link, data.size());
    append_data(tar, data);
  }
  tar.append(1024, '\0');
  return tar;
}

uint64_t octal_field(const std::string& block, size_t at, size_t length) {
  if (static_cast<unsigned char>(block[at]) & 0x80) {  // base-256
    uint64_t value = 0;
    for (size_t i = at + 1; i < at + length; ++i) value = (value << 8) | static_cast<unsigned char>(block[i]);
    return value;
  }
  return std::strtoull(block.substr(at, length).c_str(), nullptr, 8);
}

// Recomputes the checksum of every header block the reader will come to.
void fix_checksums(std::string& tar) {
  for (size_t offset = 0; offset + 512 <= tar.size();) {
    std::string block = tar.substr(offset, 512);
    if (block.find_first_not_of('\0') == std::string::npos) break;
    unsigned sum = 0;
    for (size_t i = 0; i < 512; ++i)
      sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(block[i]);
    char field[9];
    std::snprintf(field, sizeof field, "%06o", sum);
    std::memcpy(&tar[offset + 148], field, 7);  // six digits and a NUL
    tar[offset + 155] = ' ';
    uint64_t size = octal_field(block, 124, 12);
    if (size > tar.size()) break;
    offset += 512 + (size + 511) / 512 * 512;
  }
}
