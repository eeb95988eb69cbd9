// Entry point of the BPF code generator: every kernel probe of a checked
// program becomes one BPF program per concrete probe. The programs are built
// as IR in one or more LLVM modules ("units") on this thread, then the units
// are optimised and emitted as ELF objects on as many threads as there are
// CPUs.
#include "codegen/bpf/bpf_codegen.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>

#include <bpf/libbpf.h>
#include <llvm/Target/TargetMachine.h>

#include "codegen/bpf/dispatch.h"
#include "codegen/bpf/lowering.h"
#include "codegen/bpf/maps.h"
#include "codegen/bpf/module_builder.h"

namespace ntap {
namespace {

// libbpf reads /sys/devices/system/cpu/possible: the programs are loaded here.
unsigned this_machines_possible_cpus() {
  const int n = libbpf_num_possible_cpus();
  return n > 0 ? static_cast<unsigned>(n) : 1u;
}

struct ProgramToBuild {
  const ast::Probe *probe;
  size_t index;  // into probe->resolved
};

// A unit being built: its module, the maps it declares, and what the backend
// made of it.
struct UnitBuild {
  std::unique_ptr<bpf::ModuleBuilder> module;
  std::unique_ptr<bpf::MapAccess> maps;
  std::vector<char> elf;
  std::string ir;
  std::vector<std::pair<std::string, std::string>> backend_errors;
  std::exception_ptr failure;
};

// How many units `programs` programs are spread over: one for small scripts
// (each unit is one more object to load at startup), otherwise enough that no
// unit exceeds the limit, and at least two so both halves compile at once.
size_t unit_count(size_t programs, const BpfCodegenOptions &options) {
  if (programs <= std::max<size_t>(options.single_unit_programs, 1)) return 1;
  const size_t per_unit = std::max<size_t>(options.programs_per_unit, 1);
  return std::max<size_t>(2, (programs + per_unit - 1) / per_unit);
}

// Optimises and emits every unit, on up to `threads` threads. Each thread
// but the first has a TargetMachine of its own.
void emit_units(std::vector<UnitBuild> &units, bool keep_ir, unsigned threads) {
  std::atomic<size_t> next{0};
  auto work = [&](llvm::TargetMachine *target) {
    for (size_t u = next++; u < units.size(); u = next++) {
      UnitBuild &unit = units[u];
      try {
        unit.elf = unit.module->emit(keep_ir ? &unit.ir : nullptr, unit.backend_errors, target);
      } catch (...) {
        unit.failure = std::current_exception();
      }
      unit.maps.reset();  // the module's memory is not needed any more
      unit.module.reset();
    }
  };
  const unsigned helpers = static_cast<unsigned>(std::min<size_t>(units.size(), threads)) - 1;
  std::vector<std::unique_ptr<llvm::TargetMachine>> machines;
  for (unsigned t = 0; t < helpers; ++t) machines.push_back(bpf::make_bpf_target_machine());
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < helpers; ++t) workers.emplace_back(work, machines[t].get());
  work(nullptr);
  for (std::thread &worker : workers) worker.join();
}

[[noreturn]] void report_backend_error(const BpfObject &object, const std::string &function,
                                       const std::string &message, const Location &fallback) {
  // Report against the probe whose program the backend rejected.
  Location where = fallback;
  for (const BpfProgramInfo &info : object.programs)
    if (info.function_name == function) where = info.probe->loc;
  if (message.find("stack limit") != std::string::npos)
    throw CompileError(ErrorKind::Codegen,
                       "this kernel probe needs more than the 512 bytes of BPF stack (long strings or "
                       "string-keyed arrays; -D MAXSTRINGLEN=N lowers the need)",
                       where);
  throw CompileError(ErrorKind::Codegen, "the BPF backend rejected this kernel probe: " + message, where);
}

}  // namespace

BpfObject compile_kernel_probes(const ast::Program &program, const Layout &layout,
                                const BpfCodegenOptions &options) {
  BpfObject object;
  std::vector<ProgramToBuild> to_build;
  for (const auto &probe : program.probes) {
    if (probe->side != ast::Side::Kernel) continue;
    for (size_t n = 0; n < probe->resolved.size(); ++n) {
      // A counter is a perf event the runtime opens, with no program.
      if (probe->resolved[n].kind == ast::ProbeKind::PerfCounter) continue;
      if (probe->resolved[n].section.empty())
        throw CompileError(ErrorKind::Codegen,
                           "probe point '" + probe->resolved[n].name + "' has no BPF attach section", probe->loc);
      to_build.push_back({probe.get(), n});
    }
  }
  if (to_build.empty()) return object;

  // The debug info names the script so verifier messages (via .BTF.ext line
  // info) point at it.
  const Location &first_loc = to_build.front().probe->loc;
  const std::string source = first_loc.file ? first_loc.file->name : "<input>";

  std::vector<const ast::ResolvedProbe *> planned;
  for (const auto &[probe, n] : to_build) planned.push_back(&probe->resolved[n]);
  const bpf::DispatchPlan dispatch = bpf::plan_dispatch(planned);
  std::vector<size_t> program_of(to_build.size());  // into object.programs

  // Build the IR on this thread, unit after unit: record formats and error
  // sites get their ids in script order, the same in every run.
  const size_t units = unit_count(to_build.size(), options);
  std::vector<UnitBuild> built(units);
  std::map<bpf::CodegenState::RecordKey, uint32_t> record_ids;
  std::map<const void *, uint32_t> error_ids;
  size_t next_program = 0;
  for (size_t u = 0; u < units; ++u) {
    UnitBuild &unit = built[u];
    unit.module = std::make_unique<bpf::ModuleBuilder>(source);
    unit.maps = std::make_unique<bpf::MapAccess>(*unit.module, layout, /*declare_all=*/u == 0);
    bpf::CodegenState state{program, layout, *unit.module, *unit.maps, object, std::move(record_ids),
                            std::move(error_ids), options.possible_cpus ? options.possible_cpus : this_machines_possible_cpus()};
    // Spread the programs evenly: unit u ends where its share ends.
    const size_t end = to_build.size() * (u + 1) / units;
    for (; next_program < end; ++next_program) {
      const auto &[probe, n] = to_build[next_program];
      // Stable names: the runtime and `bpftool prog` show them.
      std::string name = "probe_" + std::to_string(probe->id) + "_" + std::to_string(n);
      llvm::Function *fn = unit.module->begin_program(name, probe->resolved[n].section, probe->loc);
      unit.maps->begin_program();
      bpf::ProbeLowering lowering(state, *probe, probe->resolved[n], fn);
      const bpf::DispatchPlan::Role role = dispatch.roles[next_program];
      if (role.group >= 0) lowering.leave_filter_to_dispatcher();
      lowering.lower_body();
      if (role.group >= 0) {
        const bpf::DispatchGroup &group = dispatch.groups[role.group];
        lowering.chain_to(unit.maps->program_array(group.map_name, group.entries()), group.heads + role.index);
      }
      program_of[next_program] = object.programs.size();
      // A begin probe's program is run once, not attached (kernel_begin_probe).
      const bool attached = role.group < 0 && probe->resolved[n].kind != ast::ProbeKind::Begin;
      object.programs.push_back(BpfProgramInfo{name, probe, probe->resolved[n], u, attached});
    }
    // The dispatchers go with the maps' owner, which declares every table.
    if (u == 0)
      for (size_t g = 0; g < dispatch.groups.size(); ++g) {
        const bpf::DispatchGroup &group = dispatch.groups[g];
        const auto &[probe, n] = to_build[group.members.front()];
        ast::ResolvedProbe attach_point = probe->resolved[n];
        attach_point.name = attach_point.section + " (dispatching " + std::to_string(group.members.size()) + " probes)";
        const std::string name = "dispatch_" + std::to_string(g);
        llvm::Function *fn = unit.module->begin_program(name, attach_point.section, probe->loc);
        bpf::ProbeLowering(state, *probe, probe->resolved[n], fn)
            .lower_dispatcher(unit.maps->program_array(group.map_name, group.entries()), group.heads);
        object.programs.push_back(BpfProgramInfo{name, probe, std::move(attach_point), 0});
      }
    record_ids = std::move(state.record_ids);
    error_ids = std::move(state.error_ids);
  }

  for (const bpf::DispatchGroup &group : dispatch.groups)
    for (const bpf::TableEntry &entry : bpf::table_entries(group, planned))
      object.tail_calls.push_back(TailCallEntry{group.map_name, entry.index, program_of[entry.member]});

  // Unit 0 creates the maps every unit shares: also the on-demand ones any
  // unit's programs use (its module is not emitted yet).
  for (const UnitBuild &unit : built)
    for (const std::string &name : unit.maps->declared_on_demand()) built.front().maps->map(name);

  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  emit_units(built, options.keep_ir, options.threads ? options.threads : cpus);

  for (size_t u = 0; u < units; ++u) {
    UnitBuild &unit = built[u];
    if (unit.failure) std::rethrow_exception(unit.failure);
    if (!unit.backend_errors.empty()) {
      const auto &[function, message] = unit.backend_errors.front();
      report_backend_error(object, function, message, first_loc);
    }
    if (options.keep_ir) {
      if (units > 1) object.ir += "; ---- BPF unit " + std::to_string(u) + " of " + std::to_string(units) + "\n";
      object.ir += unit.ir;
    }
    object.units.push_back(BpfUnit{std::move(unit.elf)});
  }
  return object;
}

}  // namespace ntap
