#include "overlay/text_diff.h"

#include <algorithm>
#include <vector>

namespace goldroot {

namespace {

struct Line {
  std::string_view text;  // without its newline
  bool newline = true;
  bool operator==(const Line& other) const {
    return text == other.text && newline == other.newline;
  }
};

std::vector<Line> split_lines(std::string_view text) {
  std::vector<Line> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      lines.push_back({text.substr(start), false});
      break;
    }
    lines.push_back({text.substr(start, end - start), true});
    start = end + 1;
  }
  return lines;
}

enum class Op { kKeep, kDelete, kInsert };

// The edit script turning a into b (Myers, with the trace kept per step).
std::vector<Op> edit_script(const std::vector<Line>& a, const std::vector<Line>& b) {
  const int n = static_cast<int>(a.size()), m = static_cast<int>(b.size());
  const int limit = std::min(n + m, 2000);
  const int offset = limit + 1;  // k stays within [-limit, limit]
  std::vector<int> v(2 * offset + 1, 0);
  std::vector<std::vector<int>> trace;
  int found = -1;
  for (int d = 0; d <= limit && found < 0; ++d) {
    trace.push_back(v);
    for (int k = -d; k <= d; k += 2) {
      int x = (k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1]))
                  ? v[offset + k + 1]
                  : v[offset + k - 1] + 1;
      int y = x - k;
      while (x < n && y < m && a[x] == b[y]) ++x, ++y;
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
  }
  std::vector<Op> ops;
  if (found < 0) {  // too different: replace everything
    ops.assign(static_cast<size_t>(n), Op::kDelete);
    ops.insert(ops.end(), static_cast<size_t>(m), Op::kInsert);
    return ops;
  }
  int x = n, y = m;
  for (int d = found; d > 0; --d) {
    const std::vector<int>& before = trace[static_cast<size_t>(d)];
    int k = x - y;
    int previous_k = (k == -d || (k != d && before[offset + k - 1] < before[offset + k + 1]))
                         ? k + 1
                         : k - 1;
    int previous_x = before[offset + previous_k];
    int previous_y = previous_x - previous_k;
    while (x > previous_x && y > previous_y) ops.push_back(Op::kKeep), --x, --y;
    ops.push_back(x == previous_x ? Op::kInsert : Op::kDelete);
    x = previous_x;
    y = previous_y;
  }
  while (x > 0 && y > 0) ops.push_back(Op::kKeep), --x, --y;
  std::reverse(ops.begin(), ops.end());
  return ops;
}

std::string range(size_t start, size_t count) {
  // diff -u: "l,s", "l" when s == 1, and the line before when s == 0.
  if (count == 1) return std::to_string(start + 1);
  return std::to_string(count == 0 ? start : start + 1) + "," + std::to_string(count);
}

void append_line(std::string& out, char marker, const Line& line) {
  out += marker;
  out += line.text;
  out += '\n';
  if (!line.newline) out += "\\ No newline at end of file\n";
}

}  // namespace

bool looks_binary(std::string_view data) {
  return data.substr(0, 8192).find('\0') != std::string_view::npos;
}

std::string unified_diff(std::string_view old_text, std::string_view new_text,
                         const std::string& old_label, const std::string& new_label) {
  if (old_text == new_text) return "";
  std::vector<Line> a = split_lines(old_text), b = split_lines(new_text);
  std::vector<Op> ops = edit_script(a, b);
  constexpr size_t kContext = 3;
  std::string out = "--- " + old_label + "\n+++ " + new_label + "\n";
  size_t i = 0;
  while (i < ops.size()) {
    if (ops[i] == Op::kKeep) {
      ++i;
      continue;
    }
    // A hunk: from kContext before this change to kContext after the last
    // change that is at most 2 * kContext lines from the next.
    size_t start = i >= kContext ? i - kContext : 0;
    while (start < i && ops[start] != Op::kKeep) ++start;
    size_t end = i;
    for (size_t j = i; j < ops.size(); ++j) {
      if (ops[j] == Op::kKeep) {
        size_t run = j;
        while (run < ops.size() && ops[run] == Op::kKeep) ++run;
        if (run == ops.size() || run - j > 2 * kContext) break;
        j = run - 1;
      } else {
        end = j + 1;
      }
    }
    size_t stop = std::min(ops.size(), end + kContext);
    // Positions in a and b where the hunk starts.
    size_t a_line = 0, b_line = 0;
    for (size_t j = 0; j < start; ++j) {
      if (ops[j] != Op::kInsert) ++a_line;
      if (ops[j] != Op::kDelete) ++b_line;
    }
    size_t a_count = 0, b_count = 0;
    std::string body;
    for (size_t j = start, x = a_line, y = b_line; j < stop; ++j) {
      if (ops[j] == Op::kKeep) append_line(body, ' ', a[x++]), ++a_count, ++b_count, ++y;
      else if (ops[j] == Op::kDelete) append_line(body, '-', a[x++]), ++a_count;
      else append_line(body, '+', b[y++]), ++b_count;
    }
    out += "@@ -" + range(a_line, a_count) + " +" + range(b_line, b_count) + " @@\n" + body;
    i = stop;
  }
  return out;
}

}  // namespace goldroot
