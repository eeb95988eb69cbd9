// IR declarations of the runtime API, made from its list (abi/runtime_api.def).
//
// Generated probe code calls the runtime only through RuntimeDecls::get, which
// declares a function in the module the first time it is used (so the module
// holds only what a script needs) and refuses names the JIT cannot bind.
#pragma once
#include <set>
#include <string>
#include <string_view>

#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Module.h>

#include "frontend/diagnostics.h"
#include "abi/runtime_api.h"

namespace ntap::host {

class RuntimeDecls {
 public:
  // `bound` is the symbol table the JIT binds (normally ntap_runtime_symbols).
  RuntimeDecls(llvm::Module &module, const ntap_symbol *bound);

  // The declaration of runtime function `name` (e.g. "ntap_get_long").
  // Throws CompileError at `loc` when the function is not part of the API or
  // the runtime does not provide it.
  llvm::FunctionCallee get(std::string_view name, const Location &loc = {});

  // True when `name` has a known signature and a bound address.
  bool available(std::string_view name) const;

 private:
  llvm::Module &module_;
  std::set<std::string, std::less<>> bound_names_;
};

}  // namespace ntap::host
