// process(...) provider: resolution over a program's ELF symbols, DWARF line
// table, SDT notes and PLT entries, or over those of the libraries it loads
// (.library); context variables from DWARF locations and SDT operands;
// attachment through libbpf's uprobe API.
#include "kernel/providers/uprobe.h"

#include <bpf/libbpf.h>
#include <fnmatch.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>

#include "frontend/diagnostics.h"
#include "kernel/dwarf_info.h"
#include "kernel/elf_symbols.h"
#include "kernel/kernel_info.h"
#include "kernel/providers/executable_filter.h"
#include "kernel/shared_libraries.h"

namespace ntap {
namespace {

using Arg = PointShape::Arg;
using Op = ast::TargetStep::Op;

constexpr const char *kUprobeSection = "uprobe";
constexpr const char *kUretprobeSection = "uretprobe";

// The file a process probe is placed in, and which processes it follows.
struct Subject {
  std::string path;  // the program, or for .library probes a library it loads
  int64_t pid = 0;   // ResolvedProbe::pid
  // .library probes: the point in the program's terms,
  // process("PROGRAM").library("LIBRARY"), which stap names marks and PLT
  // entries by (their function probes it names by the library alone).
  std::string library_point;
};

Subject subject_of(const ast::ProbePoint &point, const ProcessTarget &target) {
  const ast::ProbePointComponent &process = point.components[0];
  std::string error;
  Subject subject;
  if (process.string_arg) {
    subject.path = elf::resolve_program_path(*process.string_arg, error);
  } else if (process.number_arg) {
    if (*process.number_arg <= 0) probe_error(point, "process(PID) needs a positive pid");
    subject.pid = *process.number_arg;
    subject.path = elf::executable_of_pid(subject.pid, error);
  } else {
    // stap: a process probe without path or pid is about the target.
    const ProcessTarget &t = target;
    if (!t.command.empty()) {
      const std::string first_word = t.command.substr(0, t.command.find_first_of(" \t"));
      subject.path = elf::resolve_program_path(first_word, error);
    } else if (t.pid > 0) {
      subject.path = elf::executable_of_pid(t.pid, error);
    } else {
      probe_error(point, "a process probe without a path or pid needs a target process (-c CMD or -x PID)");
    }
    subject.pid = ast::ResolvedProbe::kTargetPid;
  }
  if (subject.path.empty()) probe_error(point, error);
  return subject;
}

std::string quoted_process(const Subject &subject, const ast::ProbePoint &point) {
  // stap's pp() of a library probe is about the library's file, as if written process("LIBRARY").
  if (!subject.library_point.empty()) return "process(\"" + subject.path + "\")";
  const ast::ProbePointComponent &process = point.components[0];
  if (process.number_arg) return "process(" + std::to_string(*process.number_arg) + ")";
  return "process(\"" + subject.path + "\")";
}

// How pn() and -l name a mark or PLT entry: for a library, in the
// program's terms (Subject::library_point).
std::string in_script_terms(const Subject &subject, const ast::ProbePoint &point) {
  return subject.library_point.empty() ? quoted_process(subject, point) : subject.library_point;
}

// "NAME@FILE:LINE" → its parts (LINE 0 when absent).
struct Where {
  std::string function, file;
  int line = 0;
};

Where split_where(const ast::ProbePoint &point, const std::string &text, bool needs_line) {
  Where where;
  const size_t at = text.find('@');
  where.function = text.substr(0, at);
  if (where.function.empty()) where.function = "*";
  if (at != std::string::npos) {
    std::string rest = text.substr(at + 1);
    const size_t colon = rest.rfind(':');
    if (colon != std::string::npos) {
      const std::string number = rest.substr(colon + 1);
      char *end = nullptr;
      const long line = std::strtol(number.c_str(), &end, 10);
      if (number.empty() || *end || line <= 0) probe_error(point, "bad line number '" + number + "' in '" + text + "'");
      where.line = static_cast<int>(line);
      rest = rest.substr(0, colon);
    }
    where.file = rest;
    if (where.file.empty()) probe_error(point, "empty file name in '" + text + "'");
  }
  if (needs_line && where.line == 0)
    probe_error(point, "statement(\"" + text + "\") needs a source line: statement(\"FUNCTION@FILE:LINE\")");
  return where;
}

std::string fmt_hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
  return buf;
}

bool fnmatches(const std::string &pattern, const std::string &text) {
  return ::fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

ast::ResolvedProbe make_probe(const Subject &subject, const elf::ElfFile &elf, uint64_t address, bool retprobe,
                              const ast::ProbePoint &point) {
  ast::ResolvedProbe probe;
  probe.kind = ast::ProbeKind::Uprobe;
  probe.binary = subject.path;
  probe.pid = subject.pid;
  probe.address = address;
  probe.retprobe = retprobe;
  probe.section = retprobe ? kUretprobeSection : kUprobeSection;
  std::optional<uint64_t> offset = elf.file_offset(address);
  if (!offset) probe_error(point, "address 0x" + fmt_hex(address) + " is not in a loaded segment of " + subject.path);
  probe.offset = *offset;
  return probe;
}

const dwarf::DebugInfo *debug_info_of(const std::string &path) {
  std::string ignored;
  return dwarf::cached_debug_info(path, ignored);
}

class ProcessProvider final : public Provider {
 public:
  explicit ProcessProvider(const KernelInfo &kernel) : kernel_(kernel) {}
  std::string_view family() const override { return "process"; }
  ast::Side side() const override { return ast::Side::Kernel; }

  bool handles(const ast::ProbePoint &point) const override {
    if (point.components.size() < 2 || point.components[0].name != "process") return false;
    const std::string &kind = point.components[1].name;
    return kind == "function" || kind == "statement" || kind == "mark" || kind == "provider" || kind == "plt" ||
           kind == "library";
  }

  std::vector<PointShape> list_components() const override {
    std::vector<PointShape> shapes;
    for (Arg process : {Arg::String, Arg::Number, Arg::None})
      for (bool library : {false, true}) {
        // process(...) or process(...).library("LIB"), then the same forms.
        auto add = [&](std::vector<PointShape::Component> rest) {
          PointShape shape{{{"process", process}}};
          if (library) shape.components.push_back({"library", Arg::String});
          shape.components.insert(shape.components.end(), rest.begin(), rest.end());
          shapes.push_back(std::move(shape));
        };
        add({{"function", Arg::String}});
        add({{"function", Arg::String}, {"call", Arg::None}});
        add({{"function", Arg::String}, {"return", Arg::None}});
        add({{"function", Arg::String}, {"inline", Arg::None}});
        add({{"statement", Arg::String}});
        add({{"mark", Arg::String}});
        add({{"provider", Arg::String}, {"mark", Arg::String}});
        for (Arg plt : {Arg::String, Arg::None}) {
          add({{"plt", plt}});
          add({{"plt", plt}, {"return", Arg::None}});
        }
      }
    return shapes;
  }

  std::vector<ast::ResolvedProbe> resolve(const ast::ProbePoint &point) const override {
    const auto &c = point.components;
    for (size_t i = 1; i < c.size(); ++i) {
      const bool wants_string = c[i].name == "function" || c[i].name == "statement" || c[i].name == "mark" ||
                                c[i].name == "provider" || c[i].name == "library";
      const bool plain_plt = c[i].name == "plt" && !c[i].string_arg && !c[i].number_arg;  // .plt is .plt("*")
      if (wants_string || (c[i].name == "plt" && !plain_plt)) {
        if (!c[i].string_arg || c[i].string_arg->empty())
          probe_error(point, "process probe component '" + c[i].name + "' needs a string argument");
      } else if (c[i].string_arg || c[i].number_arg) {
        probe_error(point, "'." + c[i].name + "' takes no argument");
      }
    }
    if (c[1].name == "library") return library_probes(point);
    return probes_in(point, subject_of(point, kernel_.process_target()));
  }

  // process(...).library("LIB").…: the same probes placed in each library
  // file LIB names for the program (kernel/shared_libraries.h), firing only
  // in the program's processes: process("PATH")'s by the executable they
  // run (ResolvedProbe::exe_inode, as perf's .process("PATH") filters),
  // process(PID)'s and the target's by attaching to that process.
  std::vector<ast::ResolvedProbe> library_probes(const ast::ProbePoint &point) const {
    const auto &c = point.components;
    const std::string kind = c.size() > 2 ? c[2].name : "";
    if (kind != "function" && kind != "statement" && kind != "mark" && kind != "provider" && kind != "plt")
      probe_error(point, "expected .function, .statement, .mark, .provider or .plt after .library(\"" +
                             *c[1].string_arg + "\")");
    const Subject program = subject_of(point, kernel_.process_target());
    elf::LibraryQuery query{program.path, {}, elf::LibrarySearchPath::from_system()};
    // A running process also names the libraries it opened with dlopen.
    const int64_t running = program.pid == ast::ResolvedProbe::kTargetPid ? kernel_.process_target().pid : program.pid;
    if (running > 0) query.mapped = elf::mapped_files(running);
    std::string error;
    const std::vector<std::string> files = elf::resolve_library(*c[1].string_arg, query, error);
    if (files.empty()) probe_error(point, error);

    ast::ResolvedProbe filter;
    if (program.pid == 0) filter_by_executable(filter, program.path, point, "process(\"" + program.path + "\")");
    ast::ProbePoint in_library = point;
    in_library.components.erase(in_library.components.begin() + 1);
    std::vector<ast::ResolvedProbe> probes;
    std::optional<CompileError> skipped;
    for (const std::string &file : files) {
      const Subject library{file, program.pid, "process(\"" + program.path + "\").library(\"" + file + "\")"};
      try {
        for (ast::ResolvedProbe &probe : probes_in(in_library, library)) {
          probe.exe_inode = filter.exe_inode;
          probe.exe_dev = filter.exe_dev;
          probes.push_back(std::move(probe));
        }
      } catch (const CompileError &e) {
        // A pattern over several libraries probes those it can, as stap's
        // does: one without debug info or PLT entries is passed over.
        if (files.size() == 1) throw;
        if (!skipped) skipped = e;
      }
    }
    if (probes.empty() && skipped) throw *skipped;
    return probes;
  }

  // The probes `point` (process(...).KIND..., no .library) names in `subject`'s file.
  std::vector<ast::ResolvedProbe> probes_in(const ast::ProbePoint &point, const Subject &subject) const {
    const auto &c = point.components;
    std::string error;
    const elf::ElfFile *elf = elf::cached_elf(subject.path, error);
    if (!elf) probe_error(point, error);
    const std::string &kind = c[1].name;
    if (kind == "function") {
      if (c.size() > 3 || (c.size() == 3 && c[2].name != "call" && c[2].name != "return" && c[2].name != "inline"))
        probe_error(point, "unexpected '." + c.back().name + "' after .function (.call, .return or .inline)");
      if (c.size() == 3 && c[2].name == "inline")
        return inlined(point, subject, *elf, split_where(point, *c[1].string_arg, false));
      const bool retprobe = c.size() == 3 && c[2].name == "return";
      const bool call = c.size() == 3 && c[2].name == "call";
      return functions(point, subject, *elf, split_where(point, *c[1].string_arg, false), retprobe, call);
    }
    if (kind == "plt") {
      if (c.size() > 3 || (c.size() == 3 && c[2].name != "return"))
        probe_error(point, "unexpected '." + c.back().name + "' after .plt (.return)");
      return plt_probes(point, subject, *elf, c[1].string_arg ? *c[1].string_arg : "*", c.size() == 3);
    }
    if (kind == "statement") {
      if (c.size() != 2) probe_error(point, "unexpected '." + c.back().name + "' after .statement");
      return statements(point, subject, *elf, split_where(point, *c[1].string_arg, true));
    }
    // mark, provider(...).mark
    std::string provider = "*";
    size_t mark = 1;
    if (kind == "provider") {
      provider = *c[1].string_arg;
      mark = 2;
    }
    if (c.size() != mark + 1 || c[mark].name != "mark") probe_error(point, "expected .mark(\"NAME\")");
    return marks(point, subject, *elf, provider, *c[mark].string_arg, kind == "provider");
  }

  bool resolve_target(const ast::ResolvedProbe &probe, ast::TargetVarExpr &var) const override {
    // A PLT entry has $$name only (as in stap), which elaboration gives as text.
    if (probe.kind != ast::ProbeKind::Uprobe || probe.plt_entry) return false;
    dwarf::VariableAccess access;
    const bool plain = var.components.empty() && !var.address_of;
    if (!plain && (probe.sdt_arg_count > 0 || var.name == "return"))
      target_error(var, "$" + var.name + " is a plain value here (an SDT operand or the return register): "
                            "'->', '[]' and '&' need a variable DWARF describes");
    if (probe.sdt_arg_count > 0) return sdt_argument(probe, var, access) && fill(var, access);
    std::string error;
    const dwarf::DebugInfo *debug = dwarf::cached_debug_info(probe.binary, error);
    if (var.name == "return") {
      if (!probe.retprobe) return false;
      std::string c_type;
      if (debug && debug->return_value(function_entry(probe), access, c_type, error)) {
        if (!error.empty()) target_error(var, "$return: " + error);
        return fill(var, access);
      }
      access.arg_index = dwarf::kReturnRegisterIndex;  // no type known: the whole of rax
      return fill(var, access);
    }
    if (probe.retprobe) return false;  // parameters at a return are only reachable through @entry
    if (!debug)
      target_error(var, "cannot read $" + var.name + ": " + error +
                            "; without debug info a process probe has only $return and registers (uaddr())");
    if (!debug->locate(probe.address, var.name, var.components, var.address_of, access, error)) return false;
    if (!error.empty()) target_error(var, "$" + var.name + " " + error);
    return fill(var, access);
  }

  std::vector<std::string> target_hints(const ast::ResolvedProbe &probe, const ast::TargetVarExpr &) const override {
    if (probe.plt_entry) return {"a .plt probe has only $$name: no debug info describes a PLT entry"};
    return {};
  }

  std::vector<std::string> describe_context(const ast::ResolvedProbe &probe) const override {
    if (probe.plt_entry) return {"$$name:string"};
    std::vector<std::string> out;
    for (int i = 1; i <= probe.sdt_arg_count; ++i) out.push_back("$arg" + std::to_string(i) + ":long");
    if (probe.sdt_arg_count) return out;
    std::string error;
    const dwarf::DebugInfo *debug = dwarf::cached_debug_info(probe.binary, error);
    if (probe.retprobe) {
      dwarf::VariableAccess access;
      std::string c_type = "long";
      if (debug) debug->return_value(function_entry(probe), access, c_type, error);
      out.push_back("$return:" + c_type);
      return out;
    }
    if (debug)
      for (const dwarf::Variable &v : debug->variables_at(probe.address)) out.push_back("$" + v.name + ":" + v.c_type);
    return out;
  }

  // The same function resolved as a .function probe, at the same symbol.
  std::vector<ast::ResolvedProbe> entry_probes(const ast::ResolvedProbe &ret, const Location &at) const override {
    if (!ret.retprobe) return {};
    ast::ProbePoint point;
    point.loc = at;
    point.components.push_back({"process", ret.binary, std::nullopt});
    point.components.push_back({"function", ret.name, std::nullopt});
    std::vector<ast::ResolvedProbe> entries;
    for (ast::ResolvedProbe &entry : resolve(point)) {
      if (entry.entry != ret.entry) continue;  // an alias resolving elsewhere
      entry.provider = ret.provider;
      entry.pid = ret.pid;
      // A .library probe fires in its program only, its entry too.
      entry.exe_inode = ret.exe_inode;
      entry.exe_dev = ret.exe_dev;
      entry.point = ret.point;
      entries.push_back(std::move(entry));
    }
    return entries;
  }

  bpf_link *attach(const ast::ResolvedProbe &probe, bpf_program *prog) const override {
    LIBBPF_OPTS(bpf_uprobe_opts, opts);
    opts.retprobe = probe.retprobe;
    opts.ref_ctr_offset = probe.semaphore_offset;
    pid_t pid = -1;  // every process
    if (probe.pid == ast::ResolvedProbe::kTargetPid) {
      if (kernel_.process_target().attach_pid <= 0) {
        errno = ESRCH;
        return nullptr;
      }
      pid = static_cast<pid_t>(kernel_.process_target().attach_pid);
    } else if (probe.pid > 0) {
      pid = static_cast<pid_t>(probe.pid);
    }
    return bpf_program__attach_uprobe_opts(prog, pid, probe.binary.c_str(), probe.offset, &opts);
  }

 private:
  static bool fill(ast::TargetVarExpr &var, dwarf::VariableAccess &access) {
    var.arg_index = access.arg_index;
    var.steps = std::move(access.steps);
    var.type = ast::Type::Long;
    var.resolved = true;
    return true;
  }

  // The function a probe is in: for .return probes the probed address is the entry.
  static uint64_t function_entry(const ast::ResolvedProbe &probe) { return probe.entry ? probe.entry : probe.address; }

  static bool sdt_argument(const ast::ResolvedProbe &probe, const ast::TargetVarExpr &var,
                           dwarf::VariableAccess &access) {
    if (var.name.rfind("arg", 0) != 0 || probe.sdt_arg_count == 0) return false;
    char *end = nullptr;
    const long n = std::strtol(var.name.c_str() + 3, &end, 10);
    if (*end || n < 1 || n > probe.sdt_arg_count) return false;
    std::vector<elf::SdtArg> args;
    std::string error;
    if (!elf::parse_sdt_args(probe.sdt_args_text, args, error) || static_cast<long>(args.size()) < n)
      target_error(var, "cannot read $" + var.name + ": " + error);
    const elf::SdtArg &arg = args[static_cast<size_t>(n - 1)];
    access.steps.clear();
    if (arg.kind == elf::SdtArg::Kind::Constant) {
      if (arg.value < INT32_MIN || arg.value > INT32_MAX) target_error(var, "SDT constant operand out of range");
      access.arg_index = 0;
      access.steps.push_back({Op::Constant, static_cast<uint32_t>(arg.value), true, 0});
      return true;
    }
    access.arg_index = dwarf::pt_regs_index(arg.dwarf_register);
    if (access.arg_index < 0) target_error(var, "SDT operand in a register the probe cannot read");
    const uint32_t size = static_cast<uint32_t>(arg.size);
    if (arg.kind == elf::SdtArg::Kind::Memory) {
      if (arg.value) access.steps.push_back({Op::Add, static_cast<uint32_t>(arg.value), true, 0});
      access.steps.push_back({Op::LoadUser, size, arg.is_signed, 0});
    } else if (size < 8 || arg.is_signed) {
      access.steps.push_back({Op::Narrow, size, arg.is_signed, 0});
    }
    return true;
  }

  std::vector<ast::ResolvedProbe> functions(const ast::ProbePoint &point, const Subject &subject,
                                            const elf::ElfFile &elf, const Where &where, bool retprobe,
                                            bool call) const {
    const dwarf::DebugInfo *debug = debug_info_of(subject.path);
    if (!where.file.empty() && !debug)
      probe_error(point, "'" + subject.path + "' has no debug info: '@" + where.file + "' needs it (build with -g)");
    std::vector<ast::ResolvedProbe> probes;
    std::set<uint64_t> seen;
    for (const elf::Symbol &symbol : elf.match_functions(where.function)) {
      if (!seen.insert(symbol.address).second) continue;  // an alias of a function already probed
      if (!where.file.empty()) {
        std::optional<dwarf::LineAddress> line = debug->line_of(symbol.address);
        if (!line || !file_matches(where.file, line->file) || (where.line && line->line != where.line)) continue;
      }
      // stap places a function probe after the prologue, where the
      // parameters are in their home locations; a return probe at the entry.
      const uint64_t address = (debug && !retprobe) ? debug->after_prologue(symbol.address) : symbol.address;
      ast::ResolvedProbe probe = make_probe(subject, elf, address, retprobe, point);
      probe.entry = symbol.address;
      probe.name = symbol.name;
      probe.point = quoted_process(subject, point) + ".function(\"" + symbol.name + "\")" +
                    (retprobe ? ".return"
                     : call   ? ".call"
                              : "");
      if (retprobe) probe.context_vars.push_back("return");
      probes.push_back(std::move(probe));
    }
    return probes;
  }

  // .function("PAT").inline: each inlined copy of a matching function, at
  // its entry in the function it was inlined into (stap's .inline; ntap's
  // .function and .call probe the real functions only). Its variables are
  // those in scope there: the inlined copy's parameters, from DWARF.
  std::vector<ast::ResolvedProbe> inlined(const ast::ProbePoint &point, const Subject &subject,
                                          const elf::ElfFile &elf, const Where &where) const {
    std::string error;
    const dwarf::DebugInfo *debug = dwarf::cached_debug_info(subject.path, error);
    if (!debug) probe_error(point, ".inline probes need debug info: " + error);
    std::vector<ast::ResolvedProbe> probes;
    for (const dwarf::InlinedInstance &copy : debug->inlined_instances(where.function)) {
      if (!where.file.empty()) {
        std::optional<dwarf::LineAddress> line = debug->line_of(copy.address);
        if (!line || !file_matches(where.file, line->file) || (where.line && line->line != where.line)) continue;
      }
      const elf::Symbol *container = elf.function_at(copy.address);
      ast::ResolvedProbe probe = make_probe(subject, elf, copy.address, false, point);
      probe.entry = container ? container->address : copy.address;
      probe.name = copy.function;
      probe.point = quoted_process(subject, point) + ".function(\"" + copy.function + "\").inline";
      probes.push_back(std::move(probe));
    }
    return probes;
  }

  std::vector<ast::ResolvedProbe> statements(const ast::ProbePoint &point, const Subject &subject,
                                             const elf::ElfFile &elf, const Where &where) const {
    std::string error;
    const dwarf::DebugInfo *debug = dwarf::cached_debug_info(subject.path, error);
    if (!debug) probe_error(point, "statement probes need debug info: " + error);
    // One probe per function holding the line: its lowest address there.
    std::map<std::string, dwarf::LineAddress> per_function;
    for (const dwarf::LineAddress &line : debug->line_addresses(where.file.empty() ? "*" : where.file, where.line)) {
      const elf::Symbol *function = elf.function_at(line.address);
      if (!function || !fnmatches(where.function, function->name)) continue;
      per_function.emplace(function->name, line);
    }
    std::vector<ast::ResolvedProbe> probes;
    for (const auto &[function, line] : per_function) {
      ast::ResolvedProbe probe = make_probe(subject, elf, line.address, false, point);
      probe.entry = elf.function_at(line.address)->address;
      probe.name = function + "@" + line.file + ":" + std::to_string(line.line);
      probe.point = quoted_process(subject, point) + ".statement(\"" + probe.name + "\")";
      probes.push_back(std::move(probe));
    }
    return probes;
  }

  // stap's .plt probes: a uprobe on each PLT entry whose imported function
  // matches `pattern`, a uretprobe there for .return (it fires as the
  // function returns to the program's call). No DWARF describes an entry, so
  // the only context is $$name. stap's pp() names the entry by its address
  // (process("PATH").statement(0xADDR)), its pn() and -l by the function.
  std::vector<ast::ResolvedProbe> plt_probes(const ast::ProbePoint &point, const Subject &subject,
                                            const elf::ElfFile &elf, const std::string &pattern, bool retprobe) const {
    if (elf.plt_entries().empty())
      probe_error(point, "'" + subject.path + "' has no PLT entries: it calls no shared library through one " +
                             "(a static program, or one built with -fno-plt)");
    std::vector<ast::ResolvedProbe> probes;
    const std::string suffix = retprobe ? ".return" : "";
    for (const elf::PltEntry &entry : elf.plt_entries()) {
      if (!fnmatches(pattern, entry.name)) continue;
      ast::ResolvedProbe probe = make_probe(subject, elf, entry.address, retprobe, point);
      probe.entry = entry.address;
      probe.name = entry.name;
      probe.plt_entry = true;
      probe.point = quoted_process(subject, point) + ".statement(0x" + fmt_hex(entry.address) + ")" + suffix;
      probe.script_point = in_script_terms(subject, point) + ".plt(\"" + entry.name + "\")" + suffix;
      probes.push_back(std::move(probe));
    }
    return probes;
  }

  std::vector<ast::ResolvedProbe> marks(const ast::ProbePoint &point, const Subject &subject, const elf::ElfFile &elf,
                                        const std::string &provider, const std::string &name,
                                        bool with_provider) const {
    std::vector<ast::ResolvedProbe> probes;
    for (const elf::SdtNote &note : elf.sdt_notes()) {
      if (!fnmatches(provider, note.provider) || !fnmatches(name, note.name)) continue;
      if (!note.arg_error.empty())
        probe_error(point, "SDT probe " + note.provider + ":" + note.name + ": " + note.arg_error);
      ast::ResolvedProbe probe = make_probe(subject, elf, note.address, false, point);
      if (note.semaphore) {
        std::optional<uint64_t> semaphore = elf.file_offset(note.semaphore);
        if (!semaphore) probe_error(point, "SDT probe " + note.name + ": its semaphore is not in the file");
        probe.semaphore_offset = *semaphore;
      }
      probe.name = note.provider + ":" + note.name;
      probe.point = in_script_terms(subject, point) +
                    (with_provider ? ".provider(\"" + note.provider + "\")" : std::string()) + ".mark(\"" + note.name +
                    "\")";
      probe.sdt_args_text = note.arg_text;
      probe.sdt_arg_count = static_cast<int>(note.args.size());
      for (size_t i = 1; i <= note.args.size(); ++i) probe.context_vars.push_back("arg" + std::to_string(i));
      probes.push_back(std::move(probe));
    }
    return probes;
  }

  static bool file_matches(const std::string &pattern, const std::string &path) {
    if (path == pattern) return true;
    if (path.size() > pattern.size() && path.compare(path.size() - pattern.size(), pattern.size(), pattern) == 0 &&
        path[path.size() - pattern.size() - 1] == '/')
      return true;
    const size_t slash = path.rfind('/');
    return fnmatches(pattern, path) || (slash != std::string::npos && fnmatches(pattern, path.substr(slash + 1)));
  }

  const KernelInfo &kernel_;
};

}  // namespace

std::unique_ptr<Provider> make_process_provider(const KernelInfo &kernel) {
  return std::make_unique<ProcessProvider>(kernel);
}

}  // namespace ntap
