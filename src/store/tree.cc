#include "store/tree.h"

#include <algorithm>
#include <cstring>

#include "base/strings.h"

namespace goldroot {

const char* file_type_name(FileType type) {
  switch (type) {
    case FileType::kRegular: return "file";
    case FileType::kDirectory: return "dir";
    case FileType::kSymlink: return "symlink";
    case FileType::kCharDevice: return "char";
    case FileType::kBlockDevice: return "block";
    case FileType::kFifo: return "fifo";
    case FileType::kSocket: return "socket";
  }
  return "unknown";
}

FileType file_type_from_mode(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFDIR: return FileType::kDirectory;
    case S_IFLNK: return FileType::kSymlink;
    case S_IFCHR: return FileType::kCharDevice;
    case S_IFBLK: return FileType::kBlockDevice;
    case S_IFIFO: return FileType::kFifo;
    case S_IFSOCK: return FileType::kSocket;
    default: return FileType::kRegular;
  }
}

mode_t mode_type_bits(FileType type) {
  switch (type) {
    case FileType::kRegular: return S_IFREG;
    case FileType::kDirectory: return S_IFDIR;
    case FileType::kSymlink: return S_IFLNK;
    case FileType::kCharDevice: return S_IFCHR;
    case FileType::kBlockDevice: return S_IFBLK;
    case FileType::kFifo: return S_IFIFO;
    case FileType::kSocket: return S_IFSOCK;
  }
  return S_IFREG;
}

bool Entry::same_metadata(const Entry& other) const {
  return type == other.type && mode == other.mode && uid == other.uid && gid == other.gid &&
         mtime_sec == other.mtime_sec && mtime_nsec == other.mtime_nsec && xattrs == other.xattrs;
}

std::vector<std::string> Entry::metadata_differences(const Entry& other) const {
  std::vector<std::string> fields;
  if (mode != other.mode) fields.push_back("mode");
  if (uid != other.uid || gid != other.gid) fields.push_back("owner");
  if (mtime_sec != other.mtime_sec || mtime_nsec != other.mtime_nsec) fields.push_back("mtime");
  if (xattrs != other.xattrs) fields.push_back("xattrs");
  return fields;
}

bool Entry::same_content(const Entry& other) const {
  if (type != other.type) return false;
  switch (type) {
    case FileType::kRegular: return digest == other.digest && size == other.size;
    case FileType::kDirectory: return digest == other.digest;
    case FileType::kSymlink: return target == other.target;
    case FileType::kCharDevice:
    case FileType::kBlockDevice: return rdev == other.rdev;
    default: return true;
  }
}

namespace {

constexpr std::string_view kTreeMagic = "goldroot-tree-1\n";

void put_u32(std::string& out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out.append(b, 4);
}
void put_u64(std::string& out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out.append(b, 8);
}
void put_bytes(std::string& out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool u8(uint8_t* v) {
    if (data_.empty()) return false;
    *v = static_cast<uint8_t>(data_[0]);
    data_.remove_prefix(1);
    return true;
  }
  bool u32(uint32_t* v) {
    if (data_.size() < 4) return false;
    *v = 0;
    for (int i = 0; i < 4; ++i) *v |= static_cast<uint32_t>(static_cast<uint8_t>(data_[i])) << (8 * i);
    data_.remove_prefix(4);
    return true;
  }
  bool u64(uint64_t* v) {
    if (data_.size() < 8) return false;
    *v = 0;
    for (int i = 0; i < 8; ++i) *v |= static_cast<uint64_t>(static_cast<uint8_t>(data_[i])) << (8 * i);
    data_.remove_prefix(8);
    return true;
  }
  bool bytes(std::string* s) {
    uint32_t n;
    if (!u32(&n) || data_.size() < n) return false;
    s->assign(data_.substr(0, n));
    data_.remove_prefix(n);
    return true;
  }
  bool raw(void* out, size_t n) {
    if (data_.size() < n) return false;
    std::memcpy(out, data_.data(), n);
    data_.remove_prefix(n);
    return true;
  }
  bool done() const { return data_.empty(); }

 private:
  std::string_view data_;
};

}  // namespace

std::string Tree::serialize() const {
  std::string out(kTreeMagic);
  put_u32(out, static_cast<uint32_t>(entries.size()));
  for (const Entry& e : entries) {
    put_bytes(out, e.name);
    out.push_back(static_cast<char>(e.type));
    put_u32(out, e.mode);
    put_u32(out, e.uid);
    put_u32(out, e.gid);
    put_u64(out, static_cast<uint64_t>(e.mtime_sec));
    put_u32(out, e.mtime_nsec);
    put_u64(out, e.size);
    put_u64(out, e.rdev);
    out.append(reinterpret_cast<const char*>(e.digest.bytes.data()), 32);
    put_bytes(out, e.target);
    put_u32(out, static_cast<uint32_t>(e.xattrs.size()));
    for (const auto& [key, value] : e.xattrs) {
      put_bytes(out, key);
      put_bytes(out, value);
    }
  }
  return out;
}

Result<Tree> Tree::parse(std::string_view data) {
  auto corrupt = [] { return make_error(ErrorCode::kCorruption, "malformed tree object"); };
  if (data.substr(0, kTreeMagic.size()) != kTreeMagic) return corrupt();
  Reader r(data.substr(kTreeMagic.size()));
  uint32_t count;
  if (!r.u32(&count)) return corrupt();
  Tree tree;
  tree.entries.reserve(std::min<uint32_t>(count, 1 << 16));
  for (uint32_t i = 0; i < count; ++i) {
    Entry e;
    uint8_t type;
    uint64_t mtime;
    uint32_t xattr_count;
    if (!r.bytes(&e.name) || !r.u8(&type) || !r.u32(&e.mode) || !r.u32(&e.uid) ||
        !r.u32(&e.gid) || !r.u64(&mtime) || !r.u32(&e.mtime_nsec) || !r.u64(&e.size) ||
        !r.u64(&e.rdev) || !r.raw(e.digest.bytes.data(), 32) || !r.bytes(&e.target) ||
        !r.u32(&xattr_count))
      return corrupt();
    if (type < 1 || type > 7) return corrupt();
    e.type = static_cast<FileType>(type);
    e.mtime_sec = static_cast<int64_t>(mtime);
    for (uint32_t x = 0; x < xattr_count; ++x) {
      std::string key, value;
      if (!r.bytes(&key) || !r.bytes(&value)) return corrupt();
      e.xattrs.emplace_back(std::move(key), std::move(value));
    }
    // "." appears only as the single entry of a commit's root tree.
    if (e.name.empty() || e.name.find('/') != std::string::npos || e.name == ".." ||
        (e.name == "." && count != 1))
      return corrupt();
    if (!tree.entries.empty() && !(tree.entries.back().name < e.name)) return corrupt();
    tree.entries.push_back(std::move(e));
  }
  if (!r.done()) return corrupt();
  return tree;
}

const Entry* Tree::find(std::string_view name) const {
  auto it = std::lower_bound(entries.begin(), entries.end(), name,
                             [](const Entry& e, std::string_view n) { return e.name < n; });
  if (it == entries.end() || it->name != name) return nullptr;
  return &*it;
}

std::string escape_path(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (unsigned char c : raw) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c <= 0x20 || c >= 0x7f) {
      out += "\\x";
      append_hex(&out, c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

Result<std::string> unescape_path(std::string_view escaped) {
  std::string out;
  for (size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] != '\\') {
      out += escaped[i];
      continue;
    }
    if (i + 1 < escaped.size() && escaped[i + 1] == '\\') {
      out += '\\';
      ++i;
    } else if (i + 3 < escaped.size() && escaped[i + 1] == 'x' &&
               is_hex(escaped.substr(i + 2, 2))) {
      out += static_cast<char>(std::stoi(std::string(escaped.substr(i + 2, 2)), nullptr, 16));
      i += 3;
    } else {
      return make_error(ErrorCode::kCorruption, "malformed escaped path");
    }
  }
  return out;
}

std::string mode_string(FileType type, uint32_t mode) {
  std::string s = "----------";
  switch (type) {
    case FileType::kDirectory: s[0] = 'd'; break;
    case FileType::kSymlink: s[0] = 'l'; break;
    case FileType::kCharDevice: s[0] = 'c'; break;
    case FileType::kBlockDevice: s[0] = 'b'; break;
    case FileType::kFifo: s[0] = 'p'; break;
    case FileType::kSocket: s[0] = 's'; break;
    default: break;
  }
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i)
    if (mode & (0400u >> i)) s[1 + i] = rwx[i];
  if (mode & S_ISUID) s[3] = (mode & 0100) ? 's' : 'S';
  if (mode & S_ISGID) s[6] = (mode & 0010) ? 's' : 'S';
  if (mode & S_ISVTX) s[9] = (mode & 0001) ? 't' : 'T';
  return s;
}

}  // namespace goldroot
