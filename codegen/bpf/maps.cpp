#include "codegen/bpf/maps.h"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <utility>
#include <stdexcept>

namespace ntap::bpf {
namespace {
constexpr int64_t kEExist = 17;  // errno of an insert with BPF_NOEXIST racing another CPU
constexpr const char *kZeroValueMap = "stats_zero";
constexpr const char *kWalkBudgetMap = "walk_budget";
}  // namespace

MapAccess::MapAccess(ModuleBuilder &mb, const Layout &layout, bool declare_all) : mb_(mb), layout_(layout), declare_all_(declare_all) {
  auto add = [this](const MapSpec &spec) { specs_[spec.name] = spec; };
  add({Layout::kGlobalsMap, kMapTypeArray, 1, kMapFlagMmapable, 4, layout.globals_size ? layout.globals_size : 8,
       true});
  add({Layout::kEventsMap, kMapTypeRingbuf, layout.options.ringbuf_size, 0, 0, 0, false});
  add({Layout::kFramesMap, kMapTypePercpuArray, Layout::kNestingLevels, 0, 4, layout.frame_bytes(), true});
  add({Layout::kNestingMap, kMapTypePercpuArray, 1, 0, 4, 8, true});
  add({kWalkBudgetMap, kMapTypePercpuArray, 2, 0, 4, 8, true});
  add({Layout::kStacksMap, kMapTypeStackTrace, layout.options.max_stacks, 0, 4, layout.stack_frames() * 8,
       true});
  add({Layout::kUserStacksMap, kMapTypeStackTrace, Layout::kUserStacks, 0, 4, 8 * Layout::kUserStackDepth, true});
  add({Layout::kRunningAtStartMap, kMapTypeHash, Layout::kRunningAtStart, 0, 8, 8});

  // Perf event arrays hold file descriptors: sizes only, as program arrays.
  // Zero entries: libbpf makes one per possible CPU.
  for (size_t k = 0; k < layout.perf_counters.size(); ++k) {
    MapSpec spec{Layout::perf_counter_map(k), kMapTypePerfEventArray, 0, 0, 4, 4};
    spec.sizes_only = true;
    add(spec);
  }
  // Task storage: no preallocation, no size, an int key (the kernel's rules).
  if (!layout.perf_counters.empty())
    add({Layout::kPerfTasksMap, kMapTypeTaskStorage, 0, kMapFlagNoPrealloc, 4, layout.perf_task_value_size(), true});

  uint32_t largest_histogram_value = 0;
  for (const GlobalLayout &g : layout.globals) {
    if (g.placement != Placement::Kernel || !g.is_map) continue;
    for (const std::string &name : g.map_names) {
      // Wrap-around arrays (`global a%`) become LRU maps: the kernel evicts the
      // least recently used element, not stap's oldest-inserted (docs/langref.md).
      const bool wrap = g.global->wrap;
      add({name,
           g.per_cpu ? (wrap ? kMapTypeLruPercpuHash : kMapTypePercpuHash) : (wrap ? kMapTypeLruHash : kMapTypeHash),
           g.max_entries, 0, g.key_size, g.value_size, false});
    }
    if (g.histogram.buckets) largest_histogram_value = std::max(largest_histogram_value, g.value_size);
  }
  // A histogram's value is too large for the BPF stack, so a new element is
  // inserted from this never-written (all-zero) array element instead.
  if (largest_histogram_value) add({kZeroValueMap, kMapTypeArray, 1, 0, 4, largest_histogram_value, true});

  if (declare_all) {
    for (const auto &[name, spec] : specs_)
      if (!on_demand(name)) map(name);
  } else {
    for (auto &[name, spec] : specs_) spec.weak = true;
  }
}

bool MapAccess::on_demand(const std::string &name) {
  return name == Layout::kEventsMap || name == Layout::kFramesMap || name == Layout::kNestingMap ||
         name == kWalkBudgetMap || name == Layout::kStacksMap || name == Layout::kUserStacksMap ||
         name == Layout::kRunningAtStartMap;
}

std::vector<std::string> MapAccess::declared_on_demand() const {
  std::vector<std::string> names;
  for (const auto &[name, var] : declared_)
    if (on_demand(name)) names.push_back(name);
  return names;
}

llvm::GlobalVariable *MapAccess::map(const std::string &name) {
  if (auto it = declared_.find(name); it != declared_.end()) return it->second;
  auto spec = specs_.find(name);
  if (spec == specs_.end()) throw std::logic_error("layout has no BPF map named " + name);
  return declared_[name] = mb_.declare_map(spec->second);
}

llvm::GlobalVariable *MapAccess::program_array(const std::string &name, uint32_t entries) {
  if (!specs_.count(name)) {
    MapSpec spec{name, kMapTypeProgArray, entries, 0, 4, 4};
    spec.sizes_only = true;
    spec.weak = !declare_all_;
    specs_[name] = spec;
  }
  return map(name);
}

llvm::BasicBlock *MapAccess::block(const char *name) {
  return llvm::BasicBlock::Create(mb_.context(), name, mb_.ir().GetInsertBlock()->getParent());
}

// An array map's element `index`: such a lookup never fails, but the
// verifier needs the null check, which ends the function (a program, or a
// map walk's callback, whose 0 means "go on").
llvm::Value *MapAccess::array_element_or_return(const std::string &map_name, uint32_t index) {
  auto &ir = mb_.ir();
  llvm::Function *fn = ir.GetInsertBlock()->getParent();
  llvm::AllocaInst *&key = array_keys_[fn];
  if (!key) {  // no lifetime markers: the slot serves the whole function
    llvm::IRBuilder<> entry(&fn->getEntryBlock(), fn->getEntryBlock().begin());
    key = entry.CreateAlloca(ir.getInt32Ty(), nullptr, "array_key");
    key->setAlignment(llvm::Align(8));
  }
  ir.CreateStore(ir.getInt32(index), key);
  llvm::Value *element = lookup(map(map_name), key);
  llvm::BasicBlock *missing = block("no_element");
  llvm::BasicBlock *found = block("element");
  ir.CreateCondBr(ir.CreateIsNull(element), missing, found);
  ir.SetInsertPoint(missing);
  ir.CreateRet(llvm::Constant::getNullValue(ir.GetInsertBlock()->getParent()->getReturnType()));
  ir.SetInsertPoint(found);
  return element;
}

void MapAccess::begin_program() { globals_base_ = array_element_or_return(Layout::kGlobalsMap, 0); }

llvm::Value *MapAccess::walk_budget(bool interrupting) {
  return array_element_or_return(kWalkBudgetMap, interrupting ? 1 : 0);
}

llvm::Value *MapAccess::global_ptr(uint32_t offset) {
  return mb_.ir().CreateConstInBoundsGEP1_64(mb_.ir().getInt8Ty(), globals_base_, offset);
}

void MapAccess::atomic_add(llvm::Value *ptr, llvm::Value *delta) {
  mb_.ir().CreateAtomicRMW(llvm::AtomicRMWInst::Add, ptr, delta, llvm::MaybeAlign(8),
                           llvm::AtomicOrdering::Monotonic);
}

void MapAccess::count_overflow(const GlobalLayout &g) {
  atomic_add(global_ptr(g.overflow_offset), mb_.ir().getInt64(1));
}

llvm::Value *MapAccess::lookup(llvm::GlobalVariable *map, llvm::Value *key) {
  auto &ir = mb_.ir();
  return mb_.call_helper(Helper::MapLookupElem, ir.getPtrTy(), {map, key});
}

llvm::Value *MapAccess::update(llvm::GlobalVariable *map, llvm::Value *key, llvm::Value *value,
                               uint64_t flags) {
  auto &ir = mb_.ir();
  return mb_.call_helper(Helper::MapUpdateElem, ir.getInt64Ty(), {map, key, value, ir.getInt64(flags)});
}

void MapAccess::remove(llvm::GlobalVariable *map, llvm::Value *key) {
  mb_.call_helper(Helper::MapDeleteElem, mb_.ir().getInt64Ty(), {map, key});
}

llvm::Value *MapAccess::read_long(const GlobalLayout &g, llvm::Value *key) {
  auto &ir = mb_.ir();
  llvm::Value *element = lookup(map(g.map_names.at(0)), key);
  llvm::BasicBlock *from = ir.GetInsertBlock();
  llvm::BasicBlock *present = block("elem_present");
  llvm::BasicBlock *done = block("elem_read");
  ir.CreateCondBr(ir.CreateIsNull(element), done, present);
  ir.SetInsertPoint(present);
  llvm::Value *loaded = ir.CreateAlignedLoad(ir.getInt64Ty(), element, llvm::Align(8));
  ir.CreateBr(done);
  ir.SetInsertPoint(done);
  llvm::PHINode *value = ir.CreatePHI(ir.getInt64Ty(), 2);
  value->addIncoming(ir.getInt64(0), from);
  value->addIncoming(loaded, present);
  return value;
}

llvm::Value *MapAccess::read_bytes(const GlobalLayout &g, llvm::Value *key, llvm::Value *empty) {
  auto &ir = mb_.ir();
  llvm::Value *element = lookup(map(g.map_names.at(0)), key);
  return ir.CreateSelect(ir.CreateIsNull(element), empty, element);
}

void MapAccess::write(const GlobalLayout &g, llvm::Value *key, llvm::Value *value) {
  auto &ir = mb_.ir();
  llvm::Value *result = update(map(g.map_names.at(0)), key, value, kUpdateAny);
  llvm::BasicBlock *failed = block("update_failed");
  llvm::BasicBlock *done = block("updated");
  ir.CreateCondBr(ir.CreateICmpNE(result, ir.getInt64(0)), failed, done);
  ir.SetInsertPoint(failed);
  count_overflow(g);
  ir.CreateBr(done);
  ir.SetInsertPoint(done);
}

// Every "add to an element" below goes through this, so nothing is lost to
// another CPU: a present element gets `on_present`; a missing one is inserted
// with BPF_NOEXIST by `insert_missing`, and if another CPU inserted it first
// (EEXIST) it is looked up again and gets `on_present` after all. A full map
// counts an overflow of `g`. `insert_missing` returns the update's result and
// whether the inserted element still needs `on_present` (it was a zeroed
// placeholder); it may branch to the `map_full` block it is given.
void MapAccess::upsert(const GlobalLayout &g, llvm::GlobalVariable *m, llvm::Value *key,
                       const InsertMissing &insert_missing, const std::function<void(llvm::Value *)> &on_present) {
  auto &ir = mb_.ir();
  llvm::BasicBlock *present = block("present");
  llvm::BasicBlock *missing = block("missing");
  llvm::BasicBlock *not_inserted = block("not_inserted");
  llvm::BasicBlock *retry = block("lookup_again");
  llvm::BasicBlock *map_full = block("map_full");
  llvm::BasicBlock *done = block("upserted");

  llvm::Value *element = lookup(m, key);
  llvm::BasicBlock *lookup_block = ir.GetInsertBlock();
  ir.CreateCondBr(ir.CreateIsNull(element), missing, present);

  ir.SetInsertPoint(missing);
  auto [result, apply_after_insert] = insert_missing(map_full);
  ir.CreateCondBr(ir.CreateICmpEQ(result, ir.getInt64(0)), apply_after_insert ? retry : done, not_inserted);
  ir.SetInsertPoint(not_inserted);
  ir.CreateCondBr(ir.CreateICmpEQ(result, ir.getInt64(-kEExist)), retry, map_full);

  ir.SetInsertPoint(retry);
  llvm::Value *again = lookup(m, key);
  llvm::BasicBlock *retry_block = ir.GetInsertBlock();
  ir.CreateCondBr(ir.CreateIsNull(again), map_full, present);

  ir.SetInsertPoint(present);
  llvm::PHINode *target = ir.CreatePHI(ir.getPtrTy(), 2);
  target->addIncoming(element, lookup_block);
  target->addIncoming(again, retry_block);
  on_present(target);
  ir.CreateBr(done);

  ir.SetInsertPoint(map_full);
  count_overflow(g);
  ir.CreateBr(done);

  ir.SetInsertPoint(done);
}

// Present: atomic fetch-add. Missing: the delta becomes the element.
llvm::Value *MapAccess::add_to_element(const GlobalLayout &g, llvm::Value *key, llvm::Value *delta) {
  auto &ir = mb_.ir();
  llvm::GlobalVariable *m = map(g.map_names.at(0));
  llvm::AllocaInst *new_value = mb_.entry_alloca(ir.getInt64Ty(), "new_value", false);
  upsert(
      g, m, key,
      [&](llvm::BasicBlock *) {
        ir.CreateStore(delta, new_value);
        return std::pair{update(m, key, new_value, kUpdateNoExist), false};
      },
      [&](llvm::Value *element) {
        llvm::Value *old = ir.CreateAtomicRMW(llvm::AtomicRMWInst::Add, element, delta, llvm::MaybeAlign(8),
                                              llvm::AtomicOrdering::Monotonic);
        ir.CreateStore(ir.CreateAdd(old, delta), new_value);
      });
  return ir.CreateLoad(ir.getInt64Ty(), new_value);
}

void MapAccess::stats_add(const GlobalLayout &g, llvm::Value *key, llvm::Value *value) {
  auto &ir = mb_.ir();
  if (!g.double_buffered) {
    stats_add_to_map(g, map(g.map_names.at(0)), key, value);
    return;
  }
  // The map pointer of a helper call must be a constant for the verifier, so
  // the whole update sequence is emitted once per buffer.
  llvm::Value *generation = ir.CreateAlignedLoad(ir.getInt64Ty(), global_ptr(g.generation_offset),
                                                 llvm::Align(8), true, "generation");
  llvm::BasicBlock *buffer0 = block("stats_buffer0");
  llvm::BasicBlock *buffer1 = block("stats_buffer1");
  llvm::BasicBlock *done = block("stats_done");
  ir.CreateCondBr(ir.CreateICmpEQ(ir.CreateAnd(generation, 1), ir.getInt64(0)), buffer0, buffer1);
  ir.SetInsertPoint(buffer0);
  stats_add_to_map(g, map(g.map_names.at(0)), key, value);
  ir.CreateBr(done);
  ir.SetInsertPoint(buffer1);
  stats_add_to_map(g, map(g.map_names.at(1)), key, value);
  ir.CreateBr(done);
  ir.SetInsertPoint(done);
}

// Folds `value` into one CPU's element. An element inserted with zeros has
// count 0, so min/max and the variance state start from the value then.
void MapAccess::stats_accumulate(const GlobalLayout &g, llvm::Value *stats, llvm::Value *value) {
  auto &ir = mb_.ir();
  auto *i64 = ir.getInt64Ty();
  auto field = [&](size_t offset) { return ir.CreateConstInBoundsGEP1_64(ir.getInt8Ty(), stats, offset); };
  auto load = [&](size_t offset) { return ir.CreateAlignedLoad(i64, field(offset), llvm::Align(8)); };
  auto store = [&](llvm::Value *v, size_t offset) { ir.CreateAlignedStore(v, field(offset), llvm::Align(8)); };
  if (g.histogram.buckets) atomic_add(histogram_bucket(g, stats, value), ir.getInt64(1));

  // count/sum are atomic; the rest is per CPU: only a nested program on this
  // CPU could race, as for the other fields.
  llvm::Value *old_count = ir.CreateAtomicRMW(llvm::AtomicRMWInst::Add, field(offsetof(StatsValue, count)),
                                              ir.getInt64(1), llvm::MaybeAlign(8), llvm::AtomicOrdering::Monotonic);
  atomic_add(field(offsetof(StatsValue, sum)), value);
  llvm::Value *first = ir.CreateICmpEQ(old_count, ir.getInt64(0));
  llvm::Value *min = load(offsetof(StatsValue, min));
  store(ir.CreateSelect(ir.CreateOr(first, ir.CreateICmpSLT(value, min)), value, min), offsetof(StatsValue, min));
  llvm::Value *max = load(offsetof(StatsValue, max));
  store(ir.CreateSelect(ir.CreateOr(first, ir.CreateICmpSGT(value, max)), value, max), offsetof(StatsValue, max));
  llvm::Value *sq = load(offsetof(StatsValue, sum_sq));
  store(ir.CreateAdd(sq, ir.CreateMul(value, value)), offsetof(StatsValue, sum_sq));
  if (g.tracks_variance) accumulate_variance(g, stats, value, old_count);
}

// stap's per-CPU Welford step (runtime/maps.cpp, stats_observe), with
// signed division done on magnitudes: the BPF CPU version used has no sdiv.
void MapAccess::accumulate_variance(const GlobalLayout &g, llvm::Value *stats, llvm::Value *value,
                                    llvm::Value *old_count) {
  auto &ir = mb_.ir();
  auto *i64 = ir.getInt64Ty();
  auto field = [&](size_t offset) { return ir.CreateConstInBoundsGEP1_64(ir.getInt8Ty(), stats, offset); };
  auto load = [&](size_t offset) { return ir.CreateAlignedLoad(i64, field(offset), llvm::Align(8)); };
  auto store = [&](llvm::Value *v, size_t offset) { ir.CreateAlignedStore(v, field(offset), llvm::Align(8)); };
  auto signed_div = [&](llvm::Value *n, llvm::Value *d) {  // d > 0
    llvm::Value *negative = ir.CreateICmpSLT(n, ir.getInt64(0));
    llvm::Value *magnitude = ir.CreateSelect(negative, ir.CreateNeg(n), n);
    llvm::Value *q = ir.CreateUDiv(magnitude, d);
    return ir.CreateSelect(negative, ir.CreateNeg(q), q);
  };
  llvm::Value *shifted = ir.CreateShl(value, ir.getInt64(static_cast<uint64_t>(g.variance_shift) & 63));
  llvm::Value *first = ir.CreateICmpEQ(old_count, ir.getInt64(0));
  llvm::BasicBlock *start = block("variance_first");
  llvm::BasicBlock *update = block("variance_update");
  llvm::BasicBlock *done = block("variance_done");
  ir.CreateCondBr(first, start, update);

  ir.SetInsertPoint(start);
  store(shifted, offsetof(StatsValue, avg_s));
  store(ir.getInt64(0), offsetof(StatsValue, m2));
  ir.CreateBr(done);

  ir.SetInsertPoint(update);
  llvm::Value *avg = load(offsetof(StatsValue, avg_s));
  // stap keeps the difference in an `int`; the truncation is part of its result.
  llvm::Value *delta = ir.CreateSExt(ir.CreateTrunc(ir.CreateSub(shifted, avg), ir.getInt32Ty()), i64);
  llvm::Value *count = ir.CreateAdd(old_count, ir.getInt64(1));
  llvm::Value *new_avg = ir.CreateAdd(avg, signed_div(delta, count));
  store(new_avg, offsetof(StatsValue, avg_s));
  llvm::Value *m2 = ir.CreateAdd(load(offsetof(StatsValue, m2)), ir.CreateMul(delta, ir.CreateSub(shifted, new_avg)));
  store(m2, offsetof(StatsValue, m2));
  store(signed_div(m2, old_count), offsetof(StatsValue, variance_s));
  ir.CreateBr(done);

  ir.SetInsertPoint(done);
}

// The address of the bucket `value` falls in: the same computation as
// HistogramSpec::bucket_of, without loops (log2 by a fixed binary search).
llvm::Value *MapAccess::histogram_bucket(const GlobalLayout &g, llvm::Value *stats, llvm::Value *value) {
  auto &ir = mb_.ir();
  const HistogramSpec &h = g.histogram;
  llvm::Value *bucket;
  if (h.kind == HistogramSpec::Kind::Log) {
    llvm::Value *negative = ir.CreateICmpSLT(value, ir.getInt64(0));
    llvm::Value *x = ir.CreateSelect(negative, ir.CreateNeg(value), value);
    llvm::Value *log2 = ir.getInt64(0);
    for (uint64_t step : {32, 16, 8, 4, 2, 1}) {
      llvm::Value *high = ir.CreateLShr(x, step);
      llvm::Value *has_high = ir.CreateICmpNE(high, ir.getInt64(0));
      x = ir.CreateSelect(has_high, high, x);
      log2 = ir.CreateAdd(log2, ir.CreateSelect(has_high, ir.getInt64(step), ir.getInt64(0)));
    }
    llvm::Value *bits = ir.CreateAdd(log2, ir.getInt64(1));
    llvm::Value *zero = ir.getInt64(HistogramSpec::kLogZeroBucket);
    llvm::Value *above = ir.CreateAdd(zero, bits);
    above = ir.CreateSelect(ir.CreateICmpUGT(above, ir.getInt64(HistogramSpec::kLogBuckets - 1)),
                            ir.getInt64(HistogramSpec::kLogBuckets - 1), above);
    bucket = ir.CreateSelect(negative, ir.CreateSub(zero, bits), above);
    bucket = ir.CreateSelect(ir.CreateICmpEQ(value, ir.getInt64(0)), zero, bucket);
  } else {
    llvm::Value *below = ir.CreateICmpSLT(value, ir.getInt64(h.low));
    llvm::Value *index = ir.CreateAdd(ir.CreateUDiv(ir.CreateSub(value, ir.getInt64(h.low)), ir.getInt64(h.width)),
                                      ir.getInt64(1));
    llvm::Value *last = ir.getInt64(h.buckets - 1);
    index = ir.CreateSelect(ir.CreateICmpUGT(index, last), last, index);
    bucket = ir.CreateSelect(below, ir.getInt64(0), index);
  }
  // The mask keeps the offset provably inside the value for the verifier.
  bucket = ir.CreateAnd(bucket, ir.getInt64(127));
  llvm::Value *offset = ir.CreateAdd(ir.CreateShl(bucket, 3), ir.getInt64(sizeof(StatsValue)));
  return ir.CreateInBoundsGEP(ir.getInt8Ty(), stats, offset);
}

void MapAccess::stats_add_to_map(const GlobalLayout &g, llvm::GlobalVariable *m, llvm::Value *key,
                                 llvm::Value *value) {
  auto &ir = mb_.ir();
  auto insert_missing = [&](llvm::BasicBlock *map_full) -> std::pair<llvm::Value *, bool> {
    if (g.histogram.buckets) {
      // Insert zeros, then count the observation like any other.
      llvm::AllocaInst *zero_key = mb_.entry_alloca(ir.getInt32Ty(), "zero_key", false);
      ir.CreateStore(ir.getInt32(0), zero_key);
      llvm::Value *zeros = lookup(map(kZeroValueMap), zero_key);
      llvm::BasicBlock *have_zeros = block("stats_have_zeros");
      ir.CreateCondBr(ir.CreateIsNull(zeros), map_full, have_zeros);
      ir.SetInsertPoint(have_zeros);
      return {update(m, key, zeros, kUpdateNoExist), true};
    }
    auto *stats_type = llvm::ArrayType::get(ir.getInt64Ty(), sizeof(StatsValue) / 8);
    llvm::AllocaInst *initial = mb_.entry_alloca(stats_type, "stats_init", false);
    llvm::Value *shifted = ir.CreateShl(value, ir.getInt64(static_cast<uint64_t>(g.variance_shift) & 63));
    llvm::Value *initial_fields[] = {ir.getInt64(1), value, value, value, ir.CreateMul(value, value),
                                     shifted, ir.getInt64(0), ir.getInt64(0)};
    static_assert(sizeof(StatsValue) / 8 == 8, "initial_fields lists every StatsValue field");
    for (unsigned i = 0; i < 8; ++i)
      ir.CreateAlignedStore(initial_fields[i], ir.CreateConstInBoundsGEP2_64(stats_type, initial, 0, i),
                            llvm::Align(8));
    return {update(m, key, initial, kUpdateNoExist), false};
  };
  upsert(g, m, key, insert_missing, [&](llvm::Value *stats) { stats_accumulate(g, stats, value); });
}

}  // namespace ntap::bpf
