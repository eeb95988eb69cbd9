#include "codegen/host/runtime_decls.h"

#include <vector>

#include <fmt/format.h>
#include <llvm/IR/LLVMContext.h>

#include "codegen/host/host_codegen.h"

namespace ntap::host {
namespace {

// The C types the API uses, as they lower on x86-64 / aarch64 Linux.
enum class CType { Void, I64, I32, Ptr };

struct Signature {
  std::string_view name;
  CType result;
  std::vector<CType> params;
};

// Type codes of abi/runtime_api.def → the C types they lower to.
#define NTAP_IRTYPE_void CType::Void
#define NTAP_IRTYPE_i64 CType::I64
#define NTAP_IRTYPE_u64 CType::I64
#define NTAP_IRTYPE_i32 CType::I32
#define NTAP_IRTYPE_u32 CType::I32
#define NTAP_IRTYPE_i64_ptr CType::Ptr
#define NTAP_IRTYPE_str CType::Ptr
#define NTAP_IRTYPE_rt CType::Ptr
#define NTAP_IRTYPE_iter CType::Ptr
#define NTAP_IRTYPE_values CType::Ptr
#define NTAP_IRTYPE_values_out CType::Ptr

// Every function of abi/runtime_api.def.
const std::vector<Signature> &api_signatures() {
#define NTAP_ARG(type, name) NTAP_IRTYPE_##type
#define NTAP_API(result, name, ...) {#name, NTAP_IRTYPE_##result, {__VA_ARGS__}},
  static const std::vector<Signature> table = {
#include "abi/runtime_api.def"
  };
#undef NTAP_API
#undef NTAP_ARG
  return table;
}

const Signature *find_signature(std::string_view name) {
  for (const auto &sig : api_signatures())
    if (sig.name == name) return &sig;
  return nullptr;
}

llvm::Type *ir_type(llvm::LLVMContext &ctx, CType t) {
  switch (t) {
    case CType::Void: return llvm::Type::getVoidTy(ctx);
    case CType::I64: return llvm::Type::getInt64Ty(ctx);
    case CType::I32: return llvm::Type::getInt32Ty(ctx);
    case CType::Ptr: return llvm::PointerType::get(ctx, 0);
  }
  return nullptr;
}

}  // namespace

RuntimeDecls::RuntimeDecls(llvm::Module &module, const ntap_symbol *bound) : module_(module) {
  for (const ntap_symbol *s = bound; s && s->name; ++s)
    if (s->address) bound_names_.emplace(s->name);
}

bool RuntimeDecls::available(std::string_view name) const {
  return find_signature(name) && bound_names_.count(name);
}

llvm::FunctionCallee RuntimeDecls::get(std::string_view name, const Location &loc) {
  const Signature *sig = find_signature(name);
  if (!sig)
    throw CompileError(ErrorKind::Codegen, fmt::format("'{}' is not a runtime API function", name), loc);
  if (!bound_names_.count(name))
    throw CompileError(ErrorKind::Codegen,
                       fmt::format("the runtime does not provide '{}' for user probes", name), loc);

  llvm::LLVMContext &ctx = module_.getContext();
  std::vector<llvm::Type *> params;
  for (CType p : sig->params) params.push_back(ir_type(ctx, p));
  auto *fn_type = llvm::FunctionType::get(ir_type(ctx, sig->result), params, false);
  llvm::FunctionCallee callee = module_.getOrInsertFunction(llvm::StringRef(name.data(), name.size()), fn_type);
  if (auto *fn = llvm::dyn_cast<llvm::Function>(callee.getCallee())) fn->setDoesNotThrow();
  return callee;
}

}  // namespace ntap::host

namespace ntap {

std::vector<std::string> declare_every_runtime_function(const ntap_symbol *runtime_symbols) {
  llvm::LLVMContext context;
  llvm::Module module("runtime_api", context);
  host::RuntimeDecls decls(module, runtime_symbols);
  for (const auto &sig : host::api_signatures()) decls.get(sig.name);
  std::vector<std::string> names;
  for (const llvm::Function &fn : module) names.push_back(fn.getName().str());
  return names;
}

}  // namespace ntap
