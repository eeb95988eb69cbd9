// 0/1 conditions computed with shifts and masks rather than compares, for
// code the verifier should walk as one path (the IPv6 text writer, the
// command-line joiner). Each result passes through an empty inline
// assembly statement: LLVM then no longer knows it is 0 or 1, which it
// would turn back into a compare and a select (the BPF backend has only
// jumps to make a select of). Move values by products with these bits, not
// by masks: the verifier splits its state at an AND with a value in
// [-1, 0], LLVM's own form of a select.
#pragma once
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/InlineAsm.h>

namespace ntap::bpf::branch_free {

inline llvm::Value *opaque(llvm::IRBuilder<> &b, llvm::Value *v) {
  auto *type = llvm::FunctionType::get(b.getInt64Ty(), {b.getInt64Ty()}, false);
  return b.CreateCall(llvm::InlineAsm::get(type, "", "=r,0", false), {v});
}
// The operands go through opaque() too: knowing their ranges (a loop
// index, a zero-extended byte), LLVM would rewrite the shift as a compare.
// 1 if x (below 2^16) is not zero, else 0.
inline llvm::Value *nonzero16(llvm::IRBuilder<> &b, llvm::Value *x) {
  return opaque(b, b.CreateLShr(b.CreateAdd(opaque(b, x), b.getInt64(0xffff)), 16));
}
// 1 if a < c as small signed numbers, else 0: the sign of their difference.
inline llvm::Value *less(llvm::IRBuilder<> &b, llvm::Value *a, llvm::Value *c) {
  return opaque(b, b.CreateLShr(b.CreateSub(opaque(b, a), c), 63));
}
inline llvm::Value *negate(llvm::IRBuilder<> &b, llvm::Value *bit) { return b.CreateXor(bit, b.getInt64(1)); }

}  // namespace ntap::bpf::branch_free
