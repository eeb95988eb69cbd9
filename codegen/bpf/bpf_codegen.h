// Kernel probes → BPF ELF objects, generated in memory with LLVM.
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
  size_t unit = 0;                 // the BpfObject::units entry holding it
};

// One ELF object (bpf_object__open_mem() input). A script's kernel programs
// are split over several units when there are many of them: LLVM's BPF
// backend slows down quadratically with the size of one module (its BTF
// string table), and units are emitted on several threads. Unit 0 declares
// every map of the layout; the later units declare the maps their programs
// use, and the runtime makes them share unit 0's (bpf_map__reuse_fd).
struct BpfUnit {
  std::vector<char> elf;
};

struct BpfObject {
  std::vector<BpfUnit> units;             // empty when there are no kernel probes
  std::vector<BpfProgramInfo> programs;
  std::vector<RecordFormat> records;      // RecordKind::Output ids
  std::vector<ErrorSite> error_sites;     // RecordKind::Error ids
  std::string ir;                         // textual LLVM IR when requested (-p3)

  size_t elf_bytes() const {
    size_t total = 0;
    for (const BpfUnit &unit : units) total += unit.elf.size();
    return total;
  }
};

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
