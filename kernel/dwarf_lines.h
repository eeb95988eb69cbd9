// Source lines of code addresses from DWARF debug info, through libdw's
// dwfl: symfileline(), symfile() and symline() of kernel addresses.
//
// DwarfLines answers for one ELF file at its link-time addresses (any ELF
// with .debug_line: a vmlinux, or a small test program). KernelSourceLines
// is the running kernel's: a vmlinux with debug info given with --vmlinux /
// -d FILE or found in the usual places, with the KASLR offset (kallsyms'
// `_text` minus the vmlinux's) taken off each address. Without debug info
// every answer is stap's fallback, the address in hex.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

struct Dwfl;

namespace ntap {

struct SourceLine {
  std::string file;  // as the compiler recorded it ("net/ipv4/tcp_ipv4.c", "/tmp/t.c")
  int line = 0;
};

class DwarfLines {
 public:
  // Null, with `error` set, when the file cannot be read as an ELF.
  static std::unique_ptr<DwarfLines> open(const std::string &path, std::string &error);
  ~DwarfLines();
  DwarfLines(const DwarfLines &) = delete;
  DwarfLines &operator=(const DwarfLines &) = delete;

  // The source line of the instruction at `address` (a link-time address),
  // or nullopt when the file has no line information for it.
  std::optional<SourceLine> lookup(uint64_t address) const;
  // The value of the symbol `name` in the file's symbol table, or nullopt.
  std::optional<uint64_t> symbol(const std::string &name) const;
  // Whether the file has any DWARF at all.
  bool has_debug_info() const;

 private:
  DwarfLines() = default;
  Dwfl *dwfl_ = nullptr;
};

class KernelSourceLines {
 public:
  // `vmlinux` empty: search /usr/lib/debug/boot/vmlinux-$(uname -r),
  // /usr/lib/debug/lib/modules/$(uname -r)/vmlinux, /boot/vmlinux-$(uname -r)
  // and /lib/modules/$(uname -r)/build/vmlinux. `kallsyms` gives the running
  // addresses of `_text`.
  explicit KernelSourceLines(std::string vmlinux = "", std::string kallsyms = "/proc/kallsyms");

  // "net/core/dev.c:4321"; the hex address when unknown.
  std::string symfileline(uint64_t address);
  // "net/core/dev.c"; the hex address when unknown.
  std::string symfile(uint64_t address);
  // "4321"; the hex address when unknown.
  std::string symline(uint64_t address);

  // Whether debug info was found (opens it on the first call).
  bool available();
  // Why not, when it is not: which files were tried.
  const std::string &error();

 private:
  void open_locked();
  std::optional<SourceLine> lookup(uint64_t address);

  std::string vmlinux_, kallsyms_;
  std::mutex mutex_;
  bool opened_ = false;
  std::unique_ptr<DwarfLines> lines_;
  int64_t bias_ = 0;  // running address - link-time address
  std::string error_;
  std::unordered_map<uint64_t, std::optional<SourceLine>> cache_;
};

}  // namespace ntap
