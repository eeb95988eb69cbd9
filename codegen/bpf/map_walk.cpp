// Walks over a kernel map: foreach, and the wildcard subscripts of `delete`
// and `in` (a[*, k]).
//
// A BPF program reaches every element of a hash map only through
// bpf_for_each_map_elem, which calls a callback (a function of its own, with
// a stack of its own) once per element. The walk's body is built as that
// callback:
//  * the probe's locals, the MAXACTION budget and whatever else of the
//    caller's stack the body uses are passed by pointer: the callback's ctx
//    is an array of pointers, filled by the caller once the body is built and
//    it is known what the body reached (reach());
//  * `break`, `next`, a run-time error and a `return` out of an inlined
//    function leave the callback with 1 (no more elements) after writing why
//    into the caller's stop flag; the caller then does the same in its own
//    function (which may itself be a callback);
//  * each element spends MAXACTION budget as while/for iterations do. The
//    budget goes from the caller to the callbacks through a per-CPU map
//    word, not the stack: the verifier knows nothing of a map word's value,
//    so it need not walk the callback once per possible budget (each callback
//    clamps what it reads to [0, MAXACTION] in a stack slot of its own, which
//    bounds its while/for loops; the caller clamps what comes back to what it
//    handed out, which keeps its own loops bounded);
//  * a callback whose stop flag is set returns at once, so its state repeats
//    once the walk is over: that is how the verifier, which walks a callback
//    as a loop until its state repeats, sees the walk end.
// The elements come in hash order and a program cannot hold them all, so a
// sorted foreach is refused before code generation (assign_sides).
#include <algorithm>

#include "codegen/bpf/lowering.h"
#include "codegen/branches.h"

namespace ntap::bpf {

using namespace ast;

namespace {

// What a walk's stop flag says when its callback returned 1.
enum WalkStop : int64_t {
  kGoOn = 0,        // the walk ran over every element
  kEndProgram = 1,  // `next` or a run-time error: the probe hit is over
  kReturn = 2,      // `return` from the inlined function the walk is in
  kBreak = 3,       // `break`, a foreach limit reached, a match found
  kCaught = 4,      // a run-time error for a `try` around the walk
};

}  // namespace

// A value of the caller (a stack slot's address, or any other pointer or
// integer it computed) travels in one 8-byte word of the context array.
llvm::Value *ProbeLowering::reach(llvm::Value *v) {
  if (walks_.empty()) return v;
  llvm::Function *owner = nullptr;
  if (auto *inst = llvm::dyn_cast<llvm::Instruction>(v)) owner = inst->getFunction();
  if (auto *arg = llvm::dyn_cast<llvm::Argument>(v)) owner = arg->getParent();
  if (!owner || owner == ir().GetInsertBlock()->getParent()) return v;  // constants, globals, its own
  Walk &walk = walks_.back();
  auto it = std::find(walk.captured.begin(), walk.captured.end(), v);
  const uint64_t index = static_cast<uint64_t>(it - walk.captured.begin());
  if (it == walk.captured.end()) walk.captured.push_back(v);
  auto &b = ir();
  llvm::Value *at = b.CreateConstInBoundsGEP1_64(b.getInt64Ty(), walk.ctx, index);
  if (v->getType()->isPointerTy()) return b.CreateAlignedLoad(b.getPtrTy(), at, llvm::Align(8));
  llvm::Value *word = b.CreateAlignedLoad(b.getInt64Ty(), at, llvm::Align(8));
  return v->getType() == b.getInt64Ty() ? word : b.CreateTrunc(word, v->getType());
}

llvm::Value *ProbeLowering::lower_callback(const std::function<llvm::Function *()> &begin, unsigned ctx_arg,
                                           Walk walk, const std::function<void()> &body, Walk &done) {
  auto &b = ir();
  ModuleBuilder &mb = state_.mb;
  // The callback, built aside from the caller's code.
  const ModuleBuilder::Position caller = mb.position();
  llvm::Function *caller_fn = fn_;
  llvm::Value *caller_globals = state_.maps.globals_base();
  fn_ = begin();
  walk.callback = fn_;
  walk.ctx = fn_->getArg(ctx_arg);
  walks_.push_back(std::move(walk));
  mb.begin_temporaries();
  body();
  mb.end_temporaries();
  if (!b.GetInsertBlock()->getTerminator()) leave_callback(0);
  done = std::move(walks_.back());
  walks_.pop_back();
  fn_ = caller_fn;
  state_.maps.set_globals_base(caller_globals);
  mb.restore(caller);

  // The caller: one word per value the callback reached.
  auto *context_type = llvm::ArrayType::get(b.getInt64Ty(), std::max<size_t>(done.captured.size(), 1));
  llvm::Value *context = mb.entry_alloca(context_type, "callback_context", false);
  for (size_t i = 0; i < done.captured.size(); ++i) {
    llvm::Value *here = reach(done.captured[i]);
    if (!here->getType()->isPointerTy() && here->getType() != b.getInt64Ty()) here = b.CreateZExt(here, b.getInt64Ty());
    b.CreateAlignedStore(here, b.CreateConstInBoundsGEP1_64(b.getInt64Ty(), context, i), llvm::Align(8));
  }
  return context;
}

llvm::Value *ProbeLowering::program_context() {
  if (walks_.empty()) return fn_->getArg(0);
  return ir().CreateAlignedLoad(ir().getPtrTy(), reach(context_slot_), llvm::Align(8), "ctx");
}

llvm::Value *ProbeLowering::budget_slot() { return walks_.empty() ? actions_left_ : walks_.back().budget; }

void ProbeLowering::leave_callback(int64_t result) {
  auto &b = ir();
  const Walk &walk = walks_.back();
  if (walk.shared_budget)
    b.CreateAlignedStore(b.CreateAlignedLoad(b.getInt64Ty(), walk.budget, llvm::Align(8)), walk.shared_budget,
                         llvm::Align(8));
  b.CreateRet(b.getInt64(result));
}

void ProbeLowering::stop_walk(int64_t why) {
  ir().CreateAlignedStore(i64(why), reach(walks_.back().stop), llvm::Align(8));
  leave_callback(1);
}

namespace {

// min(max(value, floor), limit), in branches the verifier follows to bound the result.
llvm::Value *clamp(llvm::IRBuilder<> &b, llvm::Value *value, int64_t floor, llvm::Value *limit) {
  value = b.CreateSelect(b.CreateICmpSLT(value, b.getInt64(floor)), b.getInt64(floor), value);
  return b.CreateSelect(b.CreateICmpSGT(value, limit), limit, value);
}

}  // namespace

void ProbeLowering::end_program() {
  if (walks_.empty()) {
    ir().CreateRet(ir().getInt32(0));
    return;
  }
  walks_.back().ends_program = true;
  stop_walk(kEndProgram);
}

bool ProbeLowering::caught(const std::function<void(llvm::Value *message)> &write_message) {
  if (handlers_.empty()) return false;
  if (handlers_.back().message) write_message(local_slot(*handlers_.back().message));
  leave_to_handler();
  return true;
}

void ProbeLowering::leave_to_handler() {
  const Handler &handler = handlers_.back();
  if (handler.walks_depth == walks_.size()) {
    ir().CreateBr(handler.catch_block);
    return;
  }
  walks_.back().catches = true;
  stop_walk(kCaught);
}

void ProbeLowering::return_from_function() {
  if (walks_.empty() || frames_.size() > walks_.back().frames_depth) {
    ir().CreateBr(frames_.back().exit);
    return;
  }
  walks_.back().returns = true;
  stop_walk(kReturn);
}

void ProbeLowering::callback_loop(const Location &loc, const BeginCallback &begin, unsigned ctx_arg,
                                  const std::function<void()> &body, const CallCallback &call) {
  auto &b = ir();
  ModuleBuilder &mb = state_.mb;
  llvm::Value *stop = mb.entry_alloca(b.getInt64Ty(), "walk_stop", false);
  b.CreateAlignedStore(i64(kGoOn), stop, llvm::Align(8));
  llvm::Value *shared_budget = state_.maps.walk_budget(interrupting());
  llvm::Value *budget_before = b.CreateAlignedLoad(b.getInt64Ty(), budget_slot(), llvm::Align(8));
  b.CreateAlignedStore(budget_before, shared_budget, llvm::Align(8));

  Walk setup, walk;
  setup.stop = stop;
  setup.frames_depth = frames_.size();
  llvm::Value *context = lower_callback(
      [&] { return begin(loc); }, ctx_arg, std::move(setup),
      [&] {
        llvm::BasicBlock *stopped = block("walk_stopped");
        llvm::BasicBlock *element = block("walk_element");
        llvm::Value *why = b.CreateAlignedLoad(b.getInt64Ty(), reach(stop), llvm::Align(8));
        b.CreateCondBr(b.CreateICmpNE(why, i64(kGoOn)), stopped, element);
        b.SetInsertPoint(stopped);
        b.CreateRet(b.getInt64(1));
        b.SetInsertPoint(element);
        state_.maps.begin_program();
        Walk &current = walks_.back();
        current.shared_budget = state_.maps.walk_budget(interrupting());
        current.budget = mb.entry_alloca(b.getInt64Ty(), "walk_budget", false);
        llvm::Value *handed = b.CreateAlignedLoad(b.getInt64Ty(), current.shared_budget, llvm::Align(8));
        b.CreateAlignedStore(clamp(b, handed, 0, i64(state_.layout.options.max_action)), current.budget, llvm::Align(8));
        body();
      },
      walk);

  // The caller: loop, then do what the callback stopped for.
  mb.set_location(loc);
  call(walk.callback, context);
  llvm::Value *budget_after = b.CreateAlignedLoad(b.getInt64Ty(), shared_budget, llvm::Align(8));
  // -1 stays: a budget spent inside the callback whose error a `try` caught
  // must fail again at the try (try_stmt).
  b.CreateAlignedStore(clamp(b, budget_after, -1, budget_before), budget_slot(), llvm::Align(8));
  auto leave_if = [&](WalkStop code, void (ProbeLowering::*leave)()) {
    llvm::Value *stopped_for = b.CreateAlignedLoad(b.getInt64Ty(), stop, llvm::Align(8));
    llvm::BasicBlock *leaving = block("walk_leave");
    llvm::BasicBlock *after = block("walk_done");
    b.CreateCondBr(b.CreateICmpEQ(stopped_for, i64(code)), leaving, after);
    b.SetInsertPoint(leaving);
    (this->*leave)();
    b.SetInsertPoint(after);
  };
  if (walk.ends_program) leave_if(kEndProgram, &ProbeLowering::end_program);
  if (walk.returns) leave_if(kReturn, &ProbeLowering::return_from_function);
  if (walk.catches) leave_if(kCaught, &ProbeLowering::leave_to_handler);
}

void ProbeLowering::walk_map(const GlobalLayout &g, const Location &loc, const WalkBody &body) {
  ModuleBuilder &mb = state_.mb;
  callback_loop(
      loc, [&](const Location &at) { return mb.begin_walk_callback(at); }, 3,
      [&] { body(fn_->getArg(1), fn_->getArg(2)); },
      [&](llvm::Function *callback, llvm::Value *context) {
        mb.call_helper(Helper::ForEachMapElem, ir().getInt64Ty(),
                       {state_.maps.map(g.map_names.at(0)), callback, context, i64(0)});
      });
}

void ProbeLowering::stop_loop() { stop_walk(kBreak); }

llvm::Value *ProbeLowering::key_matches(const GlobalLayout &g, llvm::Value *key, llvm::Value *pattern,
                                        const std::vector<ExprPtr> &keys) {
  // Keys are packed zero-padded (strings up to their NUL), so equal keys are
  // equal bytes.
  auto &b = ir();
  llvm::Value *all = b.getTrue();
  for (size_t i = 0; i < keys.size() && i < g.key_fields.size(); ++i) {
    if (!keys[i]) continue;
    const KeyField &field = g.key_fields[i];
    for (uint32_t at = 0; at < field.size;) {
      uint32_t width = 8;
      while (width > field.size - at) width /= 2;
      const uint32_t offset = field.offset + at;
      const llvm::Align align(offset % width ? 1 : width);
      llvm::Type *type = b.getIntNTy(width * 8);
      llvm::Value *lhs = b.CreateAlignedLoad(type, b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), key, offset), align);
      llvm::Value *rhs =
          b.CreateAlignedLoad(type, b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), pattern, offset), align);
      all = b.CreateAnd(all, b.CreateICmpEQ(lhs, rhs));
      at += width;
    }
  }
  return all;
}

void ProbeLowering::foreach_stmt(const ForeachStmt &s) {
  if (s.sort_direction != 0) unsupported(s.loc, "internal: a sorted foreach reached kernel code generation");
  const GlobalLayout &g = kernel_global(*s.global, s.loc);
  if (!g.is_map) unsupported(s.loc, "'" + s.array_name + "' is not an array");
  // The layout keeps a statistic read in a kernel probe in one kernel map.
  if (g.double_buffered) unsupported(s.loc, "internal: foreach over double-buffered statistic '" + s.array_name + "'");
  if (s.key_locals.size() != g.key_fields.size())
    unsupported(s.loc, "foreach over '" + s.array_name + "' names " + std::to_string(s.key_locals.size()) +
                           " keys but the array has " + std::to_string(g.key_fields.size()));
  auto &b = ir();
  // As in stap, the slice and the limit are evaluated once, before the walk.
  llvm::Value *pattern = s.slice.empty() ? nullptr : pack_key(g, s.slice, s.loc);
  llvm::Value *remaining = nullptr;
  if (s.limit) {
    llvm::Value *limit = long_value(*s.limit);
    remaining = state_.mb.entry_alloca(b.getInt64Ty(), "foreach_limit", false);
    b.CreateAlignedStore(limit, remaining, llvm::Align(8));
  }
  walk_map(g, s.loc, [&](llvm::Value *key, llvm::Value *value) {
    if (pattern) {  // elements outside the slice are passed over, costing nothing
      llvm::BasicBlock *skip = block("foreach_skip");
      llvm::BasicBlock *match = block("foreach_match");
      b.CreateCondBr(key_matches(g, key, reach(pattern), s.slice), match, skip);
      b.SetInsertPoint(skip);
      leave_callback(0);
      b.SetInsertPoint(match);
    }
    if (remaining) {
      llvm::Value *slot = reach(remaining);
      llvm::Value *left = b.CreateAlignedLoad(b.getInt64Ty(), slot, llvm::Align(8));
      llvm::BasicBlock *reached = block("foreach_limit_reached");
      llvm::BasicBlock *go = block("foreach_within_limit");
      b.CreateCondBr(b.CreateICmpSLE(left, i64(0)), reached, go);
      b.SetInsertPoint(reached);
      stop_walk(kBreak);
      b.SetInsertPoint(go);
      b.CreateAlignedStore(b.CreateSub(left, i64(1)), slot, llvm::Align(8));
    }
    for (size_t i = 0; i < s.key_locals.size(); ++i) {
      const KeyField &field = g.key_fields[i];
      llvm::Value *from = b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), key, field.offset);
      const llvm::Align align(field.offset % 8 ? 1 : 8);
      llvm::Value *to = local_slot(*s.key_locals[i]);
      if (field.type == Type::String)
        copy_bytes(to, from, std::min(field.size, max_string_len()), align);
      else
        b.CreateAlignedStore(b.CreateAlignedLoad(b.getInt64Ty(), from, align), to, llvm::Align(8));
    }
    if (s.value_local) {
      llvm::Value *to = local_slot(*s.value_local);
      if (s.value_local->type == Type::String)
        copy_string(to, value, g.value_size);
      else
        b.CreateAlignedStore(b.CreateAlignedLoad(b.getInt64Ty(), value, llvm::Align(8)), to, llvm::Align(8));
    }
    iteration({}, *s.body, {});
  });
}

llvm::Value *ProbeLowering::any_matching(const GlobalLayout &g, const std::vector<ExprPtr> &keys,
                                         const Location &loc) {
  auto &b = ir();
  llvm::Value *pattern = pack_key(g, keys, loc);
  llvm::Value *found = state_.mb.entry_alloca(b.getInt64Ty(), "found", false);
  b.CreateAlignedStore(i64(0), found, llvm::Align(8));
  walk_map(g, loc, [&](llvm::Value *key, llvm::Value *) {
    llvm::BasicBlock *hit = block("match");
    llvm::BasicBlock *miss = block("no_match");
    b.CreateCondBr(key_matches(g, key, reach(pattern), keys), hit, miss);
    b.SetInsertPoint(hit);
    b.CreateAlignedStore(i64(1), reach(found), llvm::Align(8));
    stop_walk(kBreak);
    b.SetInsertPoint(miss);
    leave_callback(0);
  });
  return b.CreateAlignedLoad(b.getInt64Ty(), found, llvm::Align(8));
}

void ProbeLowering::delete_matching(const GlobalLayout &g, const std::vector<ExprPtr> &keys, const Location &loc) {
  auto &b = ir();
  llvm::Value *pattern = pack_key(g, keys, loc);
  walk_map(g, loc, [&](llvm::Value *key, llvm::Value *) {
    codegen::if_else(b, key_matches(g, key, reach(pattern), keys), [&] {
      // The callback's own map argument: deleting the element being visited
      // is what bpf_for_each_map_elem allows.
      state_.mb.call_helper(Helper::MapDeleteElem, b.getInt64Ty(), {fn_->getArg(0), key});
    }, {});
  });
}

}  // namespace ntap::bpf
