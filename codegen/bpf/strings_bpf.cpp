// String operations in kernel probes: comparison, concatenation and the
// string library functions BPF can do.
//
// Every string is a buffer of max_string_len() bytes holding a NUL-terminated
// string (lowering.h), so each operation is a loop over at most that many
// bytes with a constant bound the verifier can see end. Strings this file
// builds hold at most MAXSTRINGLEN - 1 bytes, stap's cut. A literal operand
// is never copied into a buffer: its bytes are immediates, which keeps the
// stack (512 bytes in all) for the strings that need it.
#include <algorithm>

#include "codegen/bpf/lowering.h"

namespace ntap::bpf {

using namespace ast;

namespace {

const StringExpr *as_literal(const Expr &e) {
  return e.kind == ExprKind::String ? &ast::cast<StringExpr>(e) : nullptr;
}

}  // namespace

uint32_t ProbeLowering::built_string_cap() const {
  return std::min(state_.layout.options.string_limit, max_string_len()) - 1;
}

std::string ProbeLowering::literal_text(const StringExpr &e) const {
  // The cut string_literal() applies, so a literal means the same everywhere.
  return e.value.substr(0, max_string_len() - 1);
}

llvm::Value *ProbeLowering::byte_at(llvm::Value *string, llvm::Value *index) {
  auto &b = ir();
  llvm::Value *at = b.CreateInBoundsGEP(b.getInt8Ty(), string, index);
  return b.CreateZExt(b.CreateLoad(b.getInt8Ty(), at), b.getInt64Ty());
}

void ProbeLowering::store_byte(llvm::Value *string, llvm::Value *index, llvm::Value *byte) {
  auto &b = ir();
  b.CreateStore(b.CreateTrunc(byte, b.getInt8Ty()), b.CreateInBoundsGEP(b.getInt8Ty(), string, index));
}

// ---------------------------------------------------------------- comparison

// strcmp's sign (-1, 0, 1), bytes compared as unsigned char as the kernel's
// strcmp does.
llvm::Value *ProbeLowering::string_order(llvm::Value *lhs, llvm::Value *rhs) {
  auto &b = ir();
  llvm::AllocaInst *order = state_.mb.entry_alloca(b.getInt64Ty(), "order", false);
  b.CreateStore(i64(0), order);
  counted_loop(max_string_len(), [&](llvm::Value *i, llvm::BasicBlock *next, llvm::BasicBlock *done) {
    llvm::Value *l = byte_at(lhs, i);
    llvm::Value *r = byte_at(rhs, i);
    llvm::BasicBlock *differ = block("strcmp_differ");
    llvm::BasicBlock *same = block("strcmp_same");
    b.CreateCondBr(b.CreateICmpNE(l, r), differ, same);
    b.SetInsertPoint(differ);
    b.CreateStore(b.CreateSelect(b.CreateICmpULT(l, r), i64(-1), i64(1)), order);
    b.CreateBr(done);
    b.SetInsertPoint(same);
    b.CreateCondBr(b.CreateICmpEQ(l, i64(0)), done, next);
  });
  return b.CreateLoad(b.getInt64Ty(), order);
}

// The same against a literal: one unrolled byte test per character.
llvm::Value *ProbeLowering::string_order_literal(llvm::Value *lhs, const std::string &text) {
  auto &b = ir();
  llvm::AllocaInst *order = state_.mb.entry_alloca(b.getInt64Ty(), "order", false);
  b.CreateStore(i64(0), order);
  llvm::BasicBlock *done = block("strcmp_done");
  for (size_t k = 0; k <= text.size(); ++k) {
    uint64_t expected = k < text.size() ? static_cast<unsigned char>(text[k]) : 0;
    llvm::Value *l = byte_at(lhs, i64(k));
    llvm::BasicBlock *differ = block("strcmp_differ");
    llvm::BasicBlock *same = block("strcmp_same");
    b.CreateCondBr(b.CreateICmpNE(l, i64(expected)), differ, same);
    b.SetInsertPoint(differ);
    b.CreateStore(b.CreateSelect(b.CreateICmpULT(l, i64(expected)), i64(-1), i64(1)), order);
    b.CreateBr(done);
    b.SetInsertPoint(same);
  }
  b.CreateBr(done);
  b.SetInsertPoint(done);
  return b.CreateLoad(b.getInt64Ty(), order);
}

llvm::Value *ProbeLowering::string_comparison(const BinaryExpr &e) {
  auto &b = ir();
  const StringExpr *lhs_literal = as_literal(*e.lhs);
  const StringExpr *rhs_literal = as_literal(*e.rhs);
  llvm::Value *order;
  if (lhs_literal && rhs_literal) {
    int c = literal_text(*lhs_literal).compare(literal_text(*rhs_literal));
    order = i64(c < 0 ? -1 : c > 0 ? 1 : 0);
  } else if (rhs_literal) {
    order = string_order_literal(string_value(*e.lhs), literal_text(*rhs_literal));
  } else if (lhs_literal) {
    order = b.CreateNeg(string_order_literal(string_value(*e.rhs), literal_text(*lhs_literal)));
  } else {
    llvm::Value *lhs = string_value(*e.lhs);
    llvm::Value *rhs = string_value(*e.rhs);
    state_.mb.set_location(e.loc);
    order = string_order(lhs, rhs);
  }
  llvm::Value *zero = i64(0);
  llvm::Value *holds = nullptr;
  switch (e.op) {
    case BinaryOp::Lt: holds = b.CreateICmpSLT(order, zero); break;
    case BinaryOp::Le: holds = b.CreateICmpSLE(order, zero); break;
    case BinaryOp::Gt: holds = b.CreateICmpSGT(order, zero); break;
    case BinaryOp::Ge: holds = b.CreateICmpSGE(order, zero); break;
    case BinaryOp::Eq: holds = b.CreateICmpEQ(order, zero); break;
    case BinaryOp::Ne: holds = b.CreateICmpNE(order, zero); break;
    default:
      unsupported(e.loc, std::string("string operator '") + binary_op_text(e.op) +
                             "' is not supported in kernel probes");
  }
  return b.CreateZExt(holds, b.getInt64Ty());
}

// ---------------------------------------------------------------- building

// A string scratch slot of the frame (frame.cpp) holding "": the buffer of a string this
// file builds, kept off the 512-byte stack. Slots are taken like stack
// temporaries: held to the end of the statement.
llvm::Value *ProbeLowering::scratch_string(const Location &loc) {
  if (scratch_slots_used_ == state_.layout.scratch_slots())
    unsupported(loc, "more than " + std::to_string(state_.layout.scratch_slots()) +
                         " strings being built at once in one kernel-probe statement; split the statement");
  llvm::Value *buffer = frame_scratch_slot(scratch_slots_used_++);
  store_byte(buffer, i64(0), i64(0));
  return buffer;
}

// Appends `part` to the string of `length` bytes (an i64 slot) in `buffer`, a
// string scratch slot (frame.cpp), keeping at most built_string_cap() bytes and
// the NUL. A non-literal part is copied by bpf_probe_read_kernel_str: one
// helper call whose result the verifier knows only as a range, so the code
// after it is checked once rather than once per possible length.
void ProbeLowering::append_string(llvm::Value *buffer, llvm::Value *length, const Expr &part) {
  auto &b = ir();
  const uint32_t cap = built_string_cap();
  const StringExpr *literal = as_literal(part);
  llvm::Value *source = literal ? nullptr : string_value(part);
  state_.mb.set_location(part.loc);
  // Always true; it gives the verifier the bound of `start`.
  llvm::Value *start = b.CreateLoad(b.getInt64Ty(), length);
  llvm::BasicBlock *room = block("append_room");
  llvm::BasicBlock *done = block("append_done");
  b.CreateCondBr(b.CreateICmpULE(start, i64(cap)), room, done);
  b.SetInsertPoint(room);
  if (literal) {
    const std::string text = literal_text(*literal);
    for (size_t k = 0; k < text.size() && k < cap; ++k) {
      llvm::Value *at = b.CreateAdd(start, i64(k));
      llvm::BasicBlock *store = block("append_byte");
      b.CreateCondBr(b.CreateICmpULT(at, i64(cap)), store, done);
      b.SetInsertPoint(store);
      store_byte(buffer, at, i64(static_cast<unsigned char>(text[k])));
      b.CreateStore(b.CreateAdd(at, i64(1)), length);
    }
    b.CreateBr(done);
    b.SetInsertPoint(done);
    llvm::Value *end = b.CreateLoad(b.getInt64Ty(), length);
    llvm::BasicBlock *terminate = block("append_nul");
    llvm::BasicBlock *after = block("append_end");
    b.CreateCondBr(b.CreateICmpULE(end, i64(cap)), terminate, after);
    b.SetInsertPoint(terminate);
    store_byte(buffer, end, i64(0));
    b.CreateBr(after);
    b.SetInsertPoint(after);
    return;
  }
  // Copies up to cap - start bytes and a NUL (on a fault: an empty string).
  llvm::Value *room_bytes = b.CreateTrunc(b.CreateSub(i64(cap + 1), start), b.getInt32Ty());
  llvm::Value *copied = state_.mb.call_helper(Helper::ProbeReadKernelStr, b.getInt64Ty(),
                                              {b.CreateInBoundsGEP(b.getInt8Ty(), buffer, start), room_bytes, source});
  llvm::Value *added = b.CreateSelect(b.CreateICmpSGT(copied, i64(0)), b.CreateSub(copied, i64(1)), i64(0));
  b.CreateStore(b.CreateAdd(start, added), length);
  b.CreateBr(done);
  b.SetInsertPoint(done);
}

// `a . b . c` parses as `(a . b) . c`: the whole chain is built in one buffer.
void ProbeLowering::concat_into(llvm::Value *buffer, llvm::Value *length, const Expr &e) {
  if (e.kind == ExprKind::Binary && ast::cast<BinaryExpr>(e).op == BinaryOp::Concat) {
    const auto &concat = ast::cast<BinaryExpr>(e);
    concat_into(buffer, length, *concat.lhs);
    state_.mb.set_location(concat.loc);
    append_string(buffer, length, *concat.rhs);
    return;
  }
  append_string(buffer, length, e);
}

llvm::Value *ProbeLowering::concatenation(const Expr &lhs, const Expr &rhs) {
  llvm::Value *buffer = scratch_string(lhs.loc);
  llvm::AllocaInst *length = state_.mb.entry_alloca(ir().getInt64Ty(), "concat_length", false);
  ir().CreateStore(i64(0), length);
  concat_into(buffer, length, lhs);
  append_string(buffer, length, rhs);
  return buffer;
}

// `c ? x : y` on strings: both branches write one result buffer, so a literal
// branch needs no buffer of its own.
llvm::Value *ProbeLowering::string_ternary(const TernaryExpr &e) {
  auto &b = ir();
  llvm::Value *cond = truth(*e.cond);
  llvm::Value *result = scratch_string(e.loc);
  llvm::BasicBlock *then_block = block("cond_then");
  llvm::BasicBlock *else_block = block("cond_else");
  llvm::BasicBlock *done = block("cond_done");
  b.CreateCondBr(cond, then_block, else_block);
  for (auto [branch, expr] : {std::pair{then_block, e.then_expr.get()}, std::pair{else_block, e.else_expr.get()}}) {
    b.SetInsertPoint(branch);
    if (const StringExpr *literal = as_literal(*expr))
      write_literal(result, literal_text(*literal), /*whole=*/true);
    else
      copy_string(result, string_value(*expr), max_string_len());
    b.CreateBr(done);
  }
  b.SetInsertPoint(done);
  return result;
}

// ---------------------------------------------------------------- library

llvm::Value *ProbeLowering::string_length(const Expr &e) {
  if (const StringExpr *literal = as_literal(e)) return i64(static_cast<int64_t>(literal_text(*literal).size()));
  return length_of(string_value(e));
}

llvm::Value *ProbeLowering::length_of(llvm::Value *s) {
  auto &b = ir();
  llvm::AllocaInst *length = state_.mb.entry_alloca(b.getInt64Ty(), "strlen", false);
  b.CreateStore(i64(max_string_len() - 1), length);
  counted_loop(max_string_len(), [&](llvm::Value *i, llvm::BasicBlock *next, llvm::BasicBlock *done) {
    llvm::BasicBlock *found = block("strlen_nul");
    b.CreateCondBr(b.CreateICmpEQ(byte_at(s, i), i64(0)), found, next);
    b.SetInsertPoint(found);
    b.CreateStore(i, length);
    b.CreateBr(done);
  });
  return b.CreateLoad(b.getInt64Ty(), length);
}

// substr(str, start, length): "" when start is outside the string or length
// is not positive, as stap's.
llvm::Value *ProbeLowering::substring(const Expr &str, const Expr &start_expr, const Expr &length_expr) {
  auto &b = ir();
  llvm::Value *s = string_value(str);
  llvm::Value *start = long_value(start_expr);
  llvm::Value *count = long_value(length_expr);
  llvm::Value *out = scratch_string(str.loc);
  llvm::BasicBlock *copy = block("substr_copy");
  llvm::BasicBlock *done = block("substr_done");
  // Unsigned: a negative start is also out of range.
  llvm::Value *in_range = b.CreateAnd(b.CreateICmpULT(start, i64(max_string_len())), b.CreateICmpSGT(count, i64(0)));
  b.CreateCondBr(in_range, copy, done);
  b.SetInsertPoint(copy);
  counted_loop(built_string_cap(), [&](llvm::Value *i, llvm::BasicBlock *next, llvm::BasicBlock *end) {
    llvm::Value *from = b.CreateAdd(start, i);
    llvm::BasicBlock *wanted = block("substr_wanted");
    llvm::BasicBlock *inside = block("substr_inside");
    llvm::BasicBlock *store = block("substr_store");
    b.CreateCondBr(b.CreateICmpULT(i, count), wanted, end);
    b.SetInsertPoint(wanted);
    b.CreateCondBr(b.CreateICmpULT(from, i64(max_string_len())), inside, end);
    b.SetInsertPoint(inside);
    llvm::Value *c = byte_at(s, from);
    b.CreateCondBr(b.CreateICmpEQ(c, i64(0)), end, store);
    b.SetInsertPoint(store);
    store_byte(out, i, c);
    store_byte(out, b.CreateAdd(i, i64(1)), i64(0));
    b.CreateBr(next);
  });
  b.CreateBr(done);
  b.SetInsertPoint(done);
  return out;
}

// isinstr(s1, s2): 1 when s2 occurs in s1. A literal s2 is matched with
// unrolled byte tests at each position; any other s2 needs a nested loop,
// which costs the verifier about MAXSTRINGLEN² steps.
llvm::Value *ProbeLowering::contains(const Expr &haystack_expr, const Expr &needle_expr) {
  auto &b = ir();
  llvm::Value *haystack = string_value(haystack_expr);
  llvm::AllocaInst *found = state_.mb.entry_alloca(b.getInt64Ty(), "isinstr", false);
  const uint32_t size = max_string_len();
  if (const StringExpr *literal = as_literal(needle_expr)) {
    const std::string text = literal_text(*literal);
    if (text.empty()) return i64(1);
    b.CreateStore(i64(0), found);
    counted_loop(size - text.size(), [&](llvm::Value *i, llvm::BasicBlock *next, llvm::BasicBlock *done) {
      for (size_t k = 0; k < text.size(); ++k) {
        llvm::BasicBlock *same = block("isinstr_same");
        llvm::Value *c = byte_at(haystack, b.CreateAdd(i, i64(k)));
        llvm::BasicBlock *mismatch = k == 0 ? block("isinstr_mismatch") : next;
        b.CreateCondBr(b.CreateICmpEQ(c, i64(static_cast<unsigned char>(text[k]))), same, mismatch);
        if (k == 0) {
          // The end of the haystack: nothing further can match.
          b.SetInsertPoint(mismatch);
          b.CreateCondBr(b.CreateICmpEQ(c, i64(0)), done, next);
        }
        b.SetInsertPoint(same);
      }
      b.CreateStore(i64(1), found);
      b.CreateBr(done);
    });
    return b.CreateLoad(b.getInt64Ty(), found);
  }
  llvm::Value *needle = string_value(needle_expr);
  b.CreateStore(i64(0), found);
  counted_loop(size, [&](llvm::Value *i, llvm::BasicBlock *next_start, llvm::BasicBlock *done) {
    llvm::BasicBlock *mismatch = block("isinstr_mismatch");
    counted_loop(size, [&](llvm::Value *j, llvm::BasicBlock *next_byte, llvm::BasicBlock *) {
      llvm::Value *want = byte_at(needle, j);
      llvm::BasicBlock *match = block("isinstr_match");
      llvm::BasicBlock *more = block("isinstr_more");
      llvm::BasicBlock *inside = block("isinstr_inside");
      b.CreateCondBr(b.CreateICmpEQ(want, i64(0)), match, more);
      b.SetInsertPoint(match);
      b.CreateStore(i64(1), found);
      b.CreateBr(done);
      b.SetInsertPoint(more);
      llvm::Value *at = b.CreateAdd(i, j);
      b.CreateCondBr(b.CreateICmpULT(at, i64(size)), inside, mismatch);
      b.SetInsertPoint(inside);
      b.CreateCondBr(b.CreateICmpEQ(byte_at(haystack, at), want), next_byte, mismatch);
    });
    b.CreateBr(mismatch);
    b.SetInsertPoint(mismatch);
    b.CreateCondBr(b.CreateICmpEQ(byte_at(haystack, i), i64(0)), done, next_start);
  });
  return b.CreateLoad(b.getInt64Ty(), found);
}

}  // namespace ntap::bpf
