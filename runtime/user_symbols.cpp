#include "runtime/user_symbols.h"

#include <cinttypes>
#include <cstdio>

#include "kernel/elf_symbols.h"
#include "kernel/shared_libraries.h"

namespace ntap {
namespace {

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

}  // namespace

// Read when a pid is first seen, and again when an address falls outside
// what was read (the process mapped a library since).
const std::vector<elf::ProcessMapping> &UserSymbols::mappings(int64_t pid, bool reread) {
  auto it = maps_.find(pid);
  if (it != maps_.end() && !reread) return it->second;
  std::vector<elf::ProcessMapping> read = elf::process_mappings(pid);
  // A process that has exited keeps what was read while it ran.
  if (read.empty() && it != maps_.end()) return it->second;
  return maps_[pid] = std::move(read);
}

bool UserSymbols::find(int64_t pid, uint64_t address, const std::string &fallback_binary, Found &found) {
  std::string path;
  uint64_t link_address = 0;
  bool located = false;
  for (bool reread : {false, true}) {
    for (const elf::ProcessMapping &m : mappings(pid, reread)) {
      if (address < m.start || address >= m.end) continue;
      std::string error;
      const elf::ElfFile *file = elf::cached_elf(m.path, error);
      std::optional<uint64_t> at = file ? file->address_of_offset(address - m.start + m.offset) : std::nullopt;
      if (!at) return false;
      path = m.path;
      link_address = *at;
      located = true;
      break;
    }
    if (located) break;
  }
  if (!located) {
    // The process is gone: a program linked at fixed addresses still says
    // which function an address of its own is in.
    std::string error;
    const elf::ElfFile *file = fallback_binary.empty() ? nullptr : elf::cached_elf(fallback_binary, error);
    if (!file || file->position_independent()) return false;
    path = fallback_binary;
    link_address = address;
  }
  std::string error;
  const elf::ElfFile *file = elf::cached_elf(path, error);
  const elf::Symbol *symbol = file ? file->function_at(link_address) : nullptr;
  if (!symbol) return false;
  found = {symbol->name, path, link_address - symbol->address, symbol->size};
  return true;
}

std::string UserSymbols::symname(int64_t pid, uint64_t address, const std::string &fallback_binary) {
  Found found;
  return find(pid, address, fallback_binary, found) ? found.name : hex(address);
}

std::string UserSymbols::symdata(int64_t pid, uint64_t address, const std::string &fallback_binary) {
  Found found;
  if (!find(pid, address, fallback_binary, found)) return hex(address);
  return found.name + "+" + hex(found.offset_in_function) + "/" + hex(found.size) + " [" + found.path + "]";
}

}  // namespace ntap
