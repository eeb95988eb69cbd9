// The ORC LLJIT that turns the user-probe module into native functions.
//
// One Jit per run. The runtime API is bound by name from a symbol table
// (normally ntap_runtime_symbols; tests pass fakes), so generated code never
// depends on what the ntap binary happens to export.
#pragma once
#include <memory>
#include <string>

#include "abi/runtime_api.h"

namespace llvm {
class LLVMContext;
class Module;
namespace orc {
class LLJIT;
}
}  // namespace llvm

namespace ntap::host {

class Jit {
 public:
  // Creates the LLJIT for the host and binds `runtime_symbols` (terminated by
  // {NULL, NULL}). Throws CompileError(ErrorKind::Codegen) when LLVM fails.
  explicit Jit(const ntap_symbol *runtime_symbols);
  ~Jit();
  Jit(const Jit &) = delete;
  Jit &operator=(const Jit &) = delete;

  // Gives `module` the JIT's target triple and DataLayout; call before
  // building IR so types and calls lower for this host.
  void configure(llvm::Module &module) const;

  // Hands the module (and its context) over to the JIT.
  void add(std::unique_ptr<llvm::LLVMContext> context, std::unique_ptr<llvm::Module> module);

  // Address of a function defined in an added module; compiles on first use.
  void *lookup(const std::string &name);

 private:
  std::unique_ptr<llvm::orc::LLJIT> jit_;
};

}  // namespace ntap::host
