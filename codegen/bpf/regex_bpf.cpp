// `=~` and `!~` in kernel probes: the pattern's DFA (codegen/regex_dfa.h)
// goes to .rodata as three tables (byte → class, state × class → state,
// state → accepting flags), and the program walks it over the string's
// bytes in a loop of MAXSTRINGLEN steps, which the verifier sees end. Each
// table index is checked against the table's size first: the verifier
// knows nothing of what a table holds.
#include "codegen/bpf/lowering.h"
#include "codegen/regex_dfa.h"

namespace ntap::bpf {

using namespace ast;

namespace {

constexpr uint8_t kAccepting = 1, kAcceptingAtEnd = 2;

}  // namespace

llvm::Value *ProbeLowering::regex_match(const BinaryExpr &e) {
  auto &b = ir();
  if (e.rhs->kind != ExprKind::String) unsupported(e.rhs->loc, "internal: the regular expression is not a literal");
  const std::string &pattern = ast::cast<StringExpr>(*e.rhs).value;
  regex::Dfa dfa;
  try {
    dfa = regex::compile(pattern);
  } catch (const regex::Unsupported &why) {
    unsupported(e.rhs->loc, std::string("this regular expression cannot be matched in a kernel probe: ") +
                                why.what() + "; match it in a timer or end probe");
  }
  llvm::Value *subject = string_value(*e.lhs);
  state_.mb.set_location(e.loc);

  std::vector<uint8_t> next_bytes;
  for (uint16_t to : dfa.next) {
    next_bytes.push_back(static_cast<uint8_t>(to));
    next_bytes.push_back(static_cast<uint8_t>(to >> 8));
  }
  std::vector<uint8_t> flags;
  for (uint32_t s = 0; s < dfa.states; ++s)
    flags.push_back((dfa.accepting[s] ? kAccepting : 0) | (dfa.accepting_at_end[s] ? kAcceptingAtEnd : 0));
  llvm::Value *class_table = state_.mb.rodata_bytes(dfa.byte_class, "regex_classes");
  llvm::Value *next_table = state_.mb.rodata_bytes(next_bytes, "regex_next");
  llvm::Value *flag_table = state_.mb.rodata_bytes(flags, "regex_flags");

  llvm::Value *state = state_.mb.entry_alloca(b.getInt64Ty(), "regex_state", false);
  b.CreateAlignedStore(i64(0), state, llvm::Align(8));
  // The accepting flags of the current state; out of the table (never:
  // the tables are consistent) reads as no match.
  auto state_flags = [&]() {
    llvm::Value *s = b.CreateAlignedLoad(b.getInt64Ty(), state, llvm::Align(8));
    llvm::Value *inside = b.CreateICmpULT(s, i64(dfa.states));
    llvm::Value *at = b.CreateInBoundsGEP(b.getInt8Ty(), flag_table, b.CreateSelect(inside, s, i64(0)));
    llvm::Value *f = b.CreateZExt(b.CreateLoad(b.getInt8Ty(), at), b.getInt64Ty());
    return b.CreateSelect(inside, f, i64(0));
  };
  counted_loop(max_string_len(), [&](llvm::Value *i, llvm::BasicBlock *, llvm::BasicBlock *done) {
    llvm::BasicBlock *step = block("regex_step");
    llvm::BasicBlock *consume = block("regex_consume");
    b.CreateCondBr(b.CreateICmpNE(b.CreateAnd(state_flags(), i64(kAccepting)), i64(0)), done, step);
    b.SetInsertPoint(step);
    llvm::Value *c = byte_at(subject, i);
    b.CreateCondBr(b.CreateICmpEQ(c, i64(0)), done, consume);
    b.SetInsertPoint(consume);
    llvm::Value *cls = b.CreateZExt(b.CreateLoad(b.getInt8Ty(), b.CreateInBoundsGEP(b.getInt8Ty(), class_table, c)),
                                    b.getInt64Ty());
    llvm::Value *s = b.CreateAlignedLoad(b.getInt64Ty(), state, llvm::Align(8));
    llvm::Value *index = b.CreateAdd(b.CreateMul(s, i64(dfa.classes)), cls);
    llvm::Value *inside = b.CreateICmpULT(index, i64(dfa.next.size()));
    llvm::Value *at = b.CreateInBoundsGEP(b.getInt16Ty(), next_table, b.CreateSelect(inside, index, i64(0)));
    llvm::Value *to = b.CreateZExt(b.CreateAlignedLoad(b.getInt16Ty(), at, llvm::Align(2)), b.getInt64Ty());
    b.CreateAlignedStore(b.CreateSelect(inside, to, i64(dfa.states)), state, llvm::Align(8));
  });
  // Stopped on an accepting state, or at the NUL where `$` holds too.
  llvm::Value *matched = b.CreateICmpNE(state_flags(), i64(0));
  if (e.op == BinaryOp::RegexNoMatch) matched = b.CreateNot(matched);
  return b.CreateZExt(matched, b.getInt64Ty());
}

}  // namespace ntap::bpf
