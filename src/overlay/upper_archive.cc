#include "overlay/upper_archive.h"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "image/fs_entry.h"
#include "sys/directory.h"
#include "sys/open_beneath.h"

namespace goldroot {

namespace {

constexpr size_t kBlock = 512;

uint64_t padding_for(uint64_t size) { return (kBlock - size % kBlock) % kBlock; }

// "<length> <key>=<value>\n", where the length counts itself.
void add_record(std::string* out, const std::string& key, const std::string& value) {
  size_t body = key.size() + value.size() + 3;  // ' ', '=', '\n'
  size_t length = body + std::to_string(body).size();
  if (std::to_string(length).size() != std::to_string(body).size()) ++length;
  *out += std::to_string(length) + " " + key + "=" + value + "\n";
}

// An octal field of `width` bytes (digits and a NUL); false if it does not fit.
bool put_octal(char* field, size_t width, uint64_t value) {
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + (value & 7)));
    value >>= 3;
  } while (value);
  if (digits.size() > width - 1) return false;
  std::memset(field, '0', width - 1 - digits.size());
  std::memcpy(field + width - 1 - digits.size(), digits.data(), digits.size());
  field[width - 1] = '\0';
  return true;
}

void put_text(char* field, size_t width, const std::string& text) {
  std::memcpy(field, text.data(), std::min(width, text.size()));
}

// A ustar header block.
std::string header_block(const std::string& name, char type, uint32_t mode, uint64_t uid,
                         uint64_t gid, uint64_t size, int64_t mtime, const std::string& link,
                         uint64_t device_major, uint64_t device_minor) {
  std::string block(kBlock, '\0');
  char* h = block.data();
  put_text(h, 100, name);
  put_octal(h + 100, 8, mode & 07777);
  if (!put_octal(h + 108, 8, uid)) put_octal(h + 108, 8, 0);  // pax "uid" carries it
  if (!put_octal(h + 116, 8, gid)) put_octal(h + 116, 8, 0);
  if (!put_octal(h + 124, 12, size)) put_octal(h + 124, 12, 0);
  put_octal(h + 136, 12, mtime < 0 ? 0 : static_cast<uint64_t>(mtime));
  h[156] = type;
  put_text(h + 157, 100, link);
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  put_octal(h + 329, 8, device_major);
  put_octal(h + 337, 8, device_minor);
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (size_t i = 0; i < kBlock; ++i) sum += static_cast<unsigned char>(h[i]);
  put_octal(h + 148, 7, sum);
  h[155] = ' ';
  return block;
}

char type_of(const struct stat& st) {
  switch (st.st_mode & S_IFMT) {
    case S_IFREG: return '0';
    case S_IFLNK: return '2';
    case S_IFCHR: return '3';
    case S_IFBLK: return '4';
    case S_IFDIR: return '5';
    case S_IFIFO: return '6';
    default: return 0;
  }
}

}  // namespace

Result<UpperArchive> UpperArchive::open(const std::string& upper_dir, XattrNamespace xattrs) {
  UpperArchive archive;
  archive.dir_ = upper_dir;
  archive.root_ = UniqueFd(::open(upper_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!archive.root_.valid()) return errno_error("opening the upper dir " + upper_dir, errno);
  OverlayConventions conventions(xattrs);
  Item root;
  root.path = ".";
  if (::fstat(archive.root_.get(), &root.st) != 0)
    return errno_error("reading " + upper_dir, errno);
  root.xattrs = TRY(read_xattrs(archive.root_.get(), ".", upper_dir));
  archive.add_item(std::move(root), conventions);
  TRY(archive.walk(archive.root_.get(), "", conventions));
  return archive;
}

void UpperArchive::add_item(Item item, const OverlayConventions& conventions) {
  const struct stat& st = item.st;
  if (S_ISREG(st.st_mode) && !conventions.is_metacopy(item.xattrs))
    item.data = static_cast<uint64_t>(st.st_size);
  if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 && !is_whiteout_device(st)) {
    auto [found, fresh] = first_links_.try_emplace({st.st_dev, st.st_ino}, item.path);
    if (!fresh) {
      item.hard_link = true;
      item.link = found->second;
      item.data = 0;
    }
  }
  ++stats_.entries;
  stats_.file_bytes += item.data;
  items_.push_back(std::move(item));
}

Status UpperArchive::walk(int dir_fd, const std::string& path,
                          const OverlayConventions& conventions) {
  const std::string display = dir_ + "/" + path;
  std::vector<std::string> names = TRY(read_directory(dir_fd, display));
  for (const std::string& name : names) {
    Item item;
    item.path = path.empty() ? name : path + "/" + name;
    const std::string child_display = dir_ + "/" + item.path;
    if (::fstatat(dir_fd, name.c_str(), &item.st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed since the listing (a live upper)
      return errno_error("reading " + child_display, errno);
    }
    if (S_ISSOCK(item.st.st_mode)) {
      ++stats_.skipped_sockets;
      continue;
    }
    item.xattrs = TRY(read_xattrs(dir_fd, name, child_display));
    if (S_ISLNK(item.st.st_mode)) {
      std::string target(static_cast<size_t>(item.st.st_size) + 1, '\0');
      ssize_t length = ::readlinkat(dir_fd, name.c_str(), target.data(), target.size());
      if (length < 0) return errno_error("reading the link " + child_display, errno);
      target.resize(static_cast<size_t>(length));
      item.link = std::move(target);
    }
    bool is_directory = S_ISDIR(item.st.st_mode);
    std::string child_path = item.path;
    add_item(std::move(item), conventions);
    if (is_directory) {
      UniqueFd child(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!child.valid()) {
        if (errno == ENOENT) continue;
        return errno_error("opening " + child_display, errno);
      }
      TRY(walk(child.get(), child_path, conventions));
    }
  }
  return {};
}

Status UpperArchive::start_item() {
  const Item& item = items_[next_++];
  const struct stat& st = item.st;
  std::string records;
  add_record(&records, "path", item.path);
  char mtime[64];
  std::snprintf(mtime, sizeof mtime, "%lld.%09ld", static_cast<long long>(st.st_mtim.tv_sec),
                static_cast<long>(st.st_mtim.tv_nsec));
  add_record(&records, "mtime", mtime);
  if (st.st_uid > 07777777) add_record(&records, "uid", std::to_string(st.st_uid));
  if (st.st_gid > 07777777) add_record(&records, "gid", std::to_string(st.st_gid));
  if (item.data > 077777777777ull) add_record(&records, "size", std::to_string(item.data));
  if (item.link.size() >= 100) add_record(&records, "linkpath", item.link);
  for (const auto& [name, value] : item.xattrs) add_record(&records, "SCHILY.xattr." + name, value);

  pending_ = header_block("PaxHeaders/" + item.path.substr(0, 80), 'x', 0644, 0, 0,
                          records.size(), st.st_mtim.tv_sec, "", 0, 0);
  pending_ += records;
  pending_.append(padding_for(records.size()), '\0');
  char type = item.hard_link ? '1' : type_of(st);
  bool device = S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode);
  pending_ += header_block(item.path, type, st.st_mode, st.st_uid, st.st_gid, item.data,
                           st.st_mtim.tv_sec, item.link, device ? major(st.st_rdev) : 0,
                           device ? minor(st.st_rdev) : 0);
  pending_at_ = 0;

  current_ = &item;
  data_left_ = item.data;
  padding_left_ = padding_for(item.data);
  shortened_ = false;
  file_.reset();
  if (item.data > 0) {
    auto opened = open_beneath(root_.get(), item.path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC,
                               dir_ + "/" + item.path);
    if (opened.ok()) {
      file_ = std::move(opened).value();
    } else if (opened.error().code == ErrorCode::kNotFound) {
      shortened_ = true;  // gone since the walk: zeros stand in
      stats_.changed_while_read.push_back("/" + item.path);
    } else {
      return std::move(opened).error();
    }
  }
  return {};
}

Result<size_t> UpperArchive::read(char* buffer, size_t size) {
  size_t filled = 0;
  while (filled < size) {
    if (pending_at_ < pending_.size()) {
      size_t take = std::min(size - filled, pending_.size() - pending_at_);
      std::memcpy(buffer + filled, pending_.data() + pending_at_, take);
      pending_at_ += take;
      filled += take;
      continue;
    }
    if (data_left_ > 0) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(data_left_, size - filled));
      ssize_t got = 0;
      if (!shortened_) {
        got = ::read(file_.get(), buffer + filled, want);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return errno_error("reading " + dir_ + "/" + current_->path, errno);
        if (got == 0) {
          shortened_ = true;
          stats_.changed_while_read.push_back("/" + current_->path);
        }
      }
      if (shortened_) {
        std::memset(buffer + filled, 0, want);
        got = static_cast<ssize_t>(want);
      }
      filled += static_cast<size_t>(got);
      data_left_ -= static_cast<uint64_t>(got);
      if (data_left_ == 0 && !shortened_) {
        // One that grew since the walk is cut at the walked size.
        struct stat now;
        if (::fstat(file_.get(), &now) == 0 && now.st_size != current_->st.st_size)
          stats_.changed_while_read.push_back("/" + current_->path);
      }
      continue;
    }
    if (padding_left_ > 0) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(padding_left_, size - filled));
      std::memset(buffer + filled, 0, take);
      padding_left_ -= take;
      filled += take;
      continue;
    }
    file_.reset();
    if (next_ < items_.size()) {
      TRY(start_item());
      continue;
    }
    if (!trailer_written_) {
      trailer_written_ = true;
      pending_.assign(2 * kBlock, '\0');
      pending_at_ = 0;
      continue;
    }
    break;
  }
  return filled;
}

}  // namespace goldroot
