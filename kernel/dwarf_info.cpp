// Reading a program's DWARF with libdw: line tables, scopes, variable
// locations turned into register/stack reads.
#include "kernel/dwarf_info.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "kernel/file_cache.h"

namespace ntap::dwarf {

namespace {

// struct pt_regs (x86-64) as u64 words: r15 r14 r13 r12 bp bx r11 r10 r9 r8
// ax cx dx si di orig_ax ip cs flags sp ss.
constexpr int kPtRegsOfDwarf[] = {10 /* rax */,
                                  12 /* rdx */,
                                  11 /* rcx */,
                                  5 /* rbx */,
                                  13 /* rsi */,
                                  14 /* rdi */,
                                  4 /* rbp */,
                                  19 /* rsp */,
                                  9 /* r8 */,
                                  8 /* r9 */,
                                  7 /* r10 */,
                                  6 /* r11 */,
                                  3 /* r12 */,
                                  2 /* r13 */,
                                  1 /* r14 */,
                                  0 /* r15 */,
                                  16 /* rip (return address column) */};

// A location computed symbolically: the value of register `reg` plus
// `offset`; `in_register` when the variable is the register itself.
struct Symbolic {
  int reg = -1;
  int64_t offset = 0;
};

struct ScalarShape {
  uint32_t size = 8;
  bool is_signed = false;
};

std::string type_name(Dwarf_Die *type, int depth = 0) {
  if (!type || depth > 16) return "void";
  const char *name = dwarf_diename(type);
  Dwarf_Die inner, *next = nullptr;
  Dwarf_Attribute attr;
  if (dwarf_attr_integrate(type, DW_AT_type, &attr)) next = dwarf_formref_die(&attr, &inner);
  switch (dwarf_tag(type)) {
    case DW_TAG_pointer_type: {
      std::string target = type_name(next, depth + 1);
      return target + (target.back() == '*' ? "*" : " *");
    }
    case DW_TAG_const_type: return "const " + type_name(next, depth + 1);
    case DW_TAG_volatile_type: return "volatile " + type_name(next, depth + 1);
    case DW_TAG_restrict_type: return type_name(next, depth + 1);
    case DW_TAG_structure_type: return std::string("struct ") + (name ? name : "{...}");
    case DW_TAG_union_type: return std::string("union ") + (name ? name : "{...}");
    case DW_TAG_enumeration_type: return std::string("enum ") + (name ? name : "{...}");
    case DW_TAG_array_type: return type_name(next, depth + 1) + "[]";
    case DW_TAG_subroutine_type: return "function";
    default: return name ? name : "?";
  }
}

// Whether the (peeled) type is read as one integer, and how.
bool scalar_shape(Dwarf_Die *type, ScalarShape &shape, std::string &why) {
  Dwarf_Die peeled;
  if (!type || dwarf_peel_type(type, &peeled) != 0) {
    why = "has no type";
    return false;
  }
  Dwarf_Word size = 0, encoding = 0;
  Dwarf_Attribute attr;
  switch (dwarf_tag(&peeled)) {
    case DW_TAG_pointer_type: shape = {8, false}; return true;
    case DW_TAG_base_type:
      if (dwarf_formudata(dwarf_attr(&peeled, DW_AT_encoding, &attr), &encoding) != 0 ||
          dwarf_formudata(dwarf_attr(&peeled, DW_AT_byte_size, &attr), &size) != 0 || size == 0 || size > 8) {
        why = "is of type '" + type_name(type) + "', which is not an integer of at most 8 bytes";
        return false;
      }
      if (encoding == DW_ATE_float || encoding == DW_ATE_complex_float) {
        why = "is a floating-point value ('" + type_name(type) + "'); only integers and pointers are read";
        return false;
      }
      shape = {static_cast<uint32_t>(size), encoding == DW_ATE_signed || encoding == DW_ATE_signed_char};
      return true;
    case DW_TAG_enumeration_type:
      if (dwarf_formudata(dwarf_attr(&peeled, DW_AT_byte_size, &attr), &size) != 0 || size == 0 || size > 8) size = 4;
      shape = {static_cast<uint32_t>(size), false};
      return true;
    default:
      why = "is of type '" + type_name(type) + "'; only integers and pointers are read in process probes";
      return false;
  }
}

// The type a DIE's DW_AT_type names, peeled of typedefs and qualifiers.
bool peeled_type_of(Dwarf_Die *die, Dwarf_Die &out) {
  Dwarf_Attribute attr;
  Dwarf_Die type;
  if (!dwarf_attr_integrate(die, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &type)) return false;
  return dwarf_peel_type(&type, &out) == 0;
}

// The member `name` of a struct or union (looking into anonymous members),
// with its byte offset from the start of `aggregate`.
bool find_member(Dwarf_Die *aggregate, const std::string &name, Dwarf_Die &member, uint64_t &offset, int depth = 0) {
  Dwarf_Die child;
  if (depth > 8 || dwarf_child(aggregate, &child) != 0) return false;
  do {
    if (dwarf_tag(&child) != DW_TAG_member) continue;
    Dwarf_Attribute attr;
    Dwarf_Word at = 0;
    if (dwarf_attr_integrate(&child, DW_AT_data_member_location, &attr)) dwarf_formudata(&attr, &at);
    const char *member_name = dwarf_diename(&child);
    if (member_name && name == member_name) {
      member = child;
      offset = at;
      return true;
    }
    Dwarf_Die inner;
    if (!member_name && peeled_type_of(&child, inner) &&
        (dwarf_tag(&inner) == DW_TAG_structure_type || dwarf_tag(&inner) == DW_TAG_union_type) &&
        find_member(&inner, name, member, offset, depth + 1)) {
      offset += at;
      return true;
    }
  } while (dwarf_siblingof(&child, &child) == 0);
  return false;
}

// Walks `components` from a value of type `type` (`have_address`: what the
// steps computed is the object's address, not its value), appending steps.
// On success `type` is the last one's type and `have_address` says again
// whether the steps end at its address.
bool follow_components(Dwarf_Die &type, bool &have_address, const std::vector<ast::TargetComponent> &components,
                       std::vector<ast::TargetStep> &steps, std::string &error) {
  using Op = ast::TargetStep::Op;
  for (uint32_t i = 0; i < components.size(); ++i) {
    const ast::TargetComponent &c = components[i];
    int tag = dwarf_tag(&type);
    if (have_address && tag == DW_TAG_pointer_type) {  // a pointer in memory: read it first
      steps.push_back({Op::LoadUser, 8, false, 0});
      have_address = false;
    }
    Dwarf_Die next;
    if (c.is_subscript()) {
      if (tag != DW_TAG_pointer_type && tag != DW_TAG_array_type) {
        error = "cannot be indexed: it is of type '" + type_name(&type) + "'";
        return false;
      }
      if (tag == DW_TAG_array_type && !have_address) {
        error = "is an array ntap cannot locate";
        return false;
      }
      if (!peeled_type_of(&type, next)) {
        error = "points to void, which cannot be indexed";
        return false;
      }
      Dwarf_Word size = 0;
      Dwarf_Attribute attr;
      if (dwarf_tag(&next) == DW_TAG_pointer_type) size = 8;
      else if (dwarf_formudata(dwarf_attr_integrate(&next, DW_AT_byte_size, &attr), &size) != 0 || size == 0) {
        error = "has elements of unknown size";
        return false;
      }
      steps.push_back({Op::AddScaled, static_cast<uint32_t>(size), false, i});
    } else {
      Dwarf_Die aggregate = type;
      if (tag == DW_TAG_pointer_type && !peeled_type_of(&type, aggregate)) {
        error = "is a void pointer: it has no member '" + c.field + "'";
        return false;
      }
      if (tag == DW_TAG_pointer_type) have_address = true;  // the pointer's value is the struct's address
      const int aggregate_tag = dwarf_tag(&aggregate);
      if ((aggregate_tag != DW_TAG_structure_type && aggregate_tag != DW_TAG_union_type) || !have_address) {
        error = "has no member '" + c.field + "': it is of type '" + type_name(&type) + "'";
        return false;
      }
      Dwarf_Die member;
      uint64_t offset = 0;
      if (!find_member(&aggregate, c.field, member, offset)) {
        error = "has no member '" + c.field + "' (" + type_name(&aggregate) + ")";
        return false;
      }
      Dwarf_Attribute attr;
      if (dwarf_attr_integrate(&member, DW_AT_bit_size, &attr)) {
        error = "member '" + c.field + "' is a bit-field, which process probes do not read";
        return false;
      }
      if (offset) steps.push_back({Op::Add, static_cast<uint32_t>(offset), false, 0});
      if (!peeled_type_of(&member, next)) {
        error = "member '" + c.field + "' has no type";
        return false;
      }
    }
    type = next;
    have_address = true;
  }
  return true;
}

bool file_matches(std::string_view pattern, const char *path) {
  if (!path) return false;
  std::string_view p(path);
  if (p == pattern) return true;
  if (p.size() > pattern.size() && p.substr(p.size() - pattern.size()) == pattern &&
      p[p.size() - pattern.size() - 1] == '/')
    return true;
  std::string glob(pattern);
  const char *base = std::strrchr(path, '/');
  return ::fnmatch(glob.c_str(), path, 0) == 0 || (base && ::fnmatch(glob.c_str(), base + 1, 0) == 0);
}

}  // namespace

int pt_regs_index(int dwarf_register) {
  if (dwarf_register < 0 || dwarf_register >= static_cast<int>(std::size(kPtRegsOfDwarf))) return -1;
  return kPtRegsOfDwarf[dwarf_register];
}

struct DebugInfo::Impl {
  int fd = -1;
  Elf *elf = nullptr;
  Dwarf *dbg = nullptr;
  Dwarf_CFI *eh_cfi = nullptr;     // .eh_frame (owned)
  Dwarf_CFI *debug_cfi = nullptr;  // .debug_frame (owned by dbg)

  // The CFA at `pc` as register + offset.
  bool cfa_at(uint64_t pc, Symbolic &out, std::string &error) const {
    for (Dwarf_CFI *cfi : {eh_cfi, debug_cfi}) {
      if (!cfi) continue;
      Dwarf_Frame *frame = nullptr;
      if (dwarf_cfi_addrframe(cfi, pc, &frame) != 0) continue;
      Dwarf_Op *ops = nullptr;
      size_t count = 0;
      // libdw gives a "register + offset" rule as one DW_OP_bregx.
      bool ok = dwarf_frame_cfa(frame, &ops, &count) == 0 && count == 1;
      if (ok && ops[0].atom == DW_OP_bregx)
        out = {static_cast<int>(ops[0].number), static_cast<int64_t>(ops[0].number2)};
      else if (ok && ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31)
        out = {ops[0].atom - DW_OP_breg0, static_cast<int64_t>(ops[0].number)};
      else
        ok = false;
      std::free(frame);
      if (ok) return true;
    }
    error = "cannot find the call frame at this address";
    return false;
  }

  // Evaluates a location expression the way a probe can read it. `function`
  // supplies DW_AT_frame_base. Sets `is_address` when the result is where
  // the value lives (the usual case) rather than the value.
  bool evaluate(const Dwarf_Op *ops, size_t count, Dwarf_Die *function, uint64_t pc, Symbolic &out, bool &in_register,
                bool &is_address, std::string &error, int depth = 0) const {
    std::vector<Symbolic> stack;
    in_register = false;
    is_address = true;
    if (count == 0) {
      error = "is optimized out at this address";
      return false;
    }
    for (size_t i = 0; i < count; ++i) {
      const Dwarf_Op &op = ops[i];
      if (op.atom >= DW_OP_reg0 && op.atom <= DW_OP_reg31) {
        if (count != 1) break;
        out = {op.atom - DW_OP_reg0, 0};
        in_register = true;
        is_address = false;
        return true;
      }
      if (op.atom == DW_OP_regx) {
        if (count != 1) break;
        out = {static_cast<int>(op.number), 0};
        in_register = true;
        is_address = false;
        return true;
      }
      if (op.atom >= DW_OP_breg0 && op.atom <= DW_OP_breg31) {
        stack.push_back({op.atom - DW_OP_breg0, static_cast<int64_t>(op.number)});
      } else if (op.atom == DW_OP_bregx) {
        stack.push_back({static_cast<int>(op.number), static_cast<int64_t>(op.number2)});
      } else if (op.atom == DW_OP_call_frame_cfa) {
        Symbolic cfa;
        if (!cfa_at(pc, cfa, error)) return false;
        stack.push_back(cfa);
      } else if (op.atom == DW_OP_fbreg) {
        Dwarf_Attribute attr;
        Dwarf_Op *fb_ops = nullptr;
        size_t fb_count = 0;
        if (depth > 0 || !function || !dwarf_attr_integrate(function, DW_AT_frame_base, &attr) ||
            dwarf_getlocation_addr(&attr, pc, &fb_ops, &fb_count, 1) != 1) {
          error = "has a frame-relative location but the function's frame base is unknown here";
          return false;
        }
        Symbolic base;
        bool base_in_register = false, base_is_address = false;
        if (!evaluate(fb_ops, fb_count, function, pc, base, base_in_register, base_is_address, error, depth + 1))
          return false;
        // The frame base is a value: DW_OP_reg6 there means "rbp's value".
        stack.push_back({base.reg, base.offset + static_cast<int64_t>(op.number)});
      } else if (op.atom == DW_OP_plus_uconst && !stack.empty()) {
        stack.back().offset += static_cast<int64_t>(op.number);
      } else if (op.atom == DW_OP_stack_value && i + 1 == count) {
        is_address = false;
      } else if (op.atom == DW_OP_entry_value || op.atom == DW_OP_GNU_entry_value) {
        error = "is optimized out at this address (only its value at function entry is described)";
        return false;
      } else {
        char atom[8];
        std::snprintf(atom, sizeof atom, "%#x", static_cast<unsigned>(op.atom));
        error = std::string("has a location ntap does not evaluate (DWARF operation ") + atom + ")";
        return false;
      }
    }
    if (stack.size() != 1) {
      error = "has a location ntap does not evaluate";
      return false;
    }
    out = stack.back();
    return true;
  }

  // The scopes at `pc`, innermost first, up to and including the function.
  std::vector<Dwarf_Die> scopes_at(uint64_t pc) const {
    Dwarf_Die cu;
    std::vector<Dwarf_Die> out;
    if (!dwarf_addrdie(dbg, pc, &cu)) return out;
    Dwarf_Die *scopes = nullptr;
    const int n = dwarf_getscopes(&cu, pc, &scopes);
    for (int i = 0; i < n; ++i) {
      out.push_back(scopes[i]);
      if (dwarf_tag(&scopes[i]) == DW_TAG_subprogram) break;
    }
    std::free(scopes);
    return out;
  }

  template <typename Visit>
  void for_each_variable(uint64_t pc, Visit visit) const {
    std::vector<Dwarf_Die> scopes = scopes_at(pc);
    Dwarf_Die *function = nullptr;
    for (Dwarf_Die &scope : scopes)
      if (dwarf_tag(&scope) == DW_TAG_subprogram) function = &scope;
    std::set<std::string> seen;
    for (Dwarf_Die &scope : scopes) {
      Dwarf_Die child;
      if (dwarf_child(&scope, &child) != 0) continue;
      do {
        const int tag = dwarf_tag(&child);
        if (tag != DW_TAG_variable && tag != DW_TAG_formal_parameter) continue;
        const char *name = dwarf_diename(&child);
        if (!name || !seen.insert(name).second) continue;
        if (visit(child, name, tag == DW_TAG_formal_parameter, function)) return;
      } while (dwarf_siblingof(&child, &child) == 0);
    }
  }

  template <typename Visit>
  void for_each_cu(Visit visit) const {
    Dwarf_Off offset = 0, next = 0;
    size_t header = 0;
    while (dwarf_nextcu(dbg, offset, &next, &header, nullptr, nullptr, nullptr) == 0) {
      Dwarf_Die cu;
      if (dwarf_offdie(dbg, offset + header, &cu)) visit(cu);
      offset = next;
    }
  }
};

std::unique_ptr<DebugInfo> DebugInfo::open(const std::string &path, std::string &error) {
  elf_version(EV_CURRENT);
  std::unique_ptr<DebugInfo> info(new DebugInfo());
  info->impl_ = new Impl();
  Impl &impl = *info->impl_;
  impl.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (impl.fd < 0) {
    error = "cannot open '" + path + "'";
    return nullptr;
  }
  impl.elf = elf_begin(impl.fd, ELF_C_READ, nullptr);
  impl.dbg = impl.elf ? dwarf_begin_elf(impl.elf, DWARF_C_READ, nullptr) : nullptr;
  if (!impl.dbg) {
    error = "'" + path + "' has no DWARF debug info (build it with -g)";
    return nullptr;
  }
  impl.eh_cfi = dwarf_getcfi_elf(impl.elf);
  impl.debug_cfi = dwarf_getcfi(impl.dbg);
  return info;
}

DebugInfo::~DebugInfo() {
  if (!impl_) return;
  if (impl_->eh_cfi) dwarf_cfi_end(impl_->eh_cfi);
  if (impl_->dbg) dwarf_end(impl_->dbg);
  if (impl_->elf) elf_end(impl_->elf);
  if (impl_->fd >= 0) ::close(impl_->fd);
  delete impl_;
}

uint64_t DebugInfo::after_prologue(uint64_t entry) const {
  Dwarf_Die cu;
  if (!dwarf_addrdie(impl_->dbg, entry, &cu)) return entry;
  Dwarf_Lines *lines = nullptr;
  size_t count = 0;
  if (dwarf_getsrclines(&cu, &lines, &count) != 0) return entry;
  uint64_t end = UINT64_MAX;
  for (const Dwarf_Die &scope : impl_->scopes_at(entry)) {
    Dwarf_Die die = scope;
    Dwarf_Addr low = 0, high = 0;
    if (dwarf_tag(&die) == DW_TAG_subprogram && dwarf_lowpc(&die, &low) == 0 && low == entry &&
        dwarf_highpc(&die, &high) == 0)
      end = high;
  }
  // The table is ordered by address within a sequence: after the entry's
  // row, an explicit prologue_end wins, else the next address (stap's rule).
  bool seen_entry = false;
  uint64_t second = 0;
  for (size_t i = 0; i < count; ++i) {
    Dwarf_Line *line = dwarf_onesrcline(lines, i);
    Dwarf_Addr address = 0;
    bool end_sequence = false, prologue_end = false;
    if (!line || dwarf_lineaddr(line, &address) != 0) continue;
    dwarf_lineendsequence(line, &end_sequence);
    if (address == entry && !end_sequence) seen_entry = true;
    if (!seen_entry || address < entry) continue;
    if (end_sequence || address >= end) break;
    dwarf_lineprologueend(line, &prologue_end);
    if (prologue_end) return address;
    if (address > entry && !second) second = address;
  }
  return second ? second : entry;
}

namespace {

// Every DW_TAG_inlined_subroutine below `die`, at any depth.
template <typename Visit>
void walk_inlined(Dwarf_Die &die, Visit &visit) {
  Dwarf_Die child;
  if (dwarf_child(&die, &child) != 0) return;
  do {
    if (dwarf_tag(&child) == DW_TAG_inlined_subroutine) visit(child);
    walk_inlined(child, visit);
  } while (dwarf_siblingof(&child, &child) == 0);
}

}  // namespace

std::vector<InlinedInstance> DebugInfo::inlined_instances(const std::string &pattern) const {
  std::vector<InlinedInstance> out;
  auto visit = [&](Dwarf_Die &inlined) {
    const char *name = dwarf_diename(&inlined);  // from the abstract origin
    if (!name || ::fnmatch(pattern.c_str(), name, 0) != 0) return;
    // DW_AT_entry_pc (else the low address); a copy split over ranges
    // without either starts at its first range.
    Dwarf_Addr entry = 0;
    if (dwarf_entrypc(&inlined, &entry) != 0) {
      Dwarf_Addr base = 0, start = 0, end = 0;
      if (dwarf_ranges(&inlined, 0, &base, &start, &end) <= 0) return;
      entry = start;
    }
    out.push_back({name, entry});
  };
  impl_->for_each_cu([&](Dwarf_Die &cu) { walk_inlined(cu, visit); });
  std::sort(out.begin(), out.end(), [](const InlinedInstance &a, const InlinedInstance &b) {
    return a.address != b.address ? a.address < b.address : a.function < b.function;
  });
  return out;
}

std::vector<LineAddress> DebugInfo::line_addresses(std::string_view file, int line_number) const {
  std::vector<LineAddress> out;
  impl_->for_each_cu([&](Dwarf_Die &cu) {
    Dwarf_Lines *lines = nullptr;
    size_t count = 0;
    if (dwarf_getsrclines(&cu, &lines, &count) != 0) return;
    int previous_line = -1;
    const char *previous_file = nullptr;
    for (size_t i = 0; i < count; ++i) {
      Dwarf_Line *line = dwarf_onesrcline(lines, i);
      int number = 0;
      Dwarf_Addr address = 0;
      bool statement = false, end_sequence = false;
      if (!line || dwarf_lineno(line, &number) != 0 || dwarf_lineaddr(line, &address) != 0) continue;
      dwarf_linebeginstatement(line, &statement);
      dwarf_lineendsequence(line, &end_sequence);
      const char *source = dwarf_linesrc(line, nullptr, nullptr);
      // The start of each run of rows for the line.
      const bool starts_run = number != previous_line || source != previous_file;
      previous_line = end_sequence ? -1 : number;
      previous_file = source;
      if (end_sequence || !statement || number != line_number || !starts_run || !file_matches(file, source)) continue;
      out.push_back({address, source ? source : "", number});
    }
  });
  std::sort(out.begin(), out.end(), [](const LineAddress &a, const LineAddress &b) { return a.address < b.address; });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const LineAddress &a, const LineAddress &b) { return a.address == b.address; }),
            out.end());
  return out;
}

std::optional<LineAddress> DebugInfo::line_of(uint64_t address) const {
  Dwarf_Die cu;
  if (!dwarf_addrdie(impl_->dbg, address, &cu)) return std::nullopt;
  Dwarf_Line *line = dwarf_getsrc_die(&cu, address);
  int number = 0;
  if (!line || dwarf_lineno(line, &number) != 0) return std::nullopt;
  const char *source = dwarf_linesrc(line, nullptr, nullptr);
  Dwarf_Addr at = 0;
  dwarf_lineaddr(line, &at);
  return LineAddress{at, source ? source : "", number};
}

std::vector<Variable> DebugInfo::variables_at(uint64_t address) const {
  std::vector<Variable> out;
  impl_->for_each_variable(address, [&](Dwarf_Die &die, const char *name, bool parameter, Dwarf_Die *) {
    Dwarf_Attribute attr;
    Dwarf_Die type, *type_die = nullptr;
    if (dwarf_attr_integrate(&die, DW_AT_type, &attr)) type_die = dwarf_formref_die(&attr, &type);
    out.push_back({name, type_name(type_die), parameter});
    return false;
  });
  return out;
}

bool DebugInfo::locate(uint64_t address, const std::string &name, const std::vector<ast::TargetComponent> &components,
                       bool address_of, VariableAccess &access, std::string &error) const {
  bool found = false;
  impl_->for_each_variable(address, [&](Dwarf_Die &die, const char *var_name, bool, Dwarf_Die *function) {
    if (name != var_name) return false;
    found = true;
    Dwarf_Attribute attr;
    Dwarf_Die type, *type_die = nullptr;
    if (dwarf_attr_integrate(&die, DW_AT_type, &attr)) type_die = dwarf_formref_die(&attr, &type);
    ScalarShape shape;
    if (components.empty() && !address_of && !scalar_shape(type_die, shape, error)) return true;
    Dwarf_Op *ops = nullptr;
    size_t count = 0;
    if (!dwarf_attr_integrate(&die, DW_AT_location, &attr)) {
      error = dwarf_attr_integrate(&die, DW_AT_const_value, &attr) ? "is a constant the compiler folded away"
                                                                   : "is optimized out";
      return true;
    }
    const int n = dwarf_getlocation_addr(&attr, address, &ops, &count, 1);
    if (n <= 0) {
      error = "is optimized out at this address";
      return true;
    }
    Symbolic where;
    bool in_register = false, is_address = true;
    if (!impl_->evaluate(ops, count, function, address, where, in_register, is_address, error)) return true;
    const int index = pt_regs_index(where.reg);
    if (index < 0 || where.reg == 16) {
      error = "lives in a register the probe cannot read (DWARF register " + std::to_string(where.reg) + ")";
      return true;
    }
    if (where.offset < INT32_MIN || where.offset > INT32_MAX) {
      error = "has an offset too large to read";
      return true;
    }
    access.arg_index = index;
    access.steps.clear();
    using Op = ast::TargetStep::Op;
    // Add with is_signed: the amount is an int32 (a negative frame offset).
    if (where.offset) access.steps.push_back({Op::Add, static_cast<uint32_t>(where.offset), true, 0});
    if (!components.empty() || address_of) {
      // $p->member...: from the variable (its address when it is in memory,
      // its value in a register) through the components.
      Dwarf_Die type;
      if (!type_die || dwarf_peel_type(type_die, &type) != 0) {
        error = "has no type";
        return true;
      }
      bool have_address = is_address;
      if (!follow_components(type, have_address, components, access.steps, error)) return true;
      if (address_of || dwarf_tag(&type) == DW_TAG_array_type) {
        if (!have_address) error = "is in a register: it has no address";
        return true;  // the address itself (an array reads as its address, as in stap)
      }
      if (!scalar_shape(&type, shape, error)) return true;
      if (have_address) access.steps.push_back({Op::LoadUser, shape.size, shape.is_signed, 0});
      return true;
    }
    if (is_address)
      access.steps.push_back({Op::LoadUser, shape.size, shape.is_signed, 0});
    else if (shape.size < 8 || shape.is_signed)
      access.steps.push_back({Op::Narrow, shape.size, shape.is_signed, 0});
    return true;
  });
  return found;
}

bool DebugInfo::return_value(uint64_t entry, VariableAccess &access, std::string &c_type, std::string &error) const {
  for (const Dwarf_Die &scope : impl_->scopes_at(entry)) {
    Dwarf_Die die = scope;
    Dwarf_Addr low = 0;
    if (dwarf_tag(&die) != DW_TAG_subprogram || dwarf_lowpc(&die, &low) != 0 || low != entry) continue;
    Dwarf_Attribute attr;
    Dwarf_Die type, *type_die = nullptr;
    if (dwarf_attr_integrate(&die, DW_AT_type, &attr)) type_die = dwarf_formref_die(&attr, &type);
    c_type = type_name(type_die);
    if (!type_die) {
      error = "the function returns void";
      return true;
    }
    ScalarShape shape;
    if (!scalar_shape(type_die, shape, error)) return true;
    access.arg_index = kReturnRegisterIndex;
    access.steps.clear();
    if (shape.size < 8 || shape.is_signed)
      access.steps.push_back({ast::TargetStep::Op::Narrow, shape.size, shape.is_signed, 0});
    return true;
  }
  return false;
}

const DebugInfo *cached_debug_info(const std::string &path, std::string &error) { return open_cached<DebugInfo>(path, error); }

}  // namespace ntap::dwarf
