#include "codegen/host/runtime_decls.h"

#include <array>
#include <initializer_list>
#include <vector>

#include <fmt/format.h>

namespace ntap::host {
namespace {

// The C types the API uses, as they lower on x86-64 / aarch64 Linux.
enum class CType { Void, I64, I32, Ptr };

struct Signature {
  std::string_view name;
  CType result;
  std::vector<CType> params;
};

// Every function of abi/runtime_api.h. Keep in the same order as the header so a
// reviewer can compare them line by line.
const std::vector<Signature> &api_signatures() {
  using enum CType;
  static const std::vector<Signature> table = {
      {"ntap_get_long", I64, {Ptr, I32, Ptr}},
      {"ntap_get_string", Ptr, {Ptr, I32, Ptr}},
      {"ntap_set_long", Void, {Ptr, I32, Ptr, I64, I32}},
      {"ntap_set_string", Void, {Ptr, I32, Ptr, Ptr, I32}},
      {"ntap_stats_add", Void, {Ptr, I32, Ptr, I64, I32}},
      {"ntap_stats_get", I64, {Ptr, I32, Ptr, I32, I32}},
      {"ntap_stats_histogram", Ptr, {Ptr, I32, Ptr, I32}},
      {"ntap_print_histogram", Void, {Ptr, I32, Ptr, I64, I32}},
      {"ntap_stats_bucket", I64, {Ptr, I32, Ptr, I64, I32}},
      {"ntap_exists", I64, {Ptr, I32, Ptr, I64}},
      {"ntap_delete", Void, {Ptr, I32, Ptr, I64}},
      {"ntap_foreach_begin", Ptr, {Ptr, I32, I32, I32, I32, I64, Ptr, I64}},
      {"ntap_foreach_next", I64, {Ptr, Ptr}},
      {"ntap_foreach_end", Void, {Ptr}},
      {"ntap_printf", Void, {Ptr, I32, Ptr}},
      {"ntap_sprintf", Ptr, {Ptr, I32, Ptr}},
      {"ntap_str_concat", Ptr, {Ptr, Ptr, Ptr}},
      {"ntap_str_compare", I64, {Ptr, Ptr}},
      {"ntap_regex_match", I64, {Ptr, Ptr, Ptr}},
      {"ntap_fn_matched", Ptr, {Ptr, I64}},
      {"ntap_failed", I64, {Ptr}},
      {"ntap_fail_at", Void, {Ptr, I32}},
      {"ntap_fail_with_message", Void, {Ptr, I32, Ptr}},
      {"ntap_catch", I32, {Ptr}},
      {"ntap_action_counter", Ptr, {Ptr}},
      {"ntap_nesting_depth", Ptr, {Ptr}},
      {"ntap_caught_message", Ptr, {Ptr}},
      {"ntap_fn_exit", Void, {Ptr}},
      {"ntap_fn_pp", Ptr, {Ptr}},
      {"ntap_fn_execname", Ptr, {Ptr}},
      {"ntap_fn_pid", I64, {Ptr}},
      {"ntap_fn_tid", I64, {Ptr}},
      {"ntap_fn_cpu", I64, {Ptr}},
      {"ntap_fn_gettimeofday_s", I64, {Ptr}},
      {"ntap_fn_gettimeofday_ms", I64, {Ptr}},
      {"ntap_fn_gettimeofday_us", I64, {Ptr}},
      {"ntap_fn_gettimeofday_ns", I64, {Ptr}},
      {"ntap_fn_ctime", Ptr, {Ptr, I64}},
      {"ntap_fn_symname", Ptr, {Ptr, I64}},
      {"ntap_fn_symdata", Ptr, {Ptr, I64}},
      {"ntap_fn_drop_reason_name", Ptr, {Ptr, I64}},
      {"ntap_fn_warn", Void, {Ptr, Ptr}},
      {"ntap_fn_log", Void, {Ptr, Ptr}},
      {"ntap_fn_ppid", I64, {Ptr}},
      {"ntap_fn_pexecname", Ptr, {Ptr}},
      {"ntap_fn_uid", I64, {Ptr}},
      {"ntap_fn_gid", I64, {Ptr}},
      {"ntap_fn_euid", I64, {Ptr}},
      {"ntap_fn_egid", I64, {Ptr}},
      {"ntap_fn_target", I64, {Ptr}},
      {"ntap_fn_local_clock_ns", I64, {Ptr}},
      {"ntap_fn_local_clock_us", I64, {Ptr}},
      {"ntap_fn_local_clock_ms", I64, {Ptr}},
      {"ntap_fn_local_clock_s", I64, {Ptr}},
      {"ntap_fn_cpu_clock_ns", I64, {Ptr, I64}},
      {"ntap_fn_cpu_clock_us", I64, {Ptr, I64}},
      {"ntap_fn_cpu_clock_ms", I64, {Ptr, I64}},
      {"ntap_fn_cpu_clock_s", I64, {Ptr, I64}},
      {"ntap_fn_tz_ctime", Ptr, {Ptr, I64}},
      {"ntap_fn_tz_gmtoff", I64, {Ptr}},
      {"ntap_fn_tz_name", Ptr, {Ptr}},
      {"ntap_fn_strlen", I64, {Ptr, Ptr}},
      {"ntap_fn_substr", Ptr, {Ptr, Ptr, I64, I64}},
      {"ntap_fn_stringat", I64, {Ptr, Ptr, I64, I32}},
      {"ntap_fn_isinstr", I64, {Ptr, Ptr, Ptr}},
      {"ntap_fn_strtol", I64, {Ptr, Ptr, I64}},
      {"ntap_fn_isdigit", I64, {Ptr, Ptr}},
      {"ntap_fn_str_replace", Ptr, {Ptr, Ptr, Ptr, Ptr}},
      {"ntap_fn_tokenize", Ptr, {Ptr, Ptr, Ptr}},
      {"ntap_fn_text_str", Ptr, {Ptr, Ptr}},
      {"ntap_fn_text_strn", Ptr, {Ptr, Ptr, I64, I64}},
      {"ntap_fn_ntohs", I64, {Ptr, I64}},
      {"ntap_fn_ntohl", I64, {Ptr, I64}},
      {"ntap_fn_ntohll", I64, {Ptr, I64}},
      {"ntap_fn_htons", I64, {Ptr, I64}},
      {"ntap_fn_htonl", I64, {Ptr, I64}},
      {"ntap_fn_htonll", I64, {Ptr, I64}},
      {"ntap_fn_ip_ntop", Ptr, {Ptr, I64}},
      {"ntap_fn_format_ipaddr", Ptr, {Ptr, I64, I64, I32}},
  };
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
