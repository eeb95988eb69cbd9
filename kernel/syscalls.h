// The machine's system calls by name and number (x86_64), for the
// kernel.syscall("NAME") probes on the raw_syscalls tracepoints.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ntap {

struct SyscallEntry {
  std::string_view name;  // "openat"
  int number;             // 257
};

// Every system call the kernel headers ntap was built with name, sorted by name.
const std::vector<SyscallEntry> &syscall_table();
std::optional<int> syscall_number(std::string_view name);
// The calls whose names match the fnmatch `pattern`, sorted by name.
std::vector<SyscallEntry> match_syscalls(const std::string &pattern);

}  // namespace ntap
