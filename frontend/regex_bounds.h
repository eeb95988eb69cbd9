// Bounds on the regular expressions of `=~` / `!~`, checked before any
// regcomp sees them: glibc's regcomp expands repetitions (`((a{100}){100}){100}`
// takes gigabytes), spends memory on long alternations, and recurses once
// per nested group (a few thousand `(` exhaust the stack).
#pragma once
#include <optional>
#include <string>

namespace ntap {

inline constexpr size_t max_regex_bytes = 4096;
inline constexpr size_t max_regex_group_depth = 100;
// Elements after expanding every repetition: `a{300}` is 300, `(ab){10}` is
// 20, `x*` counts as two copies of x (as regcomp builds it).
inline constexpr size_t max_regex_expanded_size = 32768;

// Why `pattern` (POSIX ERE) exceeds these bounds, or nothing when it is
// within them. Says nothing about whether the pattern is valid.
std::optional<std::string> regex_beyond_bounds(const std::string &pattern);

}  // namespace ntap
