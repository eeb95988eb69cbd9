// Branch shapes both code generators build alike: `if`/`else`, the value of
// a conditional (`c ? a : b`) and the short-circuit `&&` / `||`. The operands
// are built by callbacks, each in its own block, so every generator keeps its
// own lowering of expressions and only the block and phi plumbing is shared.
#pragma once
#include <functional>

#include <llvm/IR/IRBuilder.h>

namespace ntap::codegen {

// cond ? then_value() : else_value(), merged with a phi in a new block where
// the builder is left.
llvm::Value *conditional_value(llvm::IRBuilder<> &b, llvm::Value *cond,
                               const std::function<llvm::Value *()> &then_value,
                               const std::function<llvm::Value *()> &else_value);

// if (cond) then_arm() else else_arm(): each arm in its own block, both
// joining a new block where the builder is left (an arm that ended in a
// terminator, e.g. `next`, does not join). `else_arm` may be empty.
void if_else(llvm::IRBuilder<> &b, llvm::Value *cond, const std::function<void()> &then_arm,
             const std::function<void()> &else_arm);

// `lhs && rhs()` (is_and) or `lhs || rhs()` as an i1: rhs() is built only on
// the path where lhs does not decide. lhs and rhs() are i1.
llvm::Value *short_circuit(llvm::IRBuilder<> &b, bool is_and, llvm::Value *lhs,
                           const std::function<llvm::Value *()> &rhs);

}  // namespace ntap::codegen
