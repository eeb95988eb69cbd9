// See regex_bounds.h. A single pass over the pattern that follows ERE's
// structure just far enough to size it: groups, alternatives, bracket
// expressions, escapes and the repetition operators.
#include "frontend/regex_bounds.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace ntap {

namespace {

// Sizes saturate well above the bound instead of overflowing.
size_t saturating_multiply(size_t a, size_t b) {
  constexpr size_t cap = size_t(1) << 40;
  if (a == 0 || b == 0) return 0;
  return a > cap / b ? cap : a * b;
}

// One open group (or the whole pattern): the expanded sizes of its finished
// alternatives, of the alternative being read, and of that alternative's
// last atom (which a following repetition operator multiplies).
struct Group {
  size_t finished_alternatives = 0;
  size_t current = 0;
  size_t last_atom = 0;

  void add_atom(size_t size) {
    current += size;
    last_atom = size;
  }
  void repeat_last(size_t copies) {
    current -= last_atom;
    last_atom = saturating_multiply(last_atom, copies);
    current += last_atom;
  }
  size_t total() const { return finished_alternatives + current; }
};

// The end of the bracket expression opening at `open` ('['), or npos.
size_t bracket_end(const std::string &p, size_t open) {
  size_t i = open + 1;
  if (i < p.size() && p[i] == '^') ++i;
  if (i < p.size() && p[i] == ']') ++i;  // a leading ']' stands for itself
  while (i < p.size() && p[i] != ']') {
    if (p[i] == '[' && i + 1 < p.size() && (p[i + 1] == ':' || p[i + 1] == '=' || p[i + 1] == '.')) {
      const char kind = p[i + 1];
      size_t close = i + 2;
      while (close + 1 < p.size() && !(p[close] == kind && p[close + 1] == ']')) ++close;
      if (close + 1 >= p.size()) return std::string::npos;
      i = close + 2;
    } else {
      ++i;
    }
  }
  return i < p.size() ? i : std::string::npos;
}

// Reads the interval `{m}`, `{m,}` or `{m,n}` at `open`; the number of
// copies it may make, and `next` past it. Nothing when it is not an interval.
std::optional<size_t> interval_copies(const std::string &p, size_t open, size_t &next) {
  auto number = [&](size_t &i) -> std::optional<size_t> {
    if (i >= p.size() || !std::isdigit(static_cast<unsigned char>(p[i]))) return std::nullopt;
    size_t value = 0;
    while (i < p.size() && std::isdigit(static_cast<unsigned char>(p[i])))
      value = std::min<size_t>(value * 10 + size_t(p[i++] - '0'), size_t(1) << 32);
    return value;
  };
  size_t i = open + 1;
  auto low = number(i);
  if (!low) return std::nullopt;
  size_t copies = *low;
  if (i < p.size() && p[i] == ',') {
    ++i;
    // {m,}: m copies and a star.
    if (auto high = number(i)) copies = std::max(*high, *low); else copies = *low + 1;
  }
  if (i >= p.size() || p[i] != '}') return std::nullopt;
  next = i + 1;
  return std::max<size_t>(copies, 1);
}

}  // namespace

std::optional<std::string> regex_beyond_bounds(const std::string &pattern) {
  if (pattern.size() > max_regex_bytes)
    return "the regular expression is longer than " + std::to_string(max_regex_bytes) + " bytes";
  std::vector<Group> groups(1);
  const std::string too_large = "the regular expression is too large: its repetitions expand to more than " +
                                std::to_string(max_regex_expanded_size) + " elements";
  for (size_t i = 0; i < pattern.size();) {
    Group &group = groups.back();
    const char c = pattern[i];
    size_t next = i + 1;
    switch (c) {
      case '(':
        if (groups.size() > max_regex_group_depth)
          return "the regular expression nests groups more than " + std::to_string(max_regex_group_depth) + " deep";
        groups.emplace_back();
        break;
      case ')':
        if (groups.size() > 1) {
          const size_t size = std::max<size_t>(groups.back().total(), 1);
          groups.pop_back();
          groups.back().add_atom(size);
        } else {
          group.add_atom(1);
        }
        break;
      case '|':
        group.finished_alternatives += group.current;
        group.current = group.last_atom = 0;
        break;
      case '*':
      case '+':
        group.repeat_last(2);
        break;
      case '?':
        break;
      case '{':
        if (auto copies = interval_copies(pattern, i, next)) group.repeat_last(*copies);
        else group.add_atom(1);
        break;
      case '[': {
        const size_t end = bracket_end(pattern, i);
        if (end != std::string::npos) next = end + 1;
        group.add_atom(1);
        break;
      }
      case '\\':
        next = std::min(i + 2, pattern.size());
        group.add_atom(1);
        break;
      default:
        group.add_atom(1);
        break;
    }
    if (groups.back().total() > max_regex_expanded_size) return too_large;
    i = next;
  }
  // Unclosed groups: regcomp refuses them; their size still counts.
  size_t size = 0;
  for (const Group &group : groups) size += group.total();
  if (size > max_regex_expanded_size) return too_large;
  return std::nullopt;
}

}  // namespace ntap
