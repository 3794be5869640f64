#include "server/request_path.h"

#include <vector>

#include "base/hash.h"

namespace goldroot::server {

namespace {


Error bad_path(std::string_view why) {
  return make_error(ErrorCode::kInvalidArgument, "bad request path: " + std::string(why));
}

// Decodes one segment (between raw '/'s); an encoded separator is refused
// so that "a%2F..%2Fb" cannot turn into extra segments later.
Result<std::string> decode_segment(std::string_view raw) {
  std::string decoded;
  decoded.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(raw[i]);
    if (c == '%') {
      if (i + 2 >= raw.size()) return bad_path("truncated escape");
      int high = hex_value(raw[i + 1]);
      int low = hex_value(raw[i + 2]);
      if (high < 0 || low < 0) return bad_path("invalid escape");
      c = static_cast<unsigned char>(high * 16 + low);
      i += 2;
      if (c == '/') return bad_path("encoded slash");
    }
    if (c < 0x20 || c == 0x7f) return bad_path("control character");
    if (c == '\\') return bad_path("backslash");
    decoded.push_back(static_cast<char>(c));
  }
  return decoded;
}

}  // namespace

Result<std::string> canonical_request_path(std::string_view raw_path) {
  if (raw_path.empty() || raw_path.front() != '/') return bad_path("must start with '/'");
  std::string canonical;
  size_t start = 1;
  while (start <= raw_path.size()) {
    size_t slash = raw_path.find('/', start);
    if (slash == std::string_view::npos) slash = raw_path.size();
    auto decoded = decode_segment(raw_path.substr(start, slash - start));
    if (!decoded.ok()) return std::move(decoded).error();
    const std::string& segment = decoded.value();
    if (segment == "..") return bad_path("'..' segment");
    if (!segment.empty() && segment != ".") {
      canonical.push_back('/');
      canonical += segment;
    }
    start = slash + 1;
  }
  bool trailing_slash = raw_path.back() == '/';
  if (canonical.empty() || trailing_slash) canonical.push_back('/');
  return canonical;
}

}  // namespace goldroot::server
