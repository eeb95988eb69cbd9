// Kernel probes → BPF ELF objects, generated in memory with LLVM.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "abi/bpf_object.h"
#include "abi/layout.h"
#include "frontend/ast.h"

namespace ntap {

struct BpfCodegenOptions {
  bool keep_ir = false;
  // A unit holds at most this many programs; a script with more than
  // `single_unit_programs` programs gets at least two units, one per thread.
  size_t programs_per_unit = 48;
  size_t single_unit_programs = 8;
  unsigned threads = 0;  // 0: one per CPU
  // Possible CPUs of the machine that loads the programs (kernel probes that
  // read a statistic merge one value per CPU); 0: this machine's.
  unsigned possible_cpus = 0;
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
