// compile_user_probes: one LLVM module for every user probe, compiled by one
// LLJIT; the HostProgram keeps the JIT alive as long as the functions are used.
#include "codegen/host/host_codegen.h"

#include <map>

#include <fmt/format.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include "codegen/host/jit.h"
#include "codegen/host/lowering.h"
#include "codegen/host/runtime_decls.h"

namespace ntap {
namespace {

class JitHostProgram final : public HostProgram {
 public:
  JitHostProgram(std::unique_ptr<host::Jit> jit, std::map<uint32_t, ProbeFn> functions,
                 std::vector<RuntimeSite> sites, std::string ir)
      : jit_(std::move(jit)), functions_(std::move(functions)), sites_(std::move(sites)), ir_(std::move(ir)) {}

  ProbeFn probe_function(uint32_t probe_id) const override {
    auto it = functions_.find(probe_id);
    return it == functions_.end() ? nullptr : it->second;
  }
  const std::vector<RuntimeSite> &sites() const override { return sites_; }
  const std::string &ir() const override { return ir_; }

 private:
  std::unique_ptr<host::Jit> jit_;  // owns the code the functions point into (null: no user probes)
  std::map<uint32_t, ProbeFn> functions_;
  std::vector<RuntimeSite> sites_;
  std::string ir_;
};

std::string module_text(const llvm::Module &module) {
  std::string text;
  llvm::raw_string_ostream out(text);
  module.print(out, nullptr);
  return text;
}

}  // namespace

std::unique_ptr<HostProgram> compile_user_probes(const ast::Program &program, const Layout &layout,
                                                 const HostCodegenOptions &options) {
  return compile_user_probes(program, layout, options, ntap_runtime_symbols);
}

std::unique_ptr<HostProgram> compile_user_probes(const ast::Program &program, const Layout &layout,
                                                 const HostCodegenOptions &options,
                                                 const ntap_symbol *runtime_symbols) {
  // A script with kernel probes only needs no JIT at all (saves its creation).
  bool has_user_probes = false;
  for (const auto &probe : program.probes) has_user_probes |= probe->side == ast::Side::User;
  if (!has_user_probes && !options.keep_ir)
    return std::make_unique<JitHostProgram>(nullptr, std::map<uint32_t, HostProgram::ProbeFn>{},
                                            std::vector<RuntimeSite>{}, std::string());

  // The JIT comes first: the module takes its triple and DataLayout before
  // any IR is built, so allocas and calls get this host's alignment and ABI.
  auto jit = std::make_unique<host::Jit>(runtime_symbols);
  auto context = std::make_unique<llvm::LLVMContext>();
  auto module = std::make_unique<llvm::Module>("ntap_user_probes", *context);
  jit->configure(*module);
  std::vector<RuntimeSite> sites;
  std::map<uint32_t, std::string> function_names;

  host::RuntimeDecls runtime(*module, runtime_symbols);
  host::ModuleContext module_context{program, *module, runtime, sites, {}, {}};
  module_context.max_string_bytes = layout.options.string_limit - 1;
  module_context.nesting_limit = layout.options.max_nesting;
  for (const auto &function : program.functions)
    if (function->called_in_user) host::declare_script_function(module_context, *function);
  for (const auto &function : program.functions)
    if (function->called_in_user) host::ProbeLowering(module_context, *function).lower_function();
  for (const auto &probe : program.probes) {
    if (probe->side != ast::Side::User) continue;
    if (!probe->body) throw CompileError(ErrorKind::Codegen, "probe has no body", probe->loc);
    function_names[probe->id] = host::ProbeLowering(module_context, *probe).lower();
  }
  host::define_site_messages(module_context);

  std::string verifier_report;
  llvm::raw_string_ostream verifier_out(verifier_report);
  if (llvm::verifyModule(*module, &verifier_out))
    throw CompileError(ErrorKind::Codegen, "internal error: invalid user-probe code: " + verifier_report, Location{});

  std::string ir = options.keep_ir ? module_text(*module) : std::string();

  std::map<uint32_t, HostProgram::ProbeFn> functions;
  if (!function_names.empty()) {
    jit->add(std::move(context), std::move(module));
    for (const auto &[id, name] : function_names)
      functions[id] = reinterpret_cast<HostProgram::ProbeFn>(jit->lookup(name));
  }
  return std::make_unique<JitHostProgram>(std::move(jit), std::move(functions), std::move(sites), std::move(ir));
}

}  // namespace ntap
