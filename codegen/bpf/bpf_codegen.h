// Kernel probes → one BPF ELF object, generated in memory with LLVM.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "codegen/layout.h"
#include "frontend/ast.h"
#include "runtime/record.h"

namespace ntap {

struct BpfProgramInfo {
  std::string function_name;       // the ELF symbol libbpf knows the program by
  const ast::Probe *probe = nullptr;
  ast::ResolvedProbe resolved;     // which concrete probe it attaches to
};

struct BpfObject {
  std::vector<char> elf;                  // bpf_object__open_mem() input
  std::vector<BpfProgramInfo> programs;
  std::vector<RecordFormat> records;      // RecordKind::Output ids
  std::vector<ErrorSite> error_sites;     // RecordKind::Error ids
  std::string ir;                         // textual LLVM IR when requested (-p3)
};

struct BpfCodegenOptions {
  bool keep_ir = false;
};

// Throws CompileError (with the script location) for constructs BPF cannot
// express. Only probes with Side::Kernel are compiled. An object with no
// programs is returned when the script has no kernel probes.
BpfObject compile_kernel_probes(const ast::Program &program, const Layout &layout,
                                const BpfCodegenOptions &options);

// Registers LLVM's BPF target and creates its TargetMachine now (otherwise
// the first compile does). LLVM's target registry must not be written from
// two threads at once: the driver calls this and prepare_user_codegen() on
// one thread before compiling kernel and user probes side by side.
void prepare_kernel_codegen();

}  // namespace ntap
