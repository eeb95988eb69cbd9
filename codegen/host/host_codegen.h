// User probes (begin, end, error, timers) → native code with LLVM ORC LLJIT,
// calling the runtime API in runtime/api.h.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "codegen/layout.h"
#include "frontend/ast.h"
#include "runtime/api.h"

namespace ntap {

// A place in a user probe that can fail at run time.
struct RuntimeSite {
  Location loc;
  std::string message;  // e.g. "division by 0 near operator '/'"
};

class HostProgram {
 public:
  using ProbeFn = void (*)(ntap_rt *);
  virtual ~HostProgram() = default;
  // The compiled body of a user probe (by ast::Probe::id), null for kernel probes.
  virtual ProbeFn probe_function(uint32_t probe_id) const = 0;
  virtual const std::vector<RuntimeSite> &sites() const = 0;
  virtual const std::string &ir() const = 0;  // textual IR when requested (-p3)
};

struct HostCodegenOptions {
  bool keep_ir = false;
};

std::unique_ptr<HostProgram> compile_user_probes(const ast::Program &program, const Layout &layout,
                                                 const HostCodegenOptions &options);

// The same, binding the runtime API from `runtime_symbols` (terminated by
// {NULL, NULL}) instead of ntap_runtime_symbols: tests bind fakes this way.
std::unique_ptr<HostProgram> compile_user_probes(const ast::Program &program, const Layout &layout,
                                                 const HostCodegenOptions &options,
                                                 const ntap_symbol *runtime_symbols);

// Registers LLVM's target for this host now (otherwise the first JIT does);
// see prepare_kernel_codegen() in codegen/bpf/bpf_codegen.h for why.
void prepare_user_codegen();

}  // namespace ntap
