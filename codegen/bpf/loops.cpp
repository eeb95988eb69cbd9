// `while` and `for` in kernel probes, with `break` and `continue`.
//
// Every iteration spends actions from the probe hit's MAXACTION budget (one
// for the iteration and one per statement of the body, checked at the end of
// the body as stap checks), and an exhausted budget ends the program with
// stap's "MAXACTION exceeded" error.
//
// A while/for body is the callback of bpf_loop, one call per iteration, with
// the frame map walks use (map_walk.cpp): the budget and the stop flag go
// through the callback context, break/next/return/errors stop the loop. The
// verifier checks such a callback until its state repeats, generalising the
// values that change from call to call, so its work does not grow with the
// number of iterations. A loop written inline, bounded by the budget's
// constant decrement, made the verifier walk every iteration and then the
// rest of the program once per iteration that could leave the loop (inside a
// map walk's callback it compares states exactly, so the counters each
// iteration changed kept those walks apart): a `while` over a map key in a
// nested foreach went past the verifier's million instructions.
#include <algorithm>

#include "codegen/bpf/lowering.h"

namespace ntap::bpf {

using namespace ast;

namespace {

// bpf_loop refuses more calls than this (BPF_MAX_LOOPS).
constexpr uint64_t kMaxLoopCalls = 1u << 23;

// Actions one iteration spends: the iteration itself and each statement of
// the body (blocks counted by their statements, nested loops by their own
// iterations).
int64_t iteration_cost(const Stmt &body) {
  if (body.kind != StmtKind::Block) return 2;
  int64_t cost = 1;
  for (const auto &inner : ast::cast<BlockStmt>(body).stmts)
    cost += inner->kind == StmtKind::Block ? iteration_cost(*inner) - 1 : 1;
  return cost;
}

}  // namespace

void ProbeLowering::loop_body(const Stmt &body, llvm::BasicBlock *break_to, llvm::BasicBlock *continue_to) {
  auto &b = ir();
  // The end of the body and `continue` both pass the budget check.
  llvm::BasicBlock *next = block("loop_next");
  loops_.push_back({break_to, next});
  statement(body);
  loops_.pop_back();
  if (!b.GetInsertBlock()->getTerminator()) b.CreateBr(next);
  b.SetInsertPoint(next);
  state_.mb.set_location(body.loc);
  llvm::Value *budget = budget_slot();
  llvm::Value *left = b.CreateSub(b.CreateLoad(b.getInt64Ty(), budget), i64(iteration_cost(body)));
  b.CreateStore(left, budget);
  llvm::BasicBlock *exhausted = block("maxaction_exceeded");
  llvm::BasicBlock *again = block("loop_again");
  b.CreateCondBr(b.CreateICmpSLT(left, i64(0)), exhausted, again);
  b.SetInsertPoint(exhausted);
  const std::string token = describe_token_at(body.loc);
  fail(&body, body.loc, token.empty() ? "MAXACTION exceeded" : "MAXACTION exceeded near " + token);
  b.SetInsertPoint(again);
  b.CreateBr(continue_to);
}

void ProbeLowering::iteration(const LoopCondition &condition, const Stmt &body, const std::function<void()> &step) {
  auto &b = ir();
  if (condition) {
    llvm::BasicBlock *enter = block("loop_body");
    llvm::BasicBlock *done = block("loop_end");
    b.CreateCondBr(condition(), enter, done);
    b.SetInsertPoint(done);
    stop_loop();
    b.SetInsertPoint(enter);
  }
  llvm::BasicBlock *broken = block("loop_break");
  llvm::BasicBlock *next = block("loop_continue");
  loop_body(body, broken, next);
  b.SetInsertPoint(broken);
  stop_loop();
  b.SetInsertPoint(next);
  if (step) step();
  leave_callback(0);
}

void ProbeLowering::repeat(const Location &loc, const std::function<void()> &body) {
  ModuleBuilder &mb = state_.mb;
  // Every iteration costs at least two actions, so the budget ends the loop
  // before bpf_loop's count does.
  const uint64_t calls = std::min<uint64_t>(state_.layout.options.max_action + 1, kMaxLoopCalls);
  callback_loop(
      loc, [&](const Location &at) { return mb.begin_loop_callback(at); }, 1, body,
      [&](llvm::Function *callback, llvm::Value *context) {
        mb.call_helper(Helper::Loop, ir().getInt64Ty(),
                       {ir().getInt32(static_cast<uint32_t>(calls)), callback, context, i64(0)});
      });
}

void ProbeLowering::while_stmt(const WhileStmt &s) {
  repeat(s.loc, [&] { iteration([&] { return truth(*s.cond); }, *s.body, {}); });
}

void ProbeLowering::for_stmt(const ForStmt &s) {
  if (s.init) value(*s.init);
  repeat(s.loc, [&] {
    LoopCondition condition;
    if (s.cond) condition = [&] { return truth(*s.cond); };
    iteration(condition, *s.body, [&] {
      state_.mb.set_location(s.loc);
      if (s.step) value(*s.step);
    });
  });
}

// A loop over a constant count (string bytes, CPUs): the verifier sees it
// end without spending the MAXACTION budget.
void ProbeLowering::counted_loop(uint64_t count, const CountedLoopBody &body) {
  auto &b = ir();
  llvm::AllocaInst *index = state_.mb.entry_alloca(b.getInt64Ty(), "loop_index", false);
  b.CreateStore(i64(0), index);
  llvm::BasicBlock *head = block("loop_head");
  llvm::BasicBlock *step = block("loop_body");
  llvm::BasicBlock *next = block("loop_next");
  llvm::BasicBlock *done = block("loop_done");
  b.CreateBr(head);
  b.SetInsertPoint(head);
  llvm::Value *i = b.CreateLoad(b.getInt64Ty(), index, "i");
  b.CreateCondBr(b.CreateICmpULT(i, i64(count)), step, done);
  b.SetInsertPoint(step);
  body(i, next, done);
  if (!b.GetInsertBlock()->getTerminator()) b.CreateBr(next);
  b.SetInsertPoint(next);
  b.CreateStore(b.CreateAdd(b.CreateLoad(b.getInt64Ty(), index), i64(1)), index);
  b.CreateBr(head);
  b.SetInsertPoint(done);
}

void ProbeLowering::jump_out_of_loop(const Stmt &s) {
  // The frontend rejects break/continue outside a loop.
  if (loops_.empty()) unsupported(s.loc, "internal: break/continue outside a loop");
  ir().CreateBr(s.kind == StmtKind::Break ? loops_.back().break_to : loops_.back().continue_to);
  continue_after_terminator();
}

}  // namespace ntap::bpf
