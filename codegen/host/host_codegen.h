// User probes (begin, end, error, timers) → native code with LLVM ORC LLJIT,
// calling the runtime API in abi/runtime_api.h.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "abi/layout.h"
#include "frontend/ast.h"
#include "abi/host_program.h"
#include "abi/runtime_api.h"

namespace ntap {

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

// Declares every function of the runtime API (abi/runtime_api.def) in an
// empty module, binding `runtime_symbols`, the way generated code declares
// the ones it calls; returns the names the module then declares. Tests
// compare them with ntap_runtime_symbols.
std::vector<std::string> declare_every_runtime_function(const ntap_symbol *runtime_symbols);

// Registers LLVM's target for this host now (otherwise the first JIT does);
// see prepare_kernel_codegen() in codegen/bpf/bpf_codegen.h for why.
void prepare_user_codegen();

}  // namespace ntap
