// User-space addresses of traced processes as symbols (usymname, usymdata):
// the process's /proc/PID/maps says which file and offset an address is,
// the file's ELF symbols (kernel/elf_symbols.h) say which function.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kernel/shared_libraries.h"

namespace ntap {

class UserSymbols {
 public:
  // "main", or the address in hex when it cannot be found.
  std::string symname(int64_t pid, uint64_t address, const std::string &fallback_binary);
  // "main+0x4/0x2a [/usr/bin/prog]", or the address in hex.
  std::string symdata(int64_t pid, uint64_t address, const std::string &fallback_binary);

 private:
  struct Found {
    std::string name, path;
    uint64_t offset_in_function = 0, size = 0;
  };
  bool find(int64_t pid, uint64_t address, const std::string &fallback_binary, Found &found);
  const std::vector<elf::ProcessMapping> &mappings(int64_t pid, bool reread);
  std::map<int64_t, std::vector<elf::ProcessMapping>> maps_;
};

}  // namespace ntap
