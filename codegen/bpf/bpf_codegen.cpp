// Entry point of the BPF code generator: every kernel probe of a checked
// program becomes one BPF program per concrete probe, all in one ELF object.
#include "codegen/bpf/bpf_codegen.h"

#include "codegen/bpf/lowering.h"
#include "codegen/bpf/maps.h"
#include "codegen/bpf/module_builder.h"

namespace ntap {

BpfObject compile_kernel_probes(const ast::Program &program, const Layout &layout,
                                const BpfCodegenOptions &options) {
  BpfObject object;
  const ast::Probe *first_kernel = nullptr;
  for (const auto &probe : program.probes)
    if (probe->side == ast::Side::Kernel && !probe->resolved.empty()) {
      first_kernel = probe.get();
      break;
    }
  if (!first_kernel) return object;

  // The debug info names the script so verifier messages (via .BTF.ext line
  // info) point at it.
  std::string source = first_kernel->loc.file ? first_kernel->loc.file->name : "<input>";
  bpf::ModuleBuilder mb(source);
  bpf::MapAccess maps(mb, layout);
  bpf::CodegenState state{program, layout, mb, maps, object, {}, {}};

  for (const auto &probe : program.probes) {
    if (probe->side != ast::Side::Kernel) continue;
    for (size_t n = 0; n < probe->resolved.size(); ++n) {
      const ast::ResolvedProbe &resolved = probe->resolved[n];
      if (resolved.section.empty())
        throw CompileError(ErrorKind::Codegen, "probe point '" + resolved.name + "' has no BPF attach section",
                           probe->loc);
      // Stable names: the runtime and `bpftool prog` show them.
      std::string name = "probe_" + std::to_string(probe->id) + "_" + std::to_string(n);
      llvm::Function *fn = mb.begin_program(name, resolved.section, probe->loc);
      maps.begin_program();
      bpf::ProbeLowering(state, *probe, resolved, fn).lower_body();
      object.programs.push_back(BpfProgramInfo{name, probe.get(), resolved});
    }
  }
  std::vector<std::pair<std::string, std::string>> backend_errors;
  object.elf = mb.emit(options.keep_ir ? &object.ir : nullptr, backend_errors);
  if (!backend_errors.empty()) {
    // Report against the probe whose program the backend rejected.
    const auto &[function, message] = backend_errors.front();
    Location where = first_kernel->loc;
    for (const BpfProgramInfo &info : object.programs)
      if (info.function_name == function) where = info.probe->loc;
    if (message.find("stack limit") != std::string::npos)
      throw CompileError(ErrorKind::Codegen,
                         "this kernel probe needs more than the 512 bytes of BPF stack (long strings or "
                         "string-keyed arrays; -D MAXSTRINGLEN=N lowers the need)",
                         where);
    throw CompileError(ErrorKind::Codegen, "the BPF backend rejected this kernel probe: " + message, where);
  }
  return object;
}

}  // namespace ntap
