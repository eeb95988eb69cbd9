// Expressions of a kernel probe body → BPF IR.
#include <algorithm>

#include "codegen/bpf/lowering.h"
#include "codegen/branches.h"

namespace ntap::bpf {

using namespace ast;

llvm::Value *ProbeLowering::value(const Expr &e) {
  state_.mb.set_location(e.loc);
  switch (e.kind) {
    case ExprKind::Number:
      return i64(ast::cast<NumberExpr>(e).value);
    case ExprKind::String:
      return string_literal(ast::cast<StringExpr>(e).value);
    case ExprKind::Symbol:
      return symbol(ast::cast<SymbolExpr>(e));
    case ExprKind::Index:
      return index(ast::cast<IndexExpr>(e));
    case ExprKind::TargetVar:
      return target_var(ast::cast<TargetVarExpr>(e));
    case ExprKind::Unary:
      return unary(ast::cast<UnaryExpr>(e));
    case ExprKind::Binary:
      return binary(ast::cast<BinaryExpr>(e));
    case ExprKind::Logical:
      return logical(ast::cast<LogicalExpr>(e));
    case ExprKind::Ternary:
      return ternary(ast::cast<TernaryExpr>(e));
    case ExprKind::Assign:
      return assign(ast::cast<AssignExpr>(e));
    case ExprKind::IncDec:
      return inc_dec(ast::cast<IncDecExpr>(e));
    case ExprKind::Call: {
      const auto &call = ast::cast<CallExpr>(e);
      if (call.function) return inline_call(call);
      if (llvm::Value *v = builtin_call(call)) return v;
      unsupported(e.loc, "function '" + call.name + "' is not supported in kernel probes");
    }
    case ExprKind::StatsOp:
      return stats_op(ast::cast<StatsOpExpr>(e));
    case ExprKind::InArray:
      return in_array(ast::cast<InArrayExpr>(e));
    case ExprKind::Defined:
      unsupported(e.loc, "@defined was not resolved before code generation");
    case ExprKind::Unresolved:
      unsupported(e.loc, ast::cast<ast::UnresolvedExpr>(e).error.message());
  }
  unsupported(e.loc, "unknown expression");
}

llvm::Value *ProbeLowering::long_value(const Expr &e) {
  if (e.type != Type::Long)
    unsupported(e.loc, std::string("expected a long value in a kernel probe, found ") + type_name(e.type));
  return value(e);
}

llvm::Value *ProbeLowering::string_value(const Expr &e) {
  if (e.type != Type::String)
    unsupported(e.loc, std::string("expected a string value in a kernel probe, found ") + type_name(e.type));
  return value(e);
}

llvm::Value *ProbeLowering::truth(const Expr &e) {
  return ir().CreateICmpNE(long_value(e), i64(0));
}

llvm::Value *ProbeLowering::symbol(const SymbolExpr &e) {
  if (e.local) {
    llvm::Value *slot = local_slot(*e.local);
    if (e.type == Type::String) return slot;
    return ir().CreateAlignedLoad(ir().getInt64Ty(), slot, llvm::Align(8), e.name);
  }
  if (!e.global) unsupported(e.loc, "unresolved identifier '" + e.name + "'");
  const GlobalLayout &g = kernel_global(*e.global, e.loc);
  if (g.is_map)
    unsupported(e.loc, "global '" + e.name + "' cannot be read as a value in a kernel probe");
  llvm::Value *ptr = state_.maps.global_ptr(g.scalar_offset);
  if (e.type == Type::String) return ptr;
  // Volatile: user space writes these words through the mmap-ed map.
  return ir().CreateAlignedLoad(ir().getInt64Ty(), ptr, llvm::Align(8), true, e.name);
}

llvm::Value *ProbeLowering::index(const IndexExpr &e) {
  if (!e.global) unsupported(e.loc, "unresolved array '" + e.name + "'");
  const GlobalLayout &g = kernel_global(*e.global, e.loc);
  if (g.per_cpu)
    unsupported(e.loc, "aggregate '" + e.name + "' can only be read with @count, @sum, @min, @max, @avg or @variance");
  llvm::Value *key = pack_key(g, e.keys, e.loc);
  if (e.type == Type::String) return state_.maps.read_bytes(g, key, string_buffer("empty"));
  return state_.maps.read_long(g, key);
}

llvm::Value *ProbeLowering::in_array(const InArrayExpr &e) {
  if (!e.global) unsupported(e.loc, "unresolved array '" + e.name + "'");
  const GlobalLayout &g = kernel_global(*e.global, e.loc);
  // The layout keeps statistics tested in kernel probes in one map (a test
  // is a read); this is only reached if that rule changes.
  if (g.double_buffered)
    unsupported(e.loc, "statistics array '" + e.name + "' is double-buffered and cannot be tested in a kernel probe");
  if (has_wildcard(e.keys)) return any_matching(g, e.keys, e.loc);
  llvm::Value *key = pack_key(g, e.keys, e.loc);
  llvm::Value *element = state_.maps.lookup(state_.maps.map(g.map_names.at(0)), key);
  return ir().CreateZExt(ir().CreateIsNotNull(element), ir().getInt64Ty());
}

// Dereferences use bpf_probe_read_kernel into a stack slot rather than direct
// loads: it is accepted for every pointer the chain may reach (BTF-typed or
// not, raw_tp fallback included) and a NULL pointer reads as 0.
// Reads of the probed process's memory: a fault (an address not mapped, a
// page not in memory) reads as 0, as a kernel NULL does.
//
// Each read's slot lives only from the read to the load, and says so with
// lifetime markers: LLVM then gives all of a program's read slots the same
// stack bytes. Without them every read of every inlined function kept 8
// bytes of its own for the whole program, which with a loop's callback on
// top went past the 512-byte stack (tcpipstat.stp's filters).
namespace {
llvm::Value *read_into_scratch(ProbeLowering &p, Helper helper, llvm::Value *address, uint32_t size,
                               const char *name) {
  auto &b = p.ir();
  llvm::Function *fn = b.GetInsertBlock()->getParent();
  llvm::IRBuilder<> entry(&fn->getEntryBlock(), fn->getEntryBlock().begin());
  llvm::AllocaInst *slot = entry.CreateAlloca(b.getInt64Ty(), nullptr, name);
  slot->setAlignment(llvm::Align(8));
  b.CreateLifetimeStart(slot, b.getInt64(8));
  b.CreateAlignedStore(p.i64(0), slot, llvm::Align(8));
  p.state().mb.call_helper(helper, b.getInt64Ty(), {slot, b.getInt32(size), b.CreateIntToPtr(address, b.getPtrTy())});
  llvm::Value *value = b.CreateAlignedLoad(b.getIntNTy(size * 8), slot, llvm::Align(8));
  b.CreateLifetimeEnd(slot, b.getInt64(8));
  return value;
}
}  // namespace

llvm::Value *ProbeLowering::probe_read_user(llvm::Value *address, uint32_t size) {
  return read_into_scratch(*this, Helper::ProbeReadUser, address, size, "uderef");
}

llvm::Value *ProbeLowering::probe_read(llvm::Value *address, uint32_t size) {
  return read_into_scratch(*this, Helper::ProbeReadKernel, address, size, "deref");
}

// Context argument `arg_index` as a value: a pointer argument followed by a
// chain is read as a number. Loaded directly, the verifier types it as a
// trusted pointer, and for the arguments the kernel marks as possibly NULL
// ($rx_sk of kfree_skb, tcp_send_reset's $sk) it refuses the member offset
// added before a NULL check. Read through the helper it is a plain value, and
// the chain's own reads make a NULL read as 0.
static bool starts_chain(const std::vector<TargetStep> &steps) {
  return !steps.empty() && (steps.front().op == TargetStep::Op::Add || steps.front().op == TargetStep::Op::Load ||
                            steps.front().op == TargetStep::Op::AddScaled);
}

llvm::Value *ProbeLowering::filter_operand() {
  auto &b = ir();
  // tp_btf/raw_tp context: an array of u64 arguments.
  llvm::Value *arg_ptr = b.CreateConstInBoundsGEP1_64(b.getInt64Ty(), program_fn_->getArg(0), resolved_.filter_arg);
  llvm::Value *v = starts_chain(resolved_.filter_steps)
                       ? probe_read(b.CreatePtrToInt(arg_ptr, b.getInt64Ty()), 8)
                       : b.CreateAlignedLoad(b.getInt64Ty(), arg_ptr, llvm::Align(8), "filtered");
  return follow_steps(v, resolved_.filter_steps, nullptr, probe_.loc, "the filter of " + resolved_.name);
}

// Checked only once the number matched (or indexes a dispatch table): the
// task read costs a helper call, and every system call on the machine runs
// the comparison before it.
void ProbeLowering::leave_unless_native_call(llvm::BasicBlock *leave) {
  if (!resolved_.native_calls_only) return;
  auto &b = ir();
  auto path = state_.program.task_paths.find("syscall_status");
  if (path == state_.program.task_paths.end())
    unsupported(probe_.loc, "system call probes tell 32-bit calls from 64-bit ones by the task's "
                            "thread_info.status, which this kernel's BTF does not describe");
  llvm::Value *task = state_.mb.call_helper(Helper::GetCurrentTask, b.getInt64Ty(), {});
  llvm::Value *status = follow_steps(task, path->second, nullptr, probe_.loc, "the task's system call status");
  constexpr int64_t kTsCompat = 0x2;  // arch/x86/include/asm/thread_info.h
  llvm::BasicBlock *native = block("native_call");
  b.CreateCondBr(b.CreateICmpNE(b.CreateAnd(status, i64(kTsCompat)), i64(0)), leave, native);
  b.SetInsertPoint(native);
}

void ProbeLowering::filter_hits() {
  if (resolved_.filter_arg < 0 || filtered_elsewhere_) return;
  auto &b = ir();
  llvm::LLVMContext &context = state_.mb.context();
  llvm::Function *fn = program_fn_;
  llvm::BasicBlock *body = &fn->getEntryBlock();
  auto *filter = llvm::BasicBlock::Create(context, "filter", fn, body);
  // Stack slots stay in the entry block, where the optimiser promotes them.
  for (auto it = body->begin(); it != body->end();) {
    llvm::Instruction &inst = *it++;
    if (llvm::isa<llvm::AllocaInst>(inst)) inst.moveBefore(*filter, filter->end());
  }
  b.SetInsertPoint(filter);
  llvm::Value *v = filter_operand();
  auto *skip = llvm::BasicBlock::Create(context, "not_this_hit", fn, body);
  auto *matched = llvm::BasicBlock::Create(context, "filter_matched", fn, body);
  b.CreateCondBr(b.CreateICmpEQ(v, i64(resolved_.filter_value)), matched, skip);
  b.SetInsertPoint(matched);
  leave_unless_native_call(skip);
  b.CreateBr(body);
  b.SetInsertPoint(skip);
  b.CreateRet(llvm::Constant::getNullValue(fn->getReturnType()));
}

// The value starts as the context argument, the trace record's address (an
// event's format field) or @cast's pointer, and goes through the steps
// resolution computed (ast::TargetStep).
llvm::Value *ProbeLowering::target_var(const TargetVarExpr &e) {
  if (!e.resolved || (!e.is_cast() && e.arg_index < 0 && e.arg_index != kTraceRecordArg))
    unsupported(e.loc, "unresolved target variable '" + target_text(e) + "'");
  auto &b = ir();
  llvm::Value *v;
  if (e.is_cast()) {
    v = long_value(*e.cast_operand);
    // @cast's pointer may be a tracepoint's possibly-NULL argument that went
    // through a local (`skb = $skb__nullable; @cast(skb, "sk_buff")->dev`):
    // the verifier still types it trusted_ptr_or_null and refuses the member
    // offset added before a NULL check. So check it: a non-NULL pointer goes
    // on as it is; NULL goes on as a zero the optimizer cannot see through (a
    // volatile load), else it would fold both paths back into the unchecked
    // pointer. Both follow the same steps, so a NULL base faults as before.
    if (!e.steps.empty()) {
      // One zeroed slot per function, found again by name: a slot per @cast
      // would exhaust the 512-byte stack of a probe with many casts.
      llvm::BasicBlock &entry = b.GetInsertBlock()->getParent()->getEntryBlock();
      llvm::AllocaInst *zero_slot = nullptr;
      for (llvm::Instruction &inst : entry)
        if (auto *slot = llvm::dyn_cast<llvm::AllocaInst>(&inst); slot && slot->getName() == "cast_null") zero_slot = slot;
      if (!zero_slot) {
        llvm::IRBuilder<> at_entry(&entry, entry.begin());
        zero_slot = at_entry.CreateAlloca(b.getInt64Ty(), nullptr, "cast_null");
        zero_slot->setAlignment(llvm::Align(8));
        at_entry.CreateAlignedStore(i64(0), zero_slot, llvm::Align(8));
      }
      llvm::BasicBlock *from = b.GetInsertBlock();
      llvm::BasicBlock *is_null = block("cast_base_null"), *join = block("cast_base_checked");
      b.CreateCondBr(b.CreateICmpEQ(v, i64(0)), is_null, join);
      b.SetInsertPoint(is_null);
      llvm::LoadInst *zero = b.CreateAlignedLoad(b.getInt64Ty(), zero_slot, llvm::Align(8), "null_base");
      zero->setVolatile(true);
      b.CreateBr(join);
      b.SetInsertPoint(join);
      llvm::PHINode *base = b.CreatePHI(b.getInt64Ty(), 2, "cast_base");
      base->addIncoming(v, from);
      base->addIncoming(zero, is_null);
      v = base;
    }
  } else if (e.arg_index == kTraceRecordArg) {
    // A perf-event tracepoint program's context is the record itself; its
    // fields are read with bpf_probe_read_kernel like any other memory.
    v = b.CreatePtrToInt(program_context(), b.getInt64Ty());
  } else {
    // The context as 8-byte slots: tp_btf/raw_tp and fentry/fexit get an
    // array of u64 arguments, kprobes the saved registers (pt_regs, all
    // 8-byte members; the provider names the slot). ctx[i] is a direct,
    // 8-byte aligned load the verifier accepts for both.
    llvm::Value *arg_ptr = b.CreateConstInBoundsGEP1_64(b.getInt64Ty(), program_context(), e.arg_index);
    // (A process probe's context is pt_regs, whose words load as plain numbers.)
    const bool chained = resolved_.kind != ProbeKind::Uprobe && starts_chain(e.steps);
    v = chained ? probe_read(b.CreatePtrToInt(arg_ptr, b.getInt64Ty()), 8)
                : b.CreateAlignedLoad(b.getInt64Ty(), arg_ptr, llvm::Align(8), "$" + e.name);
  }
  v = follow_steps(v, e.steps, &e, e.loc, "target variable '" + target_text(e) + "'");
  // &@cast(p, ...)->member of a pointer the verifier tracks (a tracepoint's
  // argument through a local) is that pointer plus an offset: still a
  // pointer to the verifier, which refuses what a number may go through
  // next (a shift in format_ipaddr, when a function returns either an
  // address or an IPv4 address). Copied through the read helper from the
  // stack it is a plain number.
  if (e.is_cast() && e.address_of) {
    llvm::AllocaInst *slot = state_.mb.entry_alloca(b.getInt64Ty(), "cast_address", false);
    b.CreateAlignedStore(v, slot, llvm::Align(8));
    v = probe_read(b.CreatePtrToInt(slot, b.getInt64Ty()), 8);
  }
  return v;
}

llvm::Value *ProbeLowering::follow_steps(llvm::Value *v, const std::vector<TargetStep> &steps,
                                         const TargetVarExpr *subscripted, const Location &loc,
                                         const std::string &what) {
  auto &b = ir();
  auto extend = [&](llvm::Value *narrow, bool is_signed) {
    return is_signed ? b.CreateSExt(narrow, b.getInt64Ty()) : b.CreateZExt(narrow, b.getInt64Ty());
  };
  for (const TargetStep &step : steps) {
    switch (step.op) {
      case TargetStep::Op::Add:
        v = b.CreateAdd(v, step.is_signed ? i64(static_cast<int32_t>(step.amount)) : i64(step.amount));
        break;
      case TargetStep::Op::AddScaled:
        if (!subscripted) unsupported(loc, "internal: " + what + " has a subscript step");
        v = b.CreateAdd(v, b.CreateMul(long_value(*subscripted->components.at(step.component).index),
                                       i64(step.amount)));
        break;
      case TargetStep::Op::Load:
        if (step.amount != 1 && step.amount != 2 && step.amount != 4 && step.amount != 8)
          unsupported(loc, what + " has an unsupported size");
        v = extend(probe_read(v, step.amount), step.is_signed);
        break;
      case TargetStep::Op::LoadUser:
        if (step.amount != 1 && step.amount != 2 && step.amount != 4 && step.amount != 8)
          unsupported(loc, what + " has an unsupported size");
        v = extend(probe_read_user(v, step.amount), step.is_signed);
        break;
      case TargetStep::Op::Constant:
        v = step.is_signed ? i64(static_cast<int32_t>(step.amount)) : i64(step.amount);
        break;
      case TargetStep::Op::Narrow:
        v = extend(b.CreateTrunc(v, b.getIntNTy(step.amount * 8)), step.is_signed);
        break;
      case TargetStep::Op::Bitfield:
        v = extend(b.CreateTrunc(b.CreateLShr(v, i64(step.component)), b.getIntNTy(step.amount)), step.is_signed);
        break;
    }
  }
  return v;
}

llvm::Value *ProbeLowering::unary(const UnaryExpr &e) {
  llvm::Value *v = long_value(*e.operand);
  switch (e.op) {
    case UnaryOp::Neg: return ir().CreateNeg(v);
    case UnaryOp::Plus: return v;
    case UnaryOp::Not: return ir().CreateZExt(ir().CreateICmpEQ(v, i64(0)), ir().getInt64Ty());
    case UnaryOp::BitNot: return ir().CreateNot(v);
  }
  unsupported(e.loc, "unknown unary operator");
}

llvm::Value *ProbeLowering::binary(const BinaryExpr &e) {
  if (e.op == BinaryOp::Concat) return concatenation(*e.lhs, *e.rhs);
  if (e.op == BinaryOp::RegexMatch || e.op == BinaryOp::RegexNoMatch) return regex_match(e);
  if (e.lhs->type == Type::String || e.rhs->type == Type::String) return string_comparison(e);
  llvm::Value *lhs = long_value(*e.lhs);
  llvm::Value *rhs = long_value(*e.rhs);
  state_.mb.set_location(e.loc);
  return arith(e.op, lhs, rhs, &e, e.loc);
}

llvm::Value *ProbeLowering::arith(BinaryOp op, llvm::Value *lhs, llvm::Value *rhs, const void *site,
                                  const Location &loc) {
  auto &b = ir();
  auto flag = [&](llvm::Value *bit) { return b.CreateZExt(bit, b.getInt64Ty()); };
  // stap masks shift counts to the width of a long.
  auto shift_count = [&] { return b.CreateAnd(rhs, i64(63)); };
  switch (op) {
    case BinaryOp::Add: return b.CreateAdd(lhs, rhs);
    case BinaryOp::Sub: return b.CreateSub(lhs, rhs);
    case BinaryOp::Mul: return b.CreateMul(lhs, rhs);
    case BinaryOp::Div: return divide(false, lhs, rhs, site, loc);
    case BinaryOp::Mod: return divide(true, lhs, rhs, site, loc);
    case BinaryOp::Shl: return b.CreateShl(lhs, shift_count());
    case BinaryOp::Shr: return b.CreateAShr(lhs, shift_count());
    case BinaryOp::Ushr: return b.CreateLShr(lhs, shift_count());
    case BinaryOp::BitAnd: return b.CreateAnd(lhs, rhs);
    case BinaryOp::BitOr: return b.CreateOr(lhs, rhs);
    case BinaryOp::BitXor: return b.CreateXor(lhs, rhs);
    case BinaryOp::Lt: return flag(b.CreateICmpSLT(lhs, rhs));
    case BinaryOp::Le: return flag(b.CreateICmpSLE(lhs, rhs));
    case BinaryOp::Gt: return flag(b.CreateICmpSGT(lhs, rhs));
    case BinaryOp::Ge: return flag(b.CreateICmpSGE(lhs, rhs));
    case BinaryOp::Eq: return flag(b.CreateICmpEQ(lhs, rhs));
    case BinaryOp::Ne: return flag(b.CreateICmpNE(lhs, rhs));
    case BinaryOp::Concat:
    case BinaryOp::RegexMatch:
    case BinaryOp::RegexNoMatch:
      break;  // string operators: lowered (or rejected) before they get here
  }
  unsupported(loc, std::string("internal: '") + binary_op_text(op) + "' is not an operator on longs");
}

// Signed division built from unsigned division: BPF ISA v3 has only
// unsigned div/mod. Quotients truncate toward zero and remainders take the
// dividend's sign, as in C (and stap).
llvm::Value *ProbeLowering::divide(bool remainder, llvm::Value *lhs, llvm::Value *rhs, const void *site,
                                   const Location &loc) {
  auto &b = ir();
  llvm::BasicBlock *by_zero = block("div_by_zero");
  llvm::BasicBlock *ok = block("div_ok");
  b.CreateCondBr(b.CreateICmpEQ(rhs, i64(0)), by_zero, ok);
  b.SetInsertPoint(by_zero);
  fail(site, loc, std::string("division by 0 near operator '") + (remainder ? "%" : "/") + "'");
  b.SetInsertPoint(ok);

  auto magnitude = [&](llvm::Value *v) {
    return b.CreateSelect(b.CreateICmpSLT(v, i64(0)), b.CreateNeg(v), v);
  };
  llvm::Value *lhs_negative = b.CreateICmpSLT(lhs, i64(0));
  if (remainder) {
    llvm::Value *r = b.CreateURem(magnitude(lhs), magnitude(rhs));
    return b.CreateSelect(lhs_negative, b.CreateNeg(r), r);
  }
  llvm::Value *q = b.CreateUDiv(magnitude(lhs), magnitude(rhs));
  llvm::Value *negative = b.CreateXor(lhs_negative, b.CreateICmpSLT(rhs, i64(0)));
  return b.CreateSelect(negative, b.CreateNeg(q), q);
}

llvm::Value *ProbeLowering::logical(const LogicalExpr &e) {
  llvm::Value *result = codegen::short_circuit(ir(), e.op == LogicalOp::And, truth(*e.lhs),
                                               [&] { return truth(*e.rhs); });
  return ir().CreateZExt(result, ir().getInt64Ty());
}

llvm::Value *ProbeLowering::ternary(const TernaryExpr &e) {
  if (e.type != Type::Long && e.type != Type::String)
    unsupported(e.loc, std::string("a conditional of type ") + type_name(e.type) + " is not supported in kernel probes");
  if (e.type == Type::String) return string_ternary(e);
  return codegen::conditional_value(ir(), truth(*e.cond), [&] { return value(*e.then_expr); },
                                    [&] { return value(*e.else_expr); });
}

// ---------------------------------------------------------------- helpers

void unsupported(const Location &loc, const std::string &message) {
  throw CompileError(ErrorKind::Codegen, message, loc);
}

llvm::BasicBlock *ProbeLowering::block(const char *name) {
  return llvm::BasicBlock::Create(state_.mb.context(), name, fn_);
}

llvm::Value *ProbeLowering::string_buffer(const char *name) {
  return frame_buffer(max_string_len(), name, Zero::FirstWord);
}

// A constant in .rodata, padded to MAXSTRINGLEN bytes like every string
// slot: string values are only read, and this keeps literals off the
// 512-byte stack (LLVM folds reads at known offsets into immediates).
llvm::Value *ProbeLowering::string_literal(const std::string &text) {
  return state_.mb.rodata_padded_string(text.substr(0, max_string_len() - 1), max_string_len());
}

// Unless `whole`, `buffer` must be zeroed: only the words holding text are
// written; `whole` also writes the word holding the NUL.
void ProbeLowering::write_literal(llvm::Value *buffer, const std::string &text, bool whole) {
  size_t length = std::min<size_t>(text.size(), max_string_len() - 1);
  for (size_t chunk = 0; chunk < (whole ? length + 1 : length); chunk += 8) {
    uint64_t word = 0;
    for (size_t i = 0; i < 8 && chunk + i < length; ++i)
      word |= uint64_t(static_cast<unsigned char>(text[chunk + i])) << (8 * i);
    llvm::Value *at = ir().CreateConstInBoundsGEP1_64(ir().getInt8Ty(), buffer, chunk);
    ir().CreateAlignedStore(ir().getInt64(word), at, llvm::Align(8));
  }
}

// Every string value starts 8-byte aligned (stack buffers, map values, the
// 8-aligned slices of "globals" and of the string scratch area); saying so
// lets LLVM copy in words instead of bytes, which would need spill slots.
void ProbeLowering::copy_string(llvm::Value *dst, llvm::Value *src, uint32_t size) {
  copy_bytes(dst, src, std::min(size, max_string_len()), llvm::MaybeAlign(8));
}

llvm::Value *ProbeLowering::pack_key(const GlobalLayout &g, const std::vector<ExprPtr> &keys,
                                     const Location &loc) {
  if (keys.size() != g.key_fields.size() && !(keys.empty() && g.key_fields.empty()))
    unsupported(loc, "array '" + g.global->name + "' is indexed with " + std::to_string(keys.size()) +
                         " keys but declared with " + std::to_string(g.key_fields.size()));
  // Values first: evaluating a key may branch (division checks, ternaries).
  std::vector<llvm::Value *> values;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!keys[i]) {  // a `*` wildcard: its field stays zero in a walk's pattern (map_walk.cpp)
      values.push_back(nullptr);
      continue;
    }
    if (keys[i]->type != g.key_fields[i].type)
      unsupported(keys[i]->loc, std::string("key of type ") + type_name(keys[i]->type) + " where " +
                                    type_name(g.key_fields[i].type) + " is expected");
    // A literal key is written into the key in place (no buffer of its own).
    values.push_back(keys[i]->kind == ExprKind::String ? nullptr : value(*keys[i]));
  }
  uint32_t size = std::max<uint32_t>(g.key_size, 8);
  // Keys of a few longs stay on the stack (no frame for dropwatch's
  // programs); string keys go to the frame.
  llvm::Value *key = size <= 64
                         ? state_.mb.entry_alloca(llvm::ArrayType::get(ir().getInt8Ty(), size), "key", true)
                         : frame_buffer(size, "key", Zero::Whole);
  for (size_t i = 0; i < values.size(); ++i) {
    if (!keys[i]) continue;
    const KeyField &field = g.key_fields[i];
    llvm::Value *at = ir().CreateConstInBoundsGEP1_64(ir().getInt8Ty(), key, field.offset);
    if (field.type == Type::String && !values[i])
      write_literal(at, ast::cast<StringExpr>(*keys[i]).value.substr(0, field.size - 1));
    else if (field.type == Type::String)
      // Up to the NUL only: the key is zeroed, and a string built in the
      // scratch area has stale bytes after its NUL that would make equal
      // strings different keys.
      state_.mb.call_helper(Helper::ProbeReadKernelStr, ir().getInt64Ty(),
                            {at, ir().getInt32(field.size), values[i]});
    else
      ir().CreateAlignedStore(values[i], at, llvm::Align(field.offset % 8 ? 1 : 8));
  }
  return key;
}

const GlobalLayout &ProbeLowering::kernel_global(const Global &g, const Location &loc) {
  const GlobalLayout &layout = state_.layout.of(g);
  if (layout.placement != Placement::Kernel)
    unsupported(loc, "global '" + g.name + "' is not placed where kernel probes can reach it");
  return layout;
}

}  // namespace ntap::bpf
