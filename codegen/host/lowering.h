// Lowering of one user probe body (AST → LLVM IR), shared by lower_expr.cpp,
// lower_stmt.cpp and builtins_host.cpp. Internal to codegen/host.
//
// Values: long → i64; string → ptr to a NUL-terminated string (a constant or
// one the runtime owns). Every global goes through the runtime API. Errors at
// run time go through sites: the code calls ntap_fail_at / a site-taking
// function, then leaves the probe, ending any foreach iterators still open.
#pragma once
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include <llvm/IR/IRBuilder.h>

#include "codegen/host/host_codegen.h"
#include "codegen/host/runtime_decls.h"
#include "frontend/ast.h"

namespace ntap::host {

// Bit i set when key i of a subscript is a `*` wildcard (a null key).
inline uint64_t wildcard_mask(const std::vector<ast::ExprPtr> &keys) {
  uint64_t mask = 0;
  for (size_t i = 0; i < keys.size() && i < 64; ++i)
    if (!keys[i]) mask |= uint64_t{1} << i;
  return mask;
}

// Everything shared by all probes of one module.
struct ModuleContext {
  const ast::Program &program;
  llvm::Module &module;
  RuntimeDecls &runtime;
  std::vector<RuntimeSite> &sites;
  std::unordered_map<std::string, llvm::Constant *> string_constants;
  // Script functions called from user probes, declared before any body is
  // lowered (so calls may go forward, and recurse).
  std::unordered_map<const ast::Function *, llvm::Function *> functions;
  // The most bytes a string value holds (MAXSTRINGLEN - 1): literals are
  // cut to it here, strings made at run time by the runtime.
  size_t max_string_bytes = 127;
  // How deep script function calls may nest (MAXNESTING).
  uint32_t nesting_limit = 10;
};

// Declares `fn_<id>_<name>`: (ptr rt, ptr next_flag, params...) -> i64 | ptr.
// next_flag points at the calling probe's flag, set when the function runs
// `next` (which ends the whole probe).
llvm::Function *declare_script_function(ModuleContext &module, const ast::Function &function);

// An assignable place, with its keys evaluated once (for compound
// assignment and ++/--, which read and then write it).
struct LValue {
  enum class Kind { Local, GlobalScalar, GlobalElement } kind;
  ast::Type type = ast::Type::Long;
  llvm::Value *local_slot = nullptr;  // Local
  const ast::Global *global = nullptr;  // GlobalScalar / GlobalElement
  llvm::Value *keys = nullptr;          // GlobalElement: ntap_value[n]
  Location loc;                         // where a failed write is reported
};

class ProbeLowering {
 public:
  ProbeLowering(ModuleContext &module, const ast::Probe &probe);
  ProbeLowering(ModuleContext &module, const ast::Function &function);
  // Emits `void probe_<id>(ntap_rt *rt)` and returns its name.
  std::string lower();
  // Emits the body of a script function declared by declare_script_function.
  void lower_function();

  // ---- used by the lowering units ----
  llvm::IRBuilder<> &builder() { return builder_; }
  llvm::LLVMContext &ctx() { return module_.module.getContext(); }
  llvm::Value *rt() const { return rt_; }
  ModuleContext &module() { return module_; }
  llvm::FunctionCallee runtime(std::string_view name, const Location &loc = {}) {
    return module_.runtime.get(name, loc);
  }

  llvm::Type *i64() { return builder_.getInt64Ty(); }
  llvm::Type *i32() { return builder_.getInt32Ty(); }
  llvm::PointerType *ptr() { return builder_.getPtrTy(); }
  llvm::Type *value_type(ast::Type t, const Location &loc);
  llvm::Value *zero_value(ast::Type t, const Location &loc);
  llvm::Constant *string_constant(const std::string &text);
  llvm::Value *null_keys() { return llvm::ConstantPointerNull::get(ptr()); }

  // Expressions (lower_expr.cpp).
  llvm::Value *expr(const ast::Expr &e);
  llvm::Value *condition(const ast::Expr &e);  // i1
  LValue lvalue(const ast::Expr &e);
  llvm::Value *read(const LValue &place, const Location &loc);
  void write(const LValue &place, llvm::Value *value);
  // Evaluates `keys` into a fresh on-stack ntap_value array.
  llvm::Value *key_array(const std::vector<ast::ExprPtr> &keys);
  // Reads element `keys` (or the scalar when keys is null) of `global`.
  llvm::Value *read_global(const ast::Global &global, llvm::Value *keys, ast::Type type, const Location &loc);
  // A histogram's table (print) or one bucket's count (@hist_log(x)[i]).
  llvm::Value *histogram(const ast::StatsOpExpr &op, const ast::Global &global, llvm::Value *keys);
  std::pair<const ast::Global *, llvm::Value *> stats_target(const ast::StatsOpExpr &op);
  // print/println of one histogram: the table through Output::histogram.
  void print_histogram(const ast::StatsOpExpr &op, bool newline);

  // Builtin calls (builtins_host.cpp); script function calls (function_lowering.cpp).
  llvm::Value *call(const ast::CallExpr &call);
  llvm::Value *script_call(const ast::CallExpr &call);

  // Statements (lower_stmt.cpp).
  void stmt(const ast::Stmt &s);
  void foreach_loop(const ast::ForeachStmt &s);

  // ---- run-time errors and leaving the probe ----
  uint32_t add_site(const Location &loc, std::string message);
  // Leaves the probe when the runtime reports a failure (after a site call).
  void check_failed();
  // Writing a new element into a full array fails as in stap ("Array
  // overflow, check size limit (N)" at the element); NTAP_NO_SITE for
  // scalars and wrap-around arrays, whose writes always succeed.
  uint32_t overflow_site(const ast::Global &global, bool element, const Location &loc);
  // Calls a runtime writer taking a site last, then leaves on failure.
  void call_writer(const char *name, std::vector<llvm::Value *> args, uint32_t site, const Location &loc);
  // Records `site` as the error and leaves the probe when `is_bad` holds;
  // with a `message` (a string value), the error carries that text instead
  // of the site's.
  void fail_if(llvm::Value *is_bad, uint32_t site, llvm::Value *message = nullptr);
  // Ends every open iterator and returns (terminates the current block); in a
  // function, returns its zero value (the caller then checks the failure and
  // next flags and leaves too).
  void leave_probe();
  // Where a run-time error goes: the catch block of the innermost enclosing
  // try (ending the iterators opened inside that try), else out of the probe
  // (try_catch.cpp). Terminates the current block.
  void leave_on_failure();
  // try { } catch (msg) { } (try_catch.cpp).
  void try_stmt(const ast::TryStmt &s);
  // MAXACTION (action_count.cpp): fetches the budget pointer in the entry
  // block; record_actions queues `actions` statements at `loc` and, when
  // `update` is set or enough are queued, subtracts them and fails at 0.
  void begin_action_counting();
  // MAXNESTING (function_lowering.cpp): around each script function call,
  // fail when calls already nest nesting_limit deep, else count one more.
  void enter_call(const ast::CallExpr &call);
  void leave_call();
  void record_actions(unsigned actions, const Location &loc, bool update = false);
  // `next`: in a function, sets the probe's next flag before leaving.
  void next_stmt();
  // `return value` (value may be null).
  void return_stmt(const ast::ReturnStmt &s);
  // The probe's "next was requested" flag (an i8 slot, or the function's argument).
  llvm::Value *next_flag();

  // An alloca in the entry block (so loops do not grow the stack).
  llvm::AllocaInst *entry_alloca(llvm::Type *type, const char *name);
  llvm::Value *local_slot(const ast::Local &local, const Location &loc);
  llvm::BasicBlock *new_block(const char *name);
  // After a terminator (break/continue/next), further code goes here.
  void continue_in_dead_block();

  // ---- loops ----
  struct Loop {
    llvm::BasicBlock *break_target;
    llvm::BasicBlock *continue_target;
  };
  std::vector<Loop> loops;
  // The one shape while, for and foreach lower to (lower_stmt.cpp):
  //   test:     one action per iteration; `condition` (i1) false → exit
  //   body:     `enter` (foreach: the element into its variables), the
  //             statement (break → exit, continue → next), `leave`
  //   next:     `step` (for's third clause), back to test
  //   exit:     where the builder is left
  // Entering the loop (its action, foreach's snapshot) is the caller's.
  struct LoopParts {
    const char *name;                        // block name prefix: while, for, foreach
    Location loc;                            // where the per-iteration action is charged
    std::function<llvm::Value *()> condition;  // null: always true
    std::function<void()> enter, leave, step;  // each may be empty
    const ast::Stmt *body = nullptr;
  };
  void loop(const LoopParts &parts);
  // Slots holding the iterators of the enclosing foreach loops, innermost last.
  std::vector<llvm::Value *> open_iterators;
  // The enclosing try blocks, innermost last: their catch block, and how
  // many iterators were open when the try began.
  struct CatchTarget {
    llvm::BasicBlock *block;
    size_t iterator_depth;
  };
  std::vector<CatchTarget> catch_targets;

 private:
  void begin_function(llvm::Function *fn);

  ModuleContext &module_;
  const ast::Probe *probe_ = nullptr;        // lowering a probe ...
  const ast::Function *script_fn_ = nullptr;  // ... or a script function
  llvm::Value *next_flag_ = nullptr;
  llvm::IRBuilder<> builder_;
  llvm::Function *function_ = nullptr;
  llvm::BasicBlock *entry_ = nullptr;
  llvm::Value *rt_ = nullptr;
  std::unordered_map<const ast::Local *, llvm::AllocaInst *> locals_;
  llvm::Value *action_counter_ = nullptr;  // int64_t * into the runtime
  unsigned pending_actions_ = 0;           // counted, not yet subtracted
  llvm::Value *nesting_depth_ = nullptr;   // int64_t * into the runtime, fetched at the first call
};

// Defines `ntap_site_message(i32 site) -> ptr` (each site's message, for
// catch (msg)) once every site of the module is known; nothing when no
// catch block asked for it.
void define_site_messages(ModuleContext &module);

// Lowering helpers shared between the units.
llvm::Value *lower_arith(ProbeLowering &l, ast::BinaryOp op, llvm::Value *lhs, llvm::Value *rhs,
                         const Location &loc, const char *op_text);

}  // namespace ntap::host
