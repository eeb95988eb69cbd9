// `while` and `for` in kernel probes, with `break` and `continue`.
//
// The verifier accepts a loop only when it can see it end. Every iteration
// spends actions from the probe hit's MAXACTION budget (one for the
// iteration and one per statement of the body, checked at the end of the
// body as stap checks), and an exhausted budget ends the program with stap's
// "MAXACTION exceeded" error. The budget starts at a constant and falls by a
// constant, so the verifier sees every loop end within MAXACTION iterations
// whatever its condition. (A loop whose body is so large that the verifier
// would walk more than its instruction limit is refused at load time, with
// the verifier's log naming the probe.)
#include "codegen/bpf/lowering.h"

namespace ntap::bpf {

using namespace ast;

namespace {

// Actions one iteration spends: the iteration itself and each statement of
// the body (blocks counted by their statements, nested loops by their own
// iterations).
int64_t iteration_cost(const Stmt &body) {
  if (body.kind != StmtKind::Block) return 2;
  int64_t cost = 1;
  for (const auto &inner : static_cast<const BlockStmt &>(body).stmts)
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

void ProbeLowering::while_stmt(const WhileStmt &s) {
  auto &b = ir();
  llvm::BasicBlock *test = block("while_test");
  llvm::BasicBlock *body = block("while_body");
  llvm::BasicBlock *done = block("while_end");
  b.CreateBr(test);
  b.SetInsertPoint(test);
  b.CreateCondBr(truth(*s.cond), body, done);
  b.SetInsertPoint(body);
  loop_body(*s.body, done, test);
  b.SetInsertPoint(done);
}

void ProbeLowering::for_stmt(const ForStmt &s) {
  auto &b = ir();
  if (s.init) value(*s.init);
  llvm::BasicBlock *test = block("for_test");
  llvm::BasicBlock *body = block("for_body");
  llvm::BasicBlock *step = block("for_step");
  llvm::BasicBlock *done = block("for_end");
  b.CreateBr(test);
  b.SetInsertPoint(test);
  if (s.cond)
    b.CreateCondBr(truth(*s.cond), body, done);
  else
    b.CreateBr(body);
  b.SetInsertPoint(body);
  loop_body(*s.body, done, step);
  b.SetInsertPoint(step);
  state_.mb.set_location(s.loc);
  if (s.step) value(*s.step);
  b.CreateBr(test);
  b.SetInsertPoint(done);
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
