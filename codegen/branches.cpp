#include "codegen/branches.h"

namespace ntap::codegen {
namespace {

llvm::BasicBlock *new_block(llvm::IRBuilder<> &b, const char *name) {
  return llvm::BasicBlock::Create(b.getContext(), name, b.GetInsertBlock()->getParent());
}

// Joins `done` unless the arm just built already left (next, return, break).
void join(llvm::IRBuilder<> &b, llvm::BasicBlock *done) {
  if (!b.GetInsertBlock()->getTerminator()) b.CreateBr(done);
}

}  // namespace

void if_else(llvm::IRBuilder<> &b, llvm::Value *cond, const std::function<void()> &then_arm,
             const std::function<void()> &else_arm) {
  llvm::BasicBlock *then_block = new_block(b, "if_then");
  llvm::BasicBlock *else_block = else_arm ? new_block(b, "if_else") : nullptr;
  llvm::BasicBlock *done = new_block(b, "if_done");
  b.CreateCondBr(cond, then_block, else_block ? else_block : done);
  b.SetInsertPoint(then_block);
  then_arm();
  join(b, done);
  if (else_block) {
    b.SetInsertPoint(else_block);
    else_arm();
    join(b, done);
  }
  b.SetInsertPoint(done);
}

llvm::Value *conditional_value(llvm::IRBuilder<> &b, llvm::Value *cond,
                               const std::function<llvm::Value *()> &then_value,
                               const std::function<llvm::Value *()> &else_value) {
  llvm::BasicBlock *then_block = new_block(b, "cond_then");
  llvm::BasicBlock *else_block = new_block(b, "cond_else");
  llvm::BasicBlock *done = new_block(b, "cond_done");
  b.CreateCondBr(cond, then_block, else_block);
  b.SetInsertPoint(then_block);
  llvm::Value *then_result = then_value();
  llvm::BasicBlock *then_end = b.GetInsertBlock();  // the arm may have branched
  b.CreateBr(done);
  b.SetInsertPoint(else_block);
  llvm::Value *else_result = else_value();
  llvm::BasicBlock *else_end = b.GetInsertBlock();
  b.CreateBr(done);
  b.SetInsertPoint(done);
  llvm::PHINode *result = b.CreatePHI(then_result->getType(), 2);
  result->addIncoming(then_result, then_end);
  result->addIncoming(else_result, else_end);
  return result;
}

llvm::Value *short_circuit(llvm::IRBuilder<> &b, bool is_and, llvm::Value *lhs,
                           const std::function<llvm::Value *()> &rhs) {
  llvm::BasicBlock *lhs_end = b.GetInsertBlock();
  llvm::BasicBlock *rhs_block = new_block(b, is_and ? "and_rhs" : "or_rhs");
  llvm::BasicBlock *done = new_block(b, is_and ? "and_done" : "or_done");
  if (is_and)
    b.CreateCondBr(lhs, rhs_block, done);
  else
    b.CreateCondBr(lhs, done, rhs_block);
  b.SetInsertPoint(rhs_block);
  llvm::Value *rhs_result = rhs();
  llvm::BasicBlock *rhs_end = b.GetInsertBlock();
  b.CreateBr(done);
  b.SetInsertPoint(done);
  llvm::PHINode *result = b.CreatePHI(b.getInt1Ty(), 2);
  result->addIncoming(b.getInt1(!is_and), lhs_end);
  result->addIncoming(rhs_result, rhs_end);
  return result;
}

}  // namespace ntap::codegen
