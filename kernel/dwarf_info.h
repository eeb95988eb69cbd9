// What process probes need from a program's DWARF (libdw): where a
// function's body starts (after its prologue, where its parameters are in
// place), the addresses of a source line, and the variables in scope at an
// address with their C types and how to read them from the probed thread's
// registers and stack (as ast::TargetStep lists over x86-64 pt_regs).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/ast.h"

namespace ntap::dwarf {

// The index of a DWARF register (x86-64 numbering) in the kernel's
// struct pt_regs viewed as an array of u64, or -1.
int pt_regs_index(int dwarf_register);
// pt_regs indexes of the return value register (rax), ip and sp.
constexpr int kReturnRegisterIndex = 10, kIpRegisterIndex = 16, kSpRegisterIndex = 19;

// How to read a variable at one address: start from pt_regs[arg_index] and
// follow `steps` (Add, LoadUser, Narrow).
struct VariableAccess {
  int arg_index = -1;
  std::vector<ast::TargetStep> steps;
};

struct Variable {
  std::string name;
  std::string c_type;  // "int", "const char *", "struct point"
  bool is_parameter = false;
};

// An inlined copy of a function: where its code starts in the function it
// was inlined into.
struct InlinedInstance {
  std::string function;  // the inlined function's name
  uint64_t address = 0;  // its entry (DW_AT_entry_pc, else its lowest address)
};

// One address of a source line.
struct LineAddress {
  uint64_t address = 0;
  std::string file;  // as the line table names it
  int line = 0;
};

class DebugInfo {
 public:
  // Null when `path` has no DWARF (`error` says why).
  static std::unique_ptr<DebugInfo> open(const std::string &path, std::string &error);
  ~DebugInfo();
  DebugInfo(const DebugInfo &) = delete;
  DebugInfo &operator=(const DebugInfo &) = delete;

  // Where a probe on the function entered at `entry` goes: the first line
  // after the prologue (stap's choice), or `entry` itself when the line table
  // has nothing better.
  uint64_t after_prologue(uint64_t entry) const;
  // Every is_stmt address of `line` in a source file whose path ends with
  // `file` (or matches it as an fnmatch pattern), lowest first, one per
  // contiguous run.
  std::vector<LineAddress> line_addresses(std::string_view file, int line) const;
  // Every inlined copy of a function whose name matches the fnmatch
  // `pattern`, by address.
  std::vector<InlinedInstance> inlined_instances(const std::string &pattern) const;
  // The source line of `address`, if the line table has one.
  std::optional<LineAddress> line_of(uint64_t address) const;
  // The parameters and local variables in scope at `address` (innermost
  // scope first, parameters of the function included once).
  std::vector<Variable> variables_at(uint64_t address) const;
  // How to read `name` (in scope at `address`) as a long, following
  // `components` (->member through pointers and structs, [i] of pointers
  // and arrays) in the probed process's memory; `address_of` stops at the
  // last one's address (&$p->x), as does an array (stap reads it as its
  // address). False when it is not in scope; true with `error` set when it
  // is but cannot be read (a struct, optimized out, no such member...).
  bool locate(uint64_t address, const std::string &name, const std::vector<ast::TargetComponent> &components,
              bool address_of, VariableAccess &access, std::string &error) const;
  // How to read the return value of the function entered at `entry` at its
  // return (from rax, narrowed to its C type), and that type. False when
  // the debug info does not describe the function; true with `error` set
  // when it returns void or something other than an integer or pointer.
  bool return_value(uint64_t entry, VariableAccess &access, std::string &c_type, std::string &error) const;

 private:
  DebugInfo() = default;
  struct Impl;
  Impl *impl_ = nullptr;
};

// The DebugInfo of `path`, read once per process and shared; null when the
// file has no debug info (`error` says why).
const DebugInfo *cached_debug_info(const std::string &path, std::string &error);

}  // namespace ntap::dwarf
