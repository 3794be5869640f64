#include "layer/template.h"

namespace goldroot {

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.';
}

}  // namespace

Result<std::string> render_template(std::string_view text, const TemplateVariables& variables,
                                    const std::string& file) {
  std::string out;
  out.reserve(text.size());
  int line = 1;
  auto error = [&](int at, const std::string& message) {
    return make_error(ErrorCode::kInvalidArgument,
                      file + ":" + std::to_string(at) + ": " + message);
  };
  size_t i = 0;
  while (i < text.size()) {
    size_t open = text.find("{{", i);
    size_t copy_end = open == std::string_view::npos ? text.size() : open;
    bool escaped = open != std::string_view::npos && open > i && text[open - 1] == '\\';
    if (escaped) --copy_end;
    for (size_t k = i; k < copy_end; ++k) line += text[k] == '\n';
    out.append(text.substr(i, copy_end - i));
    if (open == std::string_view::npos) break;
    if (escaped) {
      out.append("{{");
      i = open + 2;
      continue;
    }
    size_t close = text.find("}}", open + 2);
    size_t newline = text.find('\n', open + 2);
    if (close == std::string_view::npos || (newline != std::string_view::npos && newline < close))
      return error(line, "'{{' is not closed with '}}' on the same line");
    std::string_view inside = text.substr(open + 2, close - open - 2);
    while (!inside.empty() && (inside.front() == ' ' || inside.front() == '\t'))
      inside.remove_prefix(1);
    while (!inside.empty() && (inside.back() == ' ' || inside.back() == '\t'))
      inside.remove_suffix(1);
    if (inside.empty()) return error(line, "'{{ }}' names no variable");
    for (char c : inside)
      if (!is_name_char(c))
        return error(line, "'" + std::string(inside) +
                               "' is not a variable name (letters, digits, '_' and '.')");
    auto found = variables.find(inside);
    if (found == variables.end())
      return error(line, "variable '" + std::string(inside) + "' is not defined for this host");
    out.append(found->second);
    i = close + 2;
  }
  return out;
}

}  // namespace goldroot
