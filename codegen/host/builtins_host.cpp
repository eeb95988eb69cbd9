// Builtin calls in user probes: a table from builtin name to a small lowering.
// Most builtins are one call to ntap_fn_<name>(rt, args...) (abi/runtime_api.h);
// the printf family formats through the runtime's one printf engine.
#include <functional>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

#include "codegen/host/lowering.h"

namespace ntap::host {
namespace {

using Lowering = std::function<llvm::Value *(ProbeLowering &, const ast::CallExpr &)>;

// The values after the format (printf/sprintf) or all arguments (print,
// println: the frontend synthesized their format) as an ntap_value array.
llvm::Value *output_args(ProbeLowering &l, const ast::CallExpr &call, size_t first_value) {
  if (call.format_id < 0 || static_cast<size_t>(call.format_id) >= l.module().program.formats.size())
    throw CompileError(ErrorKind::Codegen, fmt::format("{} has no format assigned", call.name), call.loc);
  const ast::FormatInfo &format = l.module().program.formats[call.format_id];
  size_t count = call.args.size() > first_value ? call.args.size() - first_value : 0;
  if (count != format.arg_types.size())
    throw CompileError(ErrorKind::Codegen,
                       fmt::format("{} gives {} values for a format that takes {}", call.name, count,
                                   format.arg_types.size()),
                       call.loc);
  if (count == 0) return l.null_keys();
  std::vector<llvm::Value *> values;
  for (size_t i = first_value; i < call.args.size(); ++i) values.push_back(l.expr(*call.args[i]));
  auto *array_type = llvm::ArrayType::get(l.i64(), count);
  llvm::AllocaInst *array = l.entry_alloca(array_type, "args");
  for (size_t i = 0; i < count; ++i)
    l.builder().CreateStore(values[i], l.builder().CreateConstInBoundsGEP2_32(array_type, array, 0, i));
  return array;
}

// printf(fmt, ...) and print(...)/println(...): `first_value` skips the
// literal format. Statement-like: the value is 0.
Lowering print_to_output(size_t first_value) {
  return [first_value](ProbeLowering &l, const ast::CallExpr &call) -> llvm::Value * {
    if ((call.name == "print" || call.name == "println") && call.args.size() == 1 &&
        call.args[0]->kind == ast::ExprKind::StatsOp) {
      const auto &op = ast::cast<ast::StatsOpExpr>(*call.args[0]);
      if (ast::is_histogram(op.fn) && !op.bucket) {
        l.print_histogram(op, call.name == "println");
        return l.builder().getInt64(0);
      }
    }
    llvm::Value *args = output_args(l, call, first_value);
    l.builder().CreateCall(l.runtime("ntap_printf", call.loc),
                           {l.rt(), l.builder().getInt32(call.format_id), args});
    return l.builder().getInt64(0);
  };
}

// sprintf(fmt, ...) and sprint(...)/sprintln(...): a string in the arena.
Lowering print_to_string(size_t first_value) {
  return [first_value](ProbeLowering &l, const ast::CallExpr &call) -> llvm::Value * {
    llvm::Value *args = output_args(l, call, first_value);
    return l.builder().CreateCall(l.runtime("ntap_sprintf", call.loc),
                                  {l.rt(), l.builder().getInt32(call.format_id), args});
  };
}

// ntap_fn_<name>(rt, args...); a void function (exit) gives 0.
llvm::Value *runtime_function(ProbeLowering &l, const ast::CallExpr &call) {
  llvm::FunctionCallee fn = l.runtime(fmt::format("ntap_fn_{}", call.name), call.loc);
  llvm::FunctionType *type = fn.getFunctionType();
  if (type->getNumParams() != call.args.size() + 1)
    throw CompileError(ErrorKind::Codegen,
                       fmt::format("{}() takes {} argument(s), {} given", call.name, type->getNumParams() - 1,
                                   call.args.size()),
                       call.loc);
  std::vector<llvm::Value *> args{l.rt()};
  for (const auto &arg : call.args) args.push_back(l.expr(*arg));
  llvm::Value *result = l.builder().CreateCall(fn, args);
  return type->getReturnType()->isVoidTy() ? l.builder().getInt64(0) : result;
}

// ntap_fn_<name>(rt, args..., site) for builtins that can fail: a failure
// at run time reports `message` at the call and leaves the probe.
Lowering runtime_function_failing_with(std::string message) {
  return [message](ProbeLowering &l, const ast::CallExpr &call) -> llvm::Value * {
    std::vector<llvm::Value *> args{l.rt()};
    for (const auto &arg : call.args) args.push_back(l.expr(*arg));
    args.push_back(l.builder().getInt32(l.add_site(call.loc, message)));
    llvm::Value *result = l.builder().CreateCall(l.runtime(fmt::format("ntap_fn_{}", call.name), call.loc), args);
    l.check_failed();
    return result;
  };
}

// A run-time error's message: a literal is the site's own text (fixed at
// compile time); any other string is computed here and carried with the error.
struct ErrorMessage {
  std::string site_text;
  llvm::Value *computed = nullptr;
};

ErrorMessage error_message(ProbeLowering &l, const ast::CallExpr &call, size_t index) {
  const ast::Expr &arg = *call.args[index];
  if (arg.kind == ast::ExprKind::String) return {ast::cast<ast::StringExpr>(arg).value, nullptr};
  // The site's text is what `catch (msg)` falls back to; the computed
  // message replaces it whenever the error happens.
  return {call.name + "()", l.expr(arg)};
}

// error(msg): the run-time error `msg` at the call; the probe ends here.
llvm::Value *raise_error(ProbeLowering &l, const ast::CallExpr &call) {
  const ErrorMessage message = error_message(l, call, 0);
  const uint32_t site = l.add_site(call.loc, message.site_text);
  if (message.computed)
    l.builder().CreateCall(l.runtime("ntap_fail_with_message", call.loc),
                           {l.rt(), l.builder().getInt32(site), message.computed});
  else
    l.builder().CreateCall(l.runtime("ntap_fail_at", call.loc), {l.rt(), l.builder().getInt32(site)});
  l.leave_on_failure();
  l.continue_in_dead_block();
  return l.builder().getInt64(0);
}

// assert(cond[, msg]): error(msg) when cond is 0 ("Assertion failed" by
// default). Both arguments are evaluated first, as for any function call.
llvm::Value *check_assertion(ProbeLowering &l, const ast::CallExpr &call) {
  if (call.args.size() > 2)
    throw CompileError(ErrorKind::Semantic,
                       fmt::format("wrong number of arguments to assert ({} given, 1 or 2 expected)", call.args.size()),
                       call.loc, "identifier 'assert'");
  llvm::Value *condition = l.expr(*call.args[0]);
  const ErrorMessage message =
      call.args.size() == 2 ? error_message(l, call, 1) : ErrorMessage{"Assertion failed", nullptr};
  l.fail_if(l.builder().CreateICmpEQ(condition, l.builder().getInt64(0)), l.add_site(call.loc, message.site_text),
            message.computed);
  return l.builder().getInt64(0);
}

// abort(): exit() that also leaves the current probe handler at once.
llvm::Value *abort_run(ProbeLowering &l, const ast::CallExpr &call) {
  l.builder().CreateCall(l.runtime("ntap_fn_exit", call.loc), {l.rt()});
  l.leave_probe();
  l.continue_in_dead_block();
  return l.builder().getInt64(0);
}

const std::unordered_map<std::string_view, Lowering> &host_builtins() {
  static const std::unordered_map<std::string_view, Lowering> table = {
      {"printf", print_to_output(1)},
      {"print", print_to_output(0)},
      {"println", print_to_output(0)},
      {"sprintf", print_to_string(1)},
      {"sprint", print_to_string(0)},
      {"sprintln", print_to_string(0)},
      {"printd", print_to_output(1)},
      {"printdln", print_to_output(1)},
      {"sprintd", print_to_string(1)},
      {"sprintdln", print_to_string(1)},
      {"error", raise_error},
      {"assert", check_assertion},
      {"abort", abort_run},
      {"stringat", runtime_function_failing_with("Position out of bounds near identifier 'stringat'")},
      {"randint", runtime_function_failing_with("range too wide near identifier 'randint'")},
      {"format_ipaddr",
       runtime_function_failing_with("format_ipaddr: user probes can only format AF_INET (2) addresses "
                                     "near identifier 'format_ipaddr'")},
      {"exit", runtime_function},
      {"pn", runtime_function},
      {"pp", runtime_function},
      // ppfunc(): the function named between the quotes of pp(); user
      // probes' points (begin, timer.s(1)) have none.
      {"ppfunc", [](ProbeLowering &l, const ast::CallExpr &) -> llvm::Value * { return l.string_constant(""); }},
      {"execname", runtime_function},
      {"pid", runtime_function},
      {"tid", runtime_function},
      {"cpu", runtime_function},
      {"gettimeofday_s", runtime_function},
      {"gettimeofday_ms", runtime_function},
      {"gettimeofday_us", runtime_function},
      {"gettimeofday_ns", runtime_function},
      {"ctime", runtime_function},
      {"symname", runtime_function},
      {"symdata", runtime_function},
      {"symfileline", runtime_function},
      {"symfile", runtime_function},
      {"symline", runtime_function},
      {"drop_reason_name", runtime_function},
      // No probed stack in user probes: the runtime fails with stap's
      // message, which names the depth.
      {"stack", runtime_function_failing_with("reached end of stack near identifier 'stack'")},
      {"ustack", runtime_function_failing_with("reached end of stack near identifier 'ustack'")},
      {"callers", runtime_function_failing_with("reached end of stack near identifier 'callers'")},
      {"ucallers", runtime_function_failing_with("reached end of stack near identifier 'ucallers'")},
      {"sprint_syms", runtime_function},
      {"sprint_usyms", runtime_function},
      {"warn", runtime_function},
      {"log", runtime_function},
      {"ppid", runtime_function},
      {"pexecname", runtime_function},
      {"uid", runtime_function},
      {"gid", runtime_function},
      {"euid", runtime_function},
      {"egid", runtime_function},
      {"target", runtime_function},
      {"local_clock_ns", runtime_function},
      {"local_clock_us", runtime_function},
      {"local_clock_ms", runtime_function},
      {"local_clock_s", runtime_function},
      {"cpu_clock_ns", runtime_function},
      {"cpu_clock_us", runtime_function},
      {"cpu_clock_ms", runtime_function},
      {"cpu_clock_s", runtime_function},
      {"tz_ctime", runtime_function},
      {"tz_gmtoff", runtime_function},
      {"tz_name", runtime_function},
      {"strlen", runtime_function},
      {"matched", runtime_function},
      {"substr", runtime_function},
      {"isinstr", runtime_function},
      {"strtol", runtime_function},
      {"isdigit", runtime_function},
      {"str_replace", runtime_function},
      {"tokenize", runtime_function},
      {"text_str", runtime_function},
      {"text_strn", runtime_function},
      {"ntohs", runtime_function},
      {"ntohl", runtime_function},
      {"ntohll", runtime_function},
      {"htons", runtime_function},
      {"htonl", runtime_function},
      {"htonll", runtime_function},
      {"ip_ntop", runtime_function},
      {"cmdline_args", runtime_function},
      {"cmdline_arg", runtime_function},
      {"cmdline_str", runtime_function},
  };
  return table;
}

}  // namespace

llvm::Value *ProbeLowering::call(const ast::CallExpr &call) {
  if (call.function) return script_call(call);
  auto it = host_builtins().find(call.name);
  if (it == host_builtins().end()) {
    if (!call.builtin)
      throw CompileError(ErrorKind::Codegen, fmt::format("function '{}' was not resolved", call.name), call.loc,
                         fmt::format("identifier '{}'", call.name));
    throw CompileError(ErrorKind::Codegen,
                       fmt::format("builtin '{}' is not supported in user probes (begin, end, timer)", call.name),
                       call.loc, fmt::format("identifier '{}'", call.name));
  }
  return it->second(*this, call);
}

}  // namespace ntap::host
