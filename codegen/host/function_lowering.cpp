// Script functions in user probes: one LLVM function per script function,
// (ptr rt, ptr next_flag, params...) -> i64 | ptr, so recursion is ordinary
// native recursion and every call has its own locals.
//
// Leaving early keeps the probe protocol: after a call the caller tests
// ntap_failed() (a run-time error inside the function) and the next flag
// (`next` inside the function ends the whole probe), and leaves in turn.
#include <fmt/format.h>

#include "codegen/host/lowering.h"

namespace ntap::host {

llvm::Function *declare_script_function(ModuleContext &module, const ast::Function &function) {
  llvm::LLVMContext &ctx = module.module.getContext();
  auto *ptr = llvm::PointerType::getUnqual(ctx);
  auto value_type = [&](ast::Type t) -> llvm::Type * {
    if (t == ast::Type::String) return ptr;
    if (t == ast::Type::Stats)
      throw CompileError(ErrorKind::Codegen, "a function cannot take or return an aggregate", function.loc);
    return llvm::Type::getInt64Ty(ctx);
  };
  std::vector<llvm::Type *> params{ptr, ptr};
  for (size_t i = 0; i < function.params.size(); ++i) params.push_back(value_type(function.locals.at(i)->type));
  auto *type = llvm::FunctionType::get(value_type(function.result), params, false);
  auto *fn = llvm::Function::Create(type, llvm::Function::InternalLinkage,
                                    fmt::format("fn_{}_{}", function.id, function.name), module.module);
  fn->setDoesNotThrow();
  module.functions[&function] = fn;
  return fn;
}

llvm::Value *ProbeLowering::next_flag() {
  if (!next_flag_) {
    llvm::AllocaInst *flag = entry_alloca(builder_.getInt8Ty(), "next_flag");
    llvm::IRBuilder<> entry_builder(entry_);
    entry_builder.SetInsertPoint(entry_, entry_->end());
    entry_builder.CreateStore(entry_builder.getInt8(0), flag);
    next_flag_ = flag;
  }
  return next_flag_;
}

void ProbeLowering::next_stmt() {
  if (script_fn_) builder_.CreateStore(builder_.getInt8(1), next_flag());
  leave_probe();
}

void ProbeLowering::return_stmt(const ast::ReturnStmt &s) {
  llvm::Value *value = s.value ? expr(*s.value) : nullptr;
  record_actions(1, s.loc, true);
  if (!script_fn_) {  // in a probe, `return` is `next`; the value was still evaluated
    leave_probe();
    return;
  }
  if (!value || s.value->type != script_fn_->result) value = zero_value(script_fn_->result, s.loc);
  llvm::FunctionCallee end = open_iterators.empty() ? llvm::FunctionCallee() : runtime("ntap_foreach_end");
  for (auto it = open_iterators.rbegin(); it != open_iterators.rend(); ++it)
    builder_.CreateCall(end, {builder_.CreateLoad(ptr(), *it, "iter")});
  builder_.CreateRet(value);
}

// stap checks the depth in the called function's prologue and reports the
// function's name at its declaration; the check here, at the call, fails at
// the same depth with the same message.
void ProbeLowering::enter_call(const ast::CallExpr &call) {
  if (!nesting_depth_) {
    llvm::IRBuilder<> entry_builder(entry_);
    entry_builder.SetInsertPoint(entry_, entry_->end());
    nesting_depth_ = entry_builder.CreateCall(runtime("ntap_nesting_depth"), {rt_}, "nesting");
  }
  llvm::Value *depth = builder_.CreateLoad(i64(), nesting_depth_, "depth");
  const uint32_t site =
      add_site(call.function->loc, fmt::format("MAXNESTING exceeded near identifier '{}'", call.function->name));
  fail_if(builder_.CreateICmpSGE(depth, builder_.getInt64(module_.nesting_limit)), site);
  builder_.CreateStore(builder_.CreateAdd(depth, builder_.getInt64(1)), nesting_depth_);
}

void ProbeLowering::leave_call() {
  llvm::Value *depth = builder_.CreateLoad(i64(), nesting_depth_, "depth");
  builder_.CreateStore(builder_.CreateSub(depth, builder_.getInt64(1)), nesting_depth_);
}

llvm::Value *ProbeLowering::script_call(const ast::CallExpr &call) {
  auto it = module_.functions.find(call.function);
  if (it == module_.functions.end())
    throw CompileError(ErrorKind::Codegen, fmt::format("function '{}' was not compiled for user probes", call.name),
                       call.loc);
  std::vector<llvm::Value *> args{rt_, next_flag()};
  for (const auto &arg : call.args) args.push_back(expr(*arg));
  enter_call(call);
  llvm::Value *result = builder_.CreateCall(it->second, args);
  leave_call();

  llvm::Value *failed = builder_.CreateICmpNE(builder_.CreateCall(runtime("ntap_failed"), {rt_}), builder_.getInt64(0));
  llvm::Value *next = builder_.CreateICmpNE(builder_.CreateLoad(builder_.getInt8Ty(), next_flag()), builder_.getInt8(0));
  llvm::BasicBlock *leave = new_block("after_call_leave");
  llvm::BasicBlock *ok = new_block("after_call");
  if (!catch_targets.empty()) {  // an error goes to the catch block, `next` still leaves
    llvm::BasicBlock *caught = new_block("after_call_failed");
    llvm::BasicBlock *check_next = new_block("after_call_next");
    builder_.CreateCondBr(failed, caught, check_next);
    builder_.SetInsertPoint(caught);
    leave_on_failure();
    builder_.SetInsertPoint(check_next);
    failed = builder_.getFalse();
  }
  builder_.CreateCondBr(builder_.CreateOr(failed, next), leave, ok);
  builder_.SetInsertPoint(leave);
  leave_probe();
  builder_.SetInsertPoint(ok);
  return result;
}

}  // namespace ntap::host
