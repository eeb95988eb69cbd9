// A tracked thread's value in Layout::kPerfTasksMap (u64 words):
//   [0]             1 once its counts are started (switched in, begun, or read)
//   [1 + 2k]        counter k on its CPU when it was last switched in
//   [2 + 2k]        counter k's events it has counted before that
// @perf(K) is [2 + 2K] + (counter K now - [1 + 2K]): a CPU's counting event
// counts whatever runs there, so a thread's share is what the CPU counted
// while it ran (docs/architecture.md, decision 21).
#include "codegen/bpf/perf_counters_bpf.h"

namespace ntap::bpf {

using namespace ast;

namespace {

constexpr Helper kTaskStorageGet = static_cast<Helper>(156);  // bpf_task_storage_get (Linux 5.11)
constexpr Helper kGetCurrentTaskBtf = static_cast<Helper>(158);  // bpf_get_current_task_btf (Linux 5.11)
constexpr int64_t kCreate = 1;  // BPF_LOCAL_STORAGE_GET_F_CREATE

size_t counters(ProbeLowering &p) { return p.state().layout.perf_counters.size(); }

// This CPU's count of counter k: the event the runtime stored at this CPU's
// index of the counter's perf event array (0 if it cannot be read: the
// kernel refuses only a missing event or one of another CPU).
llvm::Value *counter_now(ProbeLowering &p, size_t k) {
  constexpr uint64_t kCurrentCpu = 0xffffffffULL;  // BPF_F_CURRENT_CPU
  auto &b = p.ir();
  // struct bpf_perf_event_value { u64 counter, enabled, running; }
  llvm::Type *value_type = llvm::ArrayType::get(b.getInt64Ty(), 3);
  llvm::Value *value = p.state().mb.entry_alloca(value_type, "perf_counter_value", true);
  llvm::Value *map = p.state().maps.map(Layout::perf_counter_map(k));
  llvm::Value *err = p.state().mb.call_helper(Helper::PerfEventReadValue, b.getInt64Ty(),
                                              {map, b.getInt64(kCurrentCpu), value, b.getInt64(3 * 8)});
  llvm::Value *count = b.CreateAlignedLoad(b.getInt64Ty(), value, llvm::Align(8), "perf_count");
  return b.CreateSelect(b.CreateICmpEQ(err, p.i64(0)), count, p.i64(0));
}

// A task pointer argument of the tracepoint, loaded from the context as the
// verifier wants it for bpf_task_storage_get (a BTF pointer, untouched).
llvm::Value *task_argument(ProbeLowering &p, const Expr &arg, const CallExpr &call) {
  const auto *var = dyn_cast<TargetVarExpr>(arg);
  if (!var || !var->resolved || var->arg_index < 0 || !var->components.empty() || !var->steps.empty())
    throw CompileError(ErrorKind::Codegen, call.name + " takes task pointers of the tracepoint's context", call.loc);
  auto &b = p.ir();
  return b.CreateAlignedLoad(b.getPtrTy(), b.CreateConstInBoundsGEP1_64(b.getInt64Ty(), p.program_context(),
                                                                         var->arg_index),
                             llvm::Align(8), "task");
}

llvm::Value *current_task(ProbeLowering &p) {
  return p.state().mb.call_helper(kGetCurrentTaskBtf, p.ir().getPtrTy(), {});
}

// The task's value (null when it has none and `create` is false, or the
// kernel could not make one).
llvm::Value *storage(ProbeLowering &p, llvm::Value *task, bool create) {
  auto &b = p.ir();
  return p.state().mb.call_helper(kTaskStorageGet, b.getPtrTy(),
                                  {p.state().maps.map(Layout::kPerfTasksMap), task,
                                   llvm::ConstantPointerNull::get(b.getPtrTy()), b.getInt64(create ? kCreate : 0)});
}

llvm::Value *word(ProbeLowering &p, llvm::Value *value, size_t index) {
  return p.ir().CreateConstInBoundsGEP1_64(p.ir().getInt64Ty(), value, index);
}
llvm::Value *load(ProbeLowering &p, llvm::Value *at) {
  return p.ir().CreateAlignedLoad(p.ir().getInt64Ty(), at, llvm::Align(8));
}
void store(ProbeLowering &p, llvm::Value *v, llvm::Value *at) { p.ir().CreateAlignedStore(v, at, llvm::Align(8)); }

// Runs `then(value)` when `value` is not null, and goes on after it.
template <typename Then>
void if_present(ProbeLowering &p, llvm::Value *value, const char *name, Then then) {
  auto &b = p.ir();
  llvm::BasicBlock *present = p.block(name);
  llvm::BasicBlock *after = p.block("perf_counter_after");
  b.CreateCondBr(b.CreateIsNull(value), after, present);
  b.SetInsertPoint(present);
  then(value);
  b.CreateBr(after);
  b.SetInsertPoint(after);
}

// Starts every counter's count from now, with nothing counted before.
void start_now(ProbeLowering &p, llvm::Value *value) {
  store(p, p.i64(1), word(p, value, 0));
  for (size_t k = 0; k < counters(p); ++k) {
    store(p, counter_now(p, k), word(p, value, 1 + 2 * k));
    store(p, p.i64(0), word(p, value, 2 + 2 * k));
  }
}

}  // namespace

// sched_switch: the thread switched out adds what its CPU counted since it
// was switched in; the one switched in starts from the CPU's count now.
llvm::Value *perf_counter_switch(ProbeLowering &p, const CallExpr &call) {
  llvm::Value *prev = task_argument(p, *call.args.at(0), call);
  llvm::Value *next = task_argument(p, *call.args.at(1), call);
  if_present(p, storage(p, prev, false), "perf_counter_out", [&](llvm::Value *value) {
    auto &b = p.ir();
    llvm::Value *started = b.CreateICmpNE(load(p, word(p, value, 0)), p.i64(0));
    for (size_t k = 0; k < counters(p); ++k) {
      llvm::Value *ran = b.CreateSub(counter_now(p, k), load(p, word(p, value, 1 + 2 * k)));
      llvm::Value *total = word(p, value, 2 + 2 * k);
      store(p, b.CreateAdd(load(p, total), b.CreateSelect(started, ran, p.i64(0))), total);
    }
  });
  if_present(p, storage(p, next, false), "perf_counter_in", [&](llvm::Value *value) {
    store(p, p.i64(1), word(p, value, 0));
    for (size_t k = 0; k < counters(p); ++k) store(p, counter_now(p, k), word(p, value, 1 + 2 * k));
  });
  return p.i64(0);
}

// sched_process_fork: a tracked thread's new thread or child is tracked from
// its first switch in (its value starts zeroed: nothing counted, not started).
llvm::Value *perf_counter_fork(ProbeLowering &p, const CallExpr &call) {
  llvm::Value *child = task_argument(p, *call.args.at(0), call);
  if_present(p, storage(p, current_task(p), false), "perf_counter_parent",
             [&](llvm::Value *) { storage(p, child, true); });
  return p.i64(0);
}

// process("PATH").begin: the thread is tracked, counting from now.
llvm::Value *perf_counter_track(ProbeLowering &p, const CallExpr &) {
  if_present(p, storage(p, current_task(p), true), "perf_counter_begun",
             [&](llvm::Value *value) { start_now(p, value); });
  return p.i64(0);
}

// @perf("NAME"): the current thread's count of counter K; a thread seen for
// the first time (running before the script started) counts from now.
llvm::Value *perf_counter_value(ProbeLowering &p, const CallExpr &call) {
  const auto *number = dyn_cast<NumberExpr>(*call.args.at(0));
  if (!number || number->value < 0 || static_cast<size_t>(number->value) >= counters(p))
    throw CompileError(ErrorKind::Codegen, "__perf_counter_value takes the literal number of a perf counter",
                       call.loc);
  const size_t k = static_cast<size_t>(number->value);
  auto &b = p.ir();
  llvm::Value *result = p.state().mb.entry_alloca(b.getInt64Ty(), "perf_counter_result", false);
  store(p, p.i64(0), result);
  if_present(p, storage(p, current_task(p), true), "perf_counter_read", [&](llvm::Value *value) {
    llvm::BasicBlock *fresh = p.block("perf_counter_fresh");
    llvm::BasicBlock *read = p.block("perf_counter_started");
    b.CreateCondBr(b.CreateICmpEQ(load(p, word(p, value, 0)), p.i64(0)), fresh, read);
    b.SetInsertPoint(fresh);
    start_now(p, value);
    b.CreateBr(read);
    b.SetInsertPoint(read);
    llvm::Value *ran = b.CreateSub(counter_now(p, k), load(p, word(p, value, 1 + 2 * k)));
    store(p, b.CreateAdd(load(p, word(p, value, 2 + 2 * k)), ran), result);
  });
  return load(p, result);
}

}  // namespace ntap::bpf
