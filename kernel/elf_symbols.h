// What process probes need from a program's ELF file: its function symbols,
// where an address lives in the file (uprobes are placed by file offset),
// its SystemTap SDT notes (USDT probes), its PLT entries, and finding a
// program by name on PATH as stap does. DWARF questions are in
// kernel/dwarf_info.h.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ntap::elf {

struct Symbol {
  std::string name;
  uint64_t address = 0;  // link-time virtual address (st_value)
  uint64_t size = 0;
};

// One operand of an SDT probe as the assembler wrote it in the note
// ("-4@%edi", "8@-16(%rbp)", "4@$5").
struct SdtArg {
  enum class Kind : uint8_t { Register, Memory, Constant };
  Kind kind = Kind::Constant;
  int size = 8;             // bytes of the value
  bool is_signed = false;   // a negative size in the note
  int dwarf_register = -1;  // Register, Memory: the base register (DWARF numbering)
  int64_t value = 0;        // Memory: the displacement; Constant: the value
};

// One probe of the .note.stapsdt section.
struct SdtNote {
  std::string provider, name;
  uint64_t address = 0;    // link-time address of the probe site, corrected for .stapsdt.base
  uint64_t semaphore = 0;  // link-time address of its semaphore (0: none)
  std::string arg_text;    // the operands as written, space separated
  std::vector<SdtArg> args;
  std::string arg_error;  // non-empty when an operand could not be understood
};

// One entry of the procedure linkage table: the code the program's calls of an
// imported function go through (`call malloc@plt`).
struct PltEntry {
  std::string name;      // the imported function, without its version ("malloc")
  uint64_t address = 0;  // link-time address of the entry
};

// Parses an SDT note's operand list. Returns false (with `error` set) at the
// first operand it does not understand; `args` then holds those before it.
bool parse_sdt_args(std::string_view text, std::vector<SdtArg> &args, std::string &error);

// The DWARF register number of an x86-64 register name without '%' ("rdi",
// "edi", "di", "dil", "r8d"), or -1.
int dwarf_register_of(std::string_view name);

class ElfFile {
 public:
  // Reads `path`'s symbol tables, program headers and SDT notes. Null with
  // `error` set when the file cannot be read or is not an ELF file.
  static std::unique_ptr<ElfFile> open(const std::string &path, std::string &error);

  const std::string &path() const { return path_; }
  // Function symbols (.symtab, else .dynsym) with a non-zero address,
  // sorted by address; aliases of one address are kept.
  const std::vector<Symbol> &functions() const { return functions_; }
  // The functions whose name matches the fnmatch pattern, by name then address,
  // one per name.
  std::vector<Symbol> match_functions(std::string_view pattern) const;
  // The function containing `address` (link-time), or null.
  const Symbol *function_at(uint64_t address) const;
  // Where the link-time `address` lives in the file (from the PT_LOAD segments).
  std::optional<uint64_t> file_offset(uint64_t address) const;
  // The link-time address of the loaded byte at file offset `offset`.
  std::optional<uint64_t> address_of_offset(uint64_t offset) const;
  const std::vector<SdtNote> &sdt_notes() const { return notes_; }
  // The PLT entries that jump through a GOT slot of an imported function
  // (.plt, .plt.sec, .plt.got), by address.
  const std::vector<PltEntry> &plt_entries() const { return plt_; }
  bool has_debug_info() const { return has_debug_info_; }
  // ET_DYN (a PIE or a shared library): loaded at an address chosen at run time.
  bool position_independent() const { return position_independent_; }

 private:
  struct Segment {
    uint64_t vaddr, memsz, offset, filesz;
  };
  std::string path_;
  std::vector<Symbol> functions_;
  std::vector<Segment> segments_;
  std::vector<SdtNote> notes_;
  std::vector<PltEntry> plt_;
  bool has_debug_info_ = false;
  bool position_independent_ = false;
};

// The ElfFile for `path`, read once per process and shared (null with
// `error` set when unreadable).
const ElfFile *cached_elf(const std::string &path, std::string &error);

// stap's lookup of process("NAME"): a name with a '/' is taken as it is
// (made absolute), otherwise searched on $PATH; the result is the canonical
// path of an executable regular file. Empty (with `error` set) when none.
std::string resolve_program_path(const std::string &name, std::string &error);

// The executable of a running process (/proc/PID/exe), or empty with `error`.
std::string executable_of_pid(int64_t pid, std::string &error);

}  // namespace ntap::elf
