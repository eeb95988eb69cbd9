// Kernel probes that share one attach point and each run for only some of its
// hits (ast::ResolvedProbe's filter: syscall.NAME on raw_syscalls:sys_enter)
// are reached through one dispatcher program instead of being attached one
// by one (docs/architecture.md, decision 14). Attached one by one, every hit
// runs every program, and each returns after comparing the filter's value:
// `syscall.*` makes each system call run some 800 programs. The dispatcher
// reads the value once and tail-calls the program for it; programs with the
// same value follow one another through tail calls at their returns.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "frontend/ast.h"

namespace ntap::bpf {

struct DispatchGroup {
  // The BPF_MAP_TYPE_PROG_ARRAY: entries [0, heads) hold, for each filter
  // value, the first program that runs for it; entry heads + i the program
  // that runs after member i (for the same value), if any.
  std::string map_name;
  uint32_t heads = 0;
  std::vector<size_t> members;  // indices into the planned probes, in script order
  uint32_t entries() const { return heads + static_cast<uint32_t>(members.size()); }
};

struct DispatchPlan {
  std::vector<DispatchGroup> groups;
  // For each planned probe: its group (-1: attached on its own) and its
  // member index there (its chain entry is heads + index).
  struct Role {
    int group = -1;
    uint32_t index = 0;
  };
  std::vector<Role> roles;
};

// Groups the probes that share a section and a filter (argument and steps).
// A group needs at least two members; a probe whose filter value is out of
// the table's range, or beyond the kernel's limit of tail calls in a row for
// its value, stays attached on its own with its filter, so no hit is lost.
DispatchPlan plan_dispatch(const std::vector<const ast::ResolvedProbe *> &probes);

// The program that member `index` of `group` hands the hit to, in table
// order: (table index, member) pairs that fill the program array.
struct TableEntry {
  uint32_t index;
  size_t member;  // into the planned probes
};
std::vector<TableEntry> table_entries(const DispatchGroup &group, const std::vector<const ast::ResolvedProbe *> &probes);

}  // namespace ntap::bpf
