// Reading statistics in kernel probes: @count @sum @min @max @avg @variance
// and histogram bucket counts (@hist_log(x)[i]).
//
// A statistic that a kernel probe reads lives in ONE per-CPU hash map (the
// layout never double-buffers it), so its value is the merge of every CPU's
// StatsValue for the key. bpf_map_lookup_percpu_elem gives one CPU's copy at
// a time; the loop runs over the possible CPUs, a constant of this machine
// taken when the object is built. Objects are generated in memory by the
// process that loads them, so the constant is exact; being a constant, it
// lets the verifier see the loop end without spending the MAXACTION budget
// and costs no load of a run-time word. The price: the verifier walks every
// iteration, so one program may hold only so many CPU merges (below). The
// merge is runtime/maps.cpp's stats_combine_all step for step, so both sides
// read the same values.
#include <cstddef>

#include "codegen/bpf/lowering.h"

namespace ntap::bpf {

using namespace ast;

namespace {

llvm::Value *field_ptr(llvm::IRBuilder<> &b, llvm::Value *stats, size_t offset) {
  return b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), stats, offset);
}

llvm::Value *load_field(llvm::IRBuilder<> &b, llvm::Value *stats, size_t offset) {
  return b.CreateAlignedLoad(b.getInt64Ty(), field_ptr(b, stats, offset), llvm::Align(8));
}

}  // namespace

// Truncates toward zero as C does; BPF ISA v3 divides unsigned only.
llvm::Value *ProbeLowering::signed_divide(llvm::Value *dividend, llvm::Value *positive_divisor) {
  auto &b = ir();
  llvm::Value *negative = b.CreateICmpSLT(dividend, i64(0));
  llvm::Value *quotient = b.CreateUDiv(b.CreateSelect(negative, b.CreateNeg(dividend), dividend), positive_divisor);
  return b.CreateSelect(negative, b.CreateNeg(quotient), quotient);
}

// The CPUs' parts are visited by bpf_loop's callback: the verifier checks it
// once or twice whatever the number of CPUs, where an unrolled loop of
// reads on a machine with hundreds of CPUs would outgrow its limits.
void ProbeLowering::for_each_cpu_part(const Location &loc, const GlobalLayout &g, llvm::Value *key,
                                      const std::function<void(llvm::Value *)> &merge) {
  auto &b = ir();
  ModuleBuilder &mb = state_.mb;
  llvm::GlobalVariable *map = state_.maps.map(g.map_names.at(0));
  Walk done;
  llvm::Value *context = lower_callback(
      [&] { return mb.begin_loop_callback(loc); }, 1, Walk{},
      [&] {
        llvm::Value *cpu = fn_->getArg(0);
        llvm::Value *part = mb.call_helper(Helper::MapLookupPercpuElem, b.getPtrTy(), {map, reach(key), cpu});
        llvm::BasicBlock *skip = block("cpu_skip");
        llvm::BasicBlock *present = block("cpu_present");
        llvm::BasicBlock *merge_block = block("cpu_merge");
        b.CreateCondBr(b.CreateIsNull(part), skip, present);
        // A CPU that never observed a value holds zeros: it takes no part in
        // min/max or the variance, as in stats_combine_all.
        b.SetInsertPoint(present);
        b.CreateCondBr(b.CreateICmpEQ(load_field(b, part, offsetof(StatsValue, count)), i64(0)), skip, merge_block);
        b.SetInsertPoint(skip);
        leave_callback(0);
        b.SetInsertPoint(merge_block);
        merge(part);
      },
      done);
  mb.set_location(loc);
  mb.call_helper(Helper::Loop, b.getInt64Ty(),
                 {b.getInt32(state_.possible_cpus), done.callback, context, i64(0)});
}

llvm::Value *ProbeLowering::stats_op(const StatsOpExpr &e) {
  auto &b = ir();
  const Expr &target = *e.operand;
  const Global *global = nullptr;
  const std::vector<ExprPtr> *keys = nullptr;
  static const std::vector<ExprPtr> no_keys;
  if (target.kind == ExprKind::Symbol) {
    global = ast::cast<SymbolExpr>(target).global;
    keys = &no_keys;
  } else if (target.kind == ExprKind::Index) {
    global = ast::cast<IndexExpr>(target).global;
    keys = &ast::cast<IndexExpr>(target).keys;
  }
  if (!global) unsupported(target.loc, std::string(stats_fn_name(e.fn)) + " needs an aggregate variable or element");
  const GlobalLayout &g = kernel_global(*global, target.loc);
  if (!g.per_cpu) unsupported(target.loc, "'" + global->name + "' is not an aggregate");
  // The layout keeps statistics read in kernel probes in one map; this is
  // only reached if that rule changes.
  if (g.double_buffered)
    unsupported(e.loc, "statistic '" + global->name + "' is double-buffered and cannot be read in a kernel probe");
  if (is_histogram(e.fn) && !e.bucket)
    unsupported(e.loc, std::string("a histogram (") + stats_fn_name(e.fn) +
                           ") cannot be printed in a kernel probe: its table is rendered in user space; "
                           "print it in a timer or end probe");
  llvm::Value *key = pack_key(g, *keys, target.loc);
  state_.mb.set_location(e.loc);
  if (e.bucket) return stats_bucket(e, g, key);

  llvm::Value *count = state_.mb.entry_alloca(b.getInt64Ty(), "stats_count", true);
  llvm::Value *sum = state_.mb.entry_alloca(b.getInt64Ty(), "stats_sum", true);
  llvm::Value *min = state_.mb.entry_alloca(b.getInt64Ty(), "stats_min", true);
  llvm::Value *max = state_.mb.entry_alloca(b.getInt64Ty(), "stats_max", true);
  // The merges run in bpf_loop's callback: the caller's slots through reach().
  for_each_cpu_part(e.loc, g, key, [&](llvm::Value *part) {
    llvm::Value *count_slot = reach(count), *sum_slot = reach(sum), *min_slot = reach(min), *max_slot = reach(max);
    llvm::Value *so_far = b.CreateLoad(b.getInt64Ty(), count_slot);
    llvm::Value *first = b.CreateICmpEQ(so_far, i64(0));
    b.CreateStore(b.CreateAdd(so_far, load_field(b, part, offsetof(StatsValue, count))), count_slot);
    b.CreateStore(b.CreateAdd(b.CreateLoad(b.getInt64Ty(), sum_slot), load_field(b, part, offsetof(StatsValue, sum))),
                  sum_slot);
    llvm::Value *part_min = load_field(b, part, offsetof(StatsValue, min));
    llvm::Value *old_min = b.CreateLoad(b.getInt64Ty(), min_slot);
    b.CreateStore(b.CreateSelect(b.CreateOr(first, b.CreateICmpSLT(part_min, old_min)), part_min, old_min), min_slot);
    llvm::Value *part_max = load_field(b, part, offsetof(StatsValue, max));
    llvm::Value *old_max = b.CreateLoad(b.getInt64Ty(), max_slot);
    b.CreateStore(b.CreateSelect(b.CreateOr(first, b.CreateICmpSGT(part_max, old_max)), part_max, old_max), max_slot);
  });
  llvm::Value *total = b.CreateLoad(b.getInt64Ty(), count, "count");
  if (e.fn == StatsFn::Count) return total;

  // Everything but @count of an empty aggregate is stap's run-time error.
  llvm::BasicBlock *empty = block("stats_empty");
  llvm::BasicBlock *filled = block("stats_filled");
  b.CreateCondBr(b.CreateICmpEQ(total, i64(0)), empty, filled);
  b.SetInsertPoint(empty);
  fail(&e, e.loc, std::string("empty aggregate near operator '") + stats_fn_name(e.fn) + "'");
  b.SetInsertPoint(filled);
  switch (e.fn) {
    case StatsFn::Sum: return b.CreateLoad(b.getInt64Ty(), sum, "sum");
    case StatsFn::Min: return b.CreateLoad(b.getInt64Ty(), min, "min");
    case StatsFn::Max: return b.CreateLoad(b.getInt64Ty(), max, "max");
    case StatsFn::Avg: return signed_divide(b.CreateLoad(b.getInt64Ty(), sum), total);
    case StatsFn::Variance: return stats_variance(e, g, key, total, b.CreateLoad(b.getInt64Ty(), sum));
    default: break;
  }
  unsupported(e.loc, std::string("internal: unexpected statistic ") + stats_fn_name(e.fn));
}

// stats_combine_all's total-variance formula over the CPUs' parts: the
// spread of their means around the merged mean plus their own variances.
llvm::Value *ProbeLowering::stats_variance(const StatsOpExpr &e, const GlobalLayout &g, llvm::Value *key,
                                           llvm::Value *count, llvm::Value *sum) {
  auto &b = ir();
  const uint64_t shift = static_cast<uint64_t>(g.variance_shift) & 63;
  llvm::Value *mean_s = signed_divide(b.CreateShl(sum, shift), count);
  llvm::Value *spread = state_.mb.entry_alloca(b.getInt64Ty(), "variance_spread", true);
  for_each_cpu_part(e.loc, g, key, [&](llvm::Value *part) {
    llvm::Value *part_count = load_field(b, part, offsetof(StatsValue, count));
    llvm::Value *d = b.CreateSub(load_field(b, part, offsetof(StatsValue, avg_s)), reach(mean_s));
    llvm::Value *between = b.CreateMul(part_count, b.CreateMul(d, d));
    llvm::Value *within =
        b.CreateMul(b.CreateSub(part_count, i64(1)), load_field(b, part, offsetof(StatsValue, variance_s)));
    llvm::Value *spread_slot = reach(spread);
    b.CreateStore(b.CreateAdd(b.CreateLoad(b.getInt64Ty(), spread_slot), b.CreateAdd(between, within)), spread_slot);
  });
  llvm::Value *several = b.CreateICmpSGT(count, i64(1));
  // The divisor is 1 where it would be 0; the select below discards that quotient.
  llvm::Value *divisor = b.CreateSelect(several, b.CreateSub(count, i64(1)), i64(1));
  llvm::Value *variance_s = b.CreateSelect(several, signed_divide(b.CreateLoad(b.getInt64Ty(), spread), divisor), i64(0));
  return b.CreateAShr(variance_s, (2 * shift) & 63);
}

// @hist_log(x)[i]: bucket i summed over the CPUs; a missing element reads 0
// as on the user side, an index outside the histogram is stap's error.
llvm::Value *ProbeLowering::stats_bucket(const StatsOpExpr &e, const GlobalLayout &g, llvm::Value *key) {
  auto &b = ir();
  if (!g.histogram.buckets)
    unsupported(e.loc, "'" + g.global->name + "' has no " + stats_fn_name(e.fn) + " histogram");
  llvm::Value *index = long_value(*e.bucket);
  llvm::BasicBlock *outside = block("bucket_outside");
  llvm::BasicBlock *inside = block("bucket_inside");
  // One unsigned comparison: negative indexes are huge unsigned ones. The
  // verifier bounds the offset below from this branch.
  b.CreateCondBr(b.CreateICmpUGE(index, i64(g.histogram.buckets)), outside, inside);
  b.SetInsertPoint(outside);
  fail(e.bucket.get(), e.bucket->loc, "histogram index out of range");
  b.SetInsertPoint(inside);
  llvm::Value *offset = b.CreateAdd(b.CreateShl(index, 3), i64(sizeof(StatsValue)));
  llvm::Value *total = state_.mb.entry_alloca(b.getInt64Ty(), "bucket_total", true);
  state_.mb.set_location(e.loc);
  for_each_cpu_part(e.loc, g, key, [&](llvm::Value *part) {
    llvm::Value *at = b.CreateInBoundsGEP(b.getInt8Ty(), part, reach(offset));
    llvm::Value *bucket = b.CreateAlignedLoad(b.getInt64Ty(), at, llvm::Align(8));
    llvm::Value *total_slot = reach(total);
    b.CreateStore(b.CreateAdd(b.CreateLoad(b.getInt64Ty(), total_slot), bucket), total_slot);
  });
  return b.CreateLoad(b.getInt64Ty(), total, "bucket");
}

}  // namespace ntap::bpf
