#include "kernel/syscalls.h"

#include <fnmatch.h>

#include <algorithm>

namespace ntap {

const std::vector<SyscallEntry> &syscall_table() {
  // Generated from <asm/unistd_64.h> (CMakeLists.txt): {"read", 0}, ...
  static const std::vector<SyscallEntry> table = [] {
    std::vector<SyscallEntry> entries = {
#include "syscall_numbers.inc"
    };
    std::sort(entries.begin(), entries.end(),
              [](const SyscallEntry &a, const SyscallEntry &b) { return a.name < b.name; });
    return entries;
  }();
  return table;
}

std::optional<int> syscall_number(std::string_view name) {
  const auto &table = syscall_table();
  auto it = std::lower_bound(table.begin(), table.end(), name,
                             [](const SyscallEntry &e, std::string_view n) { return e.name < n; });
  if (it == table.end() || it->name != name) return std::nullopt;
  return it->number;
}

std::vector<SyscallEntry> match_syscalls(const std::string &pattern) {
  std::vector<SyscallEntry> matches;
  for (const SyscallEntry &entry : syscall_table())
    if (::fnmatch(pattern.c_str(), std::string(entry.name).c_str(), 0) == 0) matches.push_back(entry);
  return matches;
}

}  // namespace ntap
