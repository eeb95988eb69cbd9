// Statements and assignment targets of a kernel probe body → BPF IR.
#include <functional>

#include "codegen/bpf/lowering.h"
#include "codegen/branches.h"
#include "frontend/walk.h"

namespace ntap::bpf {

using namespace ast;

namespace {

// Where a long assignment writes: a local's stack slot, a word of the
// "globals" map, or an element of a hash map.
struct LongTarget {
  enum Kind { Slot, GlobalWord, Element } kind;
  llvm::Value *ptr = nullptr;           // Slot, GlobalWord
  const GlobalLayout *global = nullptr;  // Element
  llvm::Value *key = nullptr;            // Element
};

BinaryOp binary_of(AssignOp op, const Location &loc) {
  switch (op) {
    case AssignOp::Add: return BinaryOp::Add;
    case AssignOp::Sub: return BinaryOp::Sub;
    case AssignOp::Mul: return BinaryOp::Mul;
    case AssignOp::Div: return BinaryOp::Div;
    case AssignOp::Mod: return BinaryOp::Mod;
    case AssignOp::Shl: return BinaryOp::Shl;
    case AssignOp::Shr: return BinaryOp::Shr;
    case AssignOp::BitAnd: return BinaryOp::BitAnd;
    case AssignOp::BitOr: return BinaryOp::BitOr;
    case AssignOp::BitXor: return BinaryOp::BitXor;
    case AssignOp::Concat: return BinaryOp::Concat;
    case AssignOp::Set: break;
  }
  unsupported(loc, "internal: plain assignment has no operator");
}

}  // namespace

ProbeLowering::ProbeLowering(CodegenState &state, const Probe &probe, const ResolvedProbe &resolved,
                             llvm::Function *fn)
    : state_(state), probe_(probe), resolved_(resolved), fn_(fn) {
  program_fn_ = fn;
}

void ProbeLowering::lower_body() {
  // Every local is zeroed up front: a local first assigned inside a branch
  // must still read as 0 on the other path (and the verifier rejects reads
  // of uninitialised stack).
  locals_.assign(probe_.locals.size(), nullptr);
  statement_loc_ = probe_.loc;
  const bool loops = has_script_loop(*probe_.body);
  for (const auto &local : probe_.locals)
    locals_.at(local->index) = local->type == Type::String
                                   ? frame_buffer(max_string_len(), local->name.c_str(), Zero::FirstWord)
                                   : long_local(local->name.c_str(), loops);
  // Loops spend from this budget; the optimiser drops it from loop-free programs.
  actions_left_ = state_.mb.entry_alloca(ir().getInt64Ty(), "actions_left", false);
  ir().CreateStore(i64(state_.layout.options.max_action), actions_left_);
  // The context pointer, for map walks' callbacks to reach (the optimiser
  // drops it from programs without one).
  context_slot_ = state_.mb.entry_alloca(ir().getPtrTy(), "context", false);
  ir().CreateStore(fn_->getArg(0), context_slot_);
  // process(PID).begin/.end/.syscall, process.syscall (the target): a
  // uprobe is attached to its process instead.
  if (resolved_.pid != 0 && resolved_.kind != ProbeKind::Uprobe) run_only_in_process(resolved_.pid);
  if (resolved_.begins_running_process) run_once_in_running_process();
  if (resolved_.new_process_only) run_only_in_new_process();
  if (resolved_.exe_inode) run_only_in_executable();
  if (prints_several_records(probe_)) group_output();
  statement(*probe_.body);
  if (!ir().GetInsertBlock()->getTerminator()) ir().CreateRet(ir().getInt32(0));
  finish_frame();
  filter_hits();
}

// Whether `body` holds a while or for loop (a bpf_loop callback).
bool ProbeLowering::has_script_loop(Stmt &body) {
  bool found = false;
  walk_stmts(body, [&](Stmt &s) { found = found || s.kind == StmtKind::While || s.kind == StmtKind::For; });
  return found;
}

// A long local's slot. In a body with a loop it is kept in the per-CPU
// frame, not on the stack: the verifier follows the stack's values exactly,
// so a loop counter compared with its bound (`i < 1024`) was a different
// known number at each call of the loop's callback, and the callback was
// verified once per iteration (a 1024-pass loop went past the million
// instructions). Read from map memory a value is just a number, and the
// callback's state repeats after a pass or two.
llvm::Value *ProbeLowering::long_local(const char *name, bool in_loop_body) {
  if (in_loop_body) return frame_buffer(8, name, Zero::Whole);
  return state_.mb.entry_alloca(ir().getInt64Ty(), name, true);
}

llvm::Value *ProbeLowering::local_slot(const Local &local) {
  if (!frames_.empty()) {
    auto it = frames_.back().locals.find(&local);
    if (it != frames_.back().locals.end()) return reach(it->second);
  }
  if (local.index >= locals_.size() || !locals_[local.index])
    unsupported(local.decl, "internal: local '" + local.name + "' does not belong to this probe");
  return reach(locals_[local.index]);
}

void ProbeLowering::continue_after_terminator() {
  ir().SetInsertPoint(block("unreachable"));
}

// Stack slots made while lowering a statement live only until its end.
// So do frame buffers and string scratch slots.
void ProbeLowering::statement(const Stmt &s) {
  state_.mb.begin_temporaries();
  const uint32_t scratch_slots = scratch_slots_used_;
  const uint32_t frame_top = frame_top_;
  const Location statement_loc = statement_loc_;
  statement_loc_ = s.loc;
  statement_body(s);
  statement_loc_ = statement_loc;
  frame_top_ = frame_top;
  scratch_slots_used_ = scratch_slots;
  state_.mb.end_temporaries();
}

void ProbeLowering::statement_body(const Stmt &s) {
  state_.mb.set_location(s.loc);
  switch (s.kind) {
    case StmtKind::Block:
      for (const auto &inner : ast::cast<BlockStmt>(s).stmts) statement(*inner);
      return;
    case StmtKind::Expr:
      value(*ast::cast<ExprStmt>(s).expr);
      return;
    case StmtKind::If:
      return if_stmt(ast::cast<IfStmt>(s));
    case StmtKind::While:
      return while_stmt(ast::cast<WhileStmt>(s));
    case StmtKind::For:
      return for_stmt(ast::cast<ForStmt>(s));
    case StmtKind::Break:
    case StmtKind::Continue:
      return jump_out_of_loop(s);
    case StmtKind::Foreach:
      return foreach_stmt(ast::cast<ForeachStmt>(s));
    case StmtKind::Delete:
      return delete_stmt(ast::cast<DeleteStmt>(s));
    case StmtKind::StatsAdd:
      return stats_add(ast::cast<StatsAddStmt>(s));
    case StmtKind::Next:
      end_program();
      continue_after_terminator();
      return;
    case StmtKind::Return:
      return return_stmt(ast::cast<ReturnStmt>(s));
    case StmtKind::Try:
      return try_stmt(ast::cast<TryStmt>(s));
  }
}

// Every run-time error of the try block goes to the catch block instead of
// ending the program (fail() and its kin ask caught()); no error record is
// sent for it.
void ProbeLowering::try_stmt(const TryStmt &s) {
  auto &b = ir();
  llvm::BasicBlock *catch_block = block("catch");
  llvm::BasicBlock *done = block("try_end");
  handlers_.push_back({catch_block, s.catch_local, walks_.size()});
  statement(*s.try_block);
  handlers_.pop_back();
  if (!b.GetInsertBlock()->getTerminator()) b.CreateBr(done);

  b.SetInsertPoint(catch_block);
  state_.mb.set_location(s.loc);
  // Running out of MAXACTION cannot be caught away: as in stap, catching
  // needs an action, and a spent budget fails again here, at the try.
  llvm::BasicBlock *spent = block("catch_maxaction");
  llvm::BasicBlock *handle = block("catch_body");
  b.CreateCondBr(b.CreateICmpSLT(b.CreateLoad(b.getInt64Ty(), budget_slot()), i64(0)), spent, handle);
  b.SetInsertPoint(spent);
  const std::string token = describe_token_at(s.loc);
  fail(&s, s.loc, token.empty() ? "MAXACTION exceeded" : "MAXACTION exceeded near " + token);
  b.SetInsertPoint(handle);
  statement(*s.catch_block);
  if (!b.GetInsertBlock()->getTerminator()) b.CreateBr(done);
  b.SetInsertPoint(done);
}

void ProbeLowering::if_stmt(const IfStmt &s) {
  std::function<void()> else_arm;
  if (s.else_stmt) else_arm = [&] { statement(*s.else_stmt); };
  codegen::if_else(ir(), truth(*s.cond), [&] { statement(*s.then_stmt); }, else_arm);
}

namespace {

// A statistic that kernel probes write and user probes read is drained into a
// user-side copy (docs/architecture.md, decision 4) that BPF code cannot reach.
std::string double_buffered_delete(const std::string &name) {
  return "statistic '" + name + "' cannot be deleted in a kernel probe: user probes read it from a " +
         "user-side copy that kernel probes cannot reach; delete it in a timer or end probe, " +
         "or read it in a kernel probe too (that keeps it in one kernel map)";
}

}  // namespace

void ProbeLowering::delete_stmt(const DeleteStmt &s) {
  const Expr &target = *s.target;
  if (target.kind == ExprKind::Index) {
    const auto &e = ast::cast<IndexExpr>(target);
    const GlobalLayout &g = kernel_global(*e.global, e.loc);
    if (g.double_buffered) unsupported(s.loc, double_buffered_delete(e.name));
    if (has_wildcard(e.keys)) return delete_matching(g, e.keys, e.loc);
    state_.maps.remove(state_.maps.map(g.map_names.at(0)), pack_key(g, e.keys, e.loc));
    return;
  }
  if (target.kind != ExprKind::Symbol) unsupported(s.loc, "'delete' needs a variable or an array element");
  const auto &e = ast::cast<SymbolExpr>(target);
  if (e.local) {
    llvm::Value *slot = local_slot(*e.local);
    uint32_t size = e.local->type == Type::String ? max_string_len() : 8;
    zero_bytes(slot, size);
    return;
  }
  const GlobalLayout &g = kernel_global(*e.global, e.loc);
  if (g.per_cpu && g.key_fields.empty()) {  // a statistic without keys: its one element, keyed by 0
    if (g.double_buffered) unsupported(s.loc, double_buffered_delete(e.name));
    state_.maps.remove(state_.maps.map(g.map_names.at(0)), pack_key(g, {}, e.loc));
    return;
  }
  if (g.is_map) {
    // Every element, through bpf_for_each_map_elem with a callback that
    // deletes what it is given. A double-buffered statistic's older values
    // live in user space, out of the kernel's reach.
    if (g.double_buffered) unsupported(s.loc, double_buffered_delete(e.name));
    state_.mb.set_location(s.loc);
    for (const std::string &name : g.map_names)
      state_.mb.call_helper(Helper::ForEachMapElem, ir().getInt64Ty(),
                            {state_.maps.map(name), state_.mb.delete_each_callback(),
                             llvm::ConstantPointerNull::get(ir().getPtrTy()), i64(0)});
    return;
  }
  zero_bytes(state_.maps.global_ptr(g.scalar_offset), g.scalar_size);
}

void ProbeLowering::stats_add(const StatsAddStmt &s) {
  llvm::Value *v = long_value(*s.value);
  const Expr &target = *s.target;
  state_.mb.set_location(s.loc);
  if (target.kind == ExprKind::Index) {
    const auto &e = ast::cast<IndexExpr>(target);
    const GlobalLayout &g = kernel_global(*e.global, e.loc);
    state_.maps.stats_add(g, pack_key(g, e.keys, e.loc), v);
    return;
  }
  if (target.kind != ExprKind::Symbol || !ast::cast<SymbolExpr>(target).global)
    unsupported(s.loc, "'<<<' needs a global aggregate");
  const auto &e = ast::cast<SymbolExpr>(target);
  const GlobalLayout &g = kernel_global(*e.global, e.loc);
  if (!g.per_cpu) unsupported(s.loc, "'" + e.name + "' is not an aggregate");
  state_.maps.stats_add(g, pack_key(g, {}, e.loc), v);
}

// ---------------------------------------------------------------- assignment

namespace {

LongTarget long_target(ProbeLowering &p, const Expr &lhs) {
  if (lhs.kind == ExprKind::Index) {
    const auto &e = ast::cast<IndexExpr>(lhs);
    if (!e.global) unsupported(e.loc, "unresolved array '" + e.name + "'");
    const GlobalLayout &g = p.kernel_global(*e.global, e.loc);
    if (g.per_cpu) unsupported(e.loc, "aggregate '" + e.name + "' can only be updated with '<<<'");
    return {LongTarget::Element, nullptr, &g, p.pack_key(g, e.keys, e.loc)};
  }
  if (lhs.kind != ExprKind::Symbol) unsupported(lhs.loc, "the left side of an assignment must be a variable");
  const auto &e = ast::cast<SymbolExpr>(lhs);
  if (e.local) return {LongTarget::Slot, p.local_slot(*e.local), nullptr, nullptr};
  if (!e.global) unsupported(e.loc, "unresolved identifier '" + e.name + "'");
  const GlobalLayout &g = p.kernel_global(*e.global, e.loc);
  if (g.is_map) unsupported(e.loc, "'" + e.name + "' is an array or aggregate, not a scalar");
  return {LongTarget::GlobalWord, p.state().maps.global_ptr(g.scalar_offset), &g, nullptr};
}

}  // namespace

// Applies `op` with `rhs` to the long at `t`; returns the new value. Adds go
// through atomic instructions where other CPUs can update the same word.
static llvm::Value *update_long(ProbeLowering &p, LongTarget t, AssignOp op, llvm::Value *rhs,
                                const void *site, const Location &loc,
                                const std::function<llvm::Value *(BinaryOp, llvm::Value *, llvm::Value *)> &arith) {
  auto &b = p.ir();
  MapAccess &maps = p.state().maps;
  bool additive = op == AssignOp::Add || op == AssignOp::Sub;
  llvm::Value *delta = op == AssignOp::Sub ? b.CreateNeg(rhs) : rhs;
  switch (t.kind) {
    case LongTarget::Slot: {
      if (op == AssignOp::Set) {
        b.CreateAlignedStore(rhs, t.ptr, llvm::Align(8));
        return rhs;
      }
      llvm::Value *old = b.CreateAlignedLoad(b.getInt64Ty(), t.ptr, llvm::Align(8));
      llvm::Value *result = arith(binary_of(op, loc), old, rhs);
      b.CreateAlignedStore(result, t.ptr, llvm::Align(8));
      return result;
    }
    case LongTarget::GlobalWord: {
      if (op == AssignOp::Set) {
        b.CreateAlignedStore(rhs, t.ptr, llvm::Align(8), true);
        return rhs;
      }
      if (additive) {
        llvm::Value *old = b.CreateAtomicRMW(llvm::AtomicRMWInst::Add, t.ptr, delta, llvm::MaybeAlign(8),
                                             llvm::AtomicOrdering::Monotonic);
        return b.CreateAdd(old, delta);
      }
      llvm::Value *old = b.CreateAlignedLoad(b.getInt64Ty(), t.ptr, llvm::Align(8), true);
      llvm::Value *result = arith(binary_of(op, loc), old, rhs);
      b.CreateAlignedStore(result, t.ptr, llvm::Align(8), true);
      return result;
    }
    case LongTarget::Element: {
      if (additive) return maps.add_to_element(*t.global, t.key, delta);
      llvm::Value *result = rhs;
      if (op != AssignOp::Set) result = arith(binary_of(op, loc), maps.read_long(*t.global, t.key), rhs);
      llvm::AllocaInst *slot = p.state().mb.entry_alloca(b.getInt64Ty(), "element_value", false);
      b.CreateAlignedStore(result, slot, llvm::Align(8));
      maps.write(*t.global, t.key, slot);
      return result;
    }
  }
  return rhs;
}

llvm::Value *ProbeLowering::assign(const AssignExpr &e) {
  if (e.lhs->type == Type::String) return assign_string(e);
  if (e.lhs->type == Type::Stats) unsupported(e.loc, "aggregates can only be updated with '<<<'");
  llvm::Value *rhs = long_value(*e.rhs);
  state_.mb.set_location(e.loc);
  LongTarget target = long_target(*this, *e.lhs);
  return update_long(*this, target, e.op, rhs, &e, e.loc, [&](BinaryOp op, llvm::Value *a, llvm::Value *b) {
    return arith(op, a, b, &e, e.loc);
  });
}

llvm::Value *ProbeLowering::inc_dec(const IncDecExpr &e) {
  if (e.operand->type != Type::Long)
    unsupported(e.loc, std::string(e.increment ? "++" : "--") + " needs a long operand");
  LongTarget target = long_target(*this, *e.operand);
  llvm::Value *delta = i64(e.increment ? 1 : -1);
  llvm::Value *updated = update_long(*this, target, AssignOp::Add, delta, &e, e.loc,
                                     [&](BinaryOp op, llvm::Value *a, llvm::Value *b) {
                                       return arith(op, a, b, &e, e.loc);
                                     });
  return e.prefix ? updated : ir().CreateSub(updated, delta);
}

llvm::Value *ProbeLowering::assign_string(const AssignExpr &e) {
  if (e.op != AssignOp::Set && e.op != AssignOp::Concat)
    unsupported(e.loc, std::string("operator '") + assign_op_text(e.op) + "' needs a long operand");
  // `s .= x` is `s = s . x`.
  llvm::Value *src = e.op == AssignOp::Concat ? concatenation(*e.lhs, *e.rhs) : string_value(*e.rhs);
  state_.mb.set_location(e.loc);
  const Expr &lhs = *e.lhs;
  if (lhs.kind == ExprKind::Index) {
    const auto &target = ast::cast<IndexExpr>(lhs);
    const GlobalLayout &g = kernel_global(*target.global, target.loc);
    llvm::Value *key = pack_key(g, target.keys, target.loc);
    state_.maps.write(g, key, src);
    return src;
  }
  if (lhs.kind != ExprKind::Symbol) unsupported(lhs.loc, "the left side of an assignment must be a variable");
  const auto &target = ast::cast<SymbolExpr>(lhs);
  if (target.local) {
    llvm::Value *slot = local_slot(*target.local);
    copy_string(slot, src, max_string_len());
    return slot;
  }
  const GlobalLayout &g = kernel_global(*target.global, target.loc);
  llvm::Value *slot = state_.maps.global_ptr(g.scalar_offset);
  copy_string(slot, src, g.scalar_size);
  return slot;
}

}  // namespace ntap::bpf
