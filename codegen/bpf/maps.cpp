#include "codegen/bpf/maps.h"

#include <cstddef>
#include <stdexcept>

namespace ntap::bpf {
namespace {
constexpr int64_t kEExist = 17;  // errno of an insert with BPF_NOEXIST racing another CPU
}  // namespace

MapAccess::MapAccess(ModuleBuilder &mb, const Layout &layout) : mb_(mb), layout_(layout) {
  MapSpec globals{Layout::kGlobalsMap, kMapTypeArray, 1, kMapFlagMmapable, 4,
                  layout.globals_size ? layout.globals_size : 8, true};
  maps_[globals.name] = mb_.declare_map(globals);
  MapSpec events{Layout::kEventsMap, kMapTypeRingbuf, layout.options.ringbuf_size, 0, 0, 0, false};
  maps_[events.name] = mb_.declare_map(events);

  for (const GlobalLayout &g : layout.globals) {
    if (g.placement != Placement::Kernel || !g.is_map) continue;
    for (const std::string &name : g.map_names) {
      MapSpec spec{name, g.per_cpu ? kMapTypePercpuHash : kMapTypeHash, g.max_entries, 0,
                   g.key_size, g.value_size, false};
      maps_[name] = mb_.declare_map(spec);
    }
  }
}

llvm::GlobalVariable *MapAccess::map(const std::string &name) const {
  auto it = maps_.find(name);
  if (it == maps_.end()) throw std::logic_error("layout has no BPF map named " + name);
  return it->second;
}

llvm::BasicBlock *MapAccess::block(const char *name) {
  return llvm::BasicBlock::Create(mb_.context(), name, mb_.ir().GetInsertBlock()->getParent());
}

void MapAccess::begin_program() {
  auto &ir = mb_.ir();
  llvm::AllocaInst *zero_key = mb_.entry_alloca(ir.getInt32Ty(), "globals_key", false);
  ir.CreateStore(ir.getInt32(0), zero_key);
  globals_base_ = lookup(map(Layout::kGlobalsMap), zero_key);
  llvm::BasicBlock *missing = block("no_globals");
  llvm::BasicBlock *body = block("body");
  ir.CreateCondBr(ir.CreateIsNull(globals_base_), missing, body);
  ir.SetInsertPoint(missing);
  ir.CreateRet(ir.getInt32(0));
  ir.SetInsertPoint(body);
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

// Present: atomic fetch-add. Missing: insert with BPF_NOEXIST so a racing
// insert from another CPU is detected (EEXIST) and the delta is added to the
// element that CPU created instead of overwriting it.
llvm::Value *MapAccess::add_to_element(const GlobalLayout &g, llvm::Value *key, llvm::Value *delta) {
  auto &ir = mb_.ir();
  llvm::GlobalVariable *m = map(g.map_names.at(0));
  llvm::AllocaInst *new_value = mb_.entry_alloca(ir.getInt64Ty(), "new_value", false);
  llvm::BasicBlock *present = block("add_present");
  llvm::BasicBlock *missing = block("add_missing");
  llvm::BasicBlock *retry = block("add_retry");
  llvm::BasicBlock *failed = block("add_failed");
  llvm::BasicBlock *done = block("add_done");

  llvm::Value *element = lookup(m, key);
  llvm::BasicBlock *lookup_block = ir.GetInsertBlock();
  ir.CreateCondBr(ir.CreateIsNull(element), missing, present);

  ir.SetInsertPoint(present);
  llvm::PHINode *target = ir.CreatePHI(ir.getPtrTy(), 2);
  target->addIncoming(element, lookup_block);
  llvm::Value *old = ir.CreateAtomicRMW(llvm::AtomicRMWInst::Add, target, delta, llvm::MaybeAlign(8),
                                        llvm::AtomicOrdering::Monotonic);
  ir.CreateStore(ir.CreateAdd(old, delta), new_value);
  ir.CreateBr(done);

  ir.SetInsertPoint(missing);
  ir.CreateStore(delta, new_value);
  llvm::Value *result = update(m, key, new_value, kUpdateNoExist);
  llvm::BasicBlock *check_exist = block("add_check_exist");
  ir.CreateCondBr(ir.CreateICmpEQ(result, ir.getInt64(0)), done, check_exist);
  ir.SetInsertPoint(check_exist);
  ir.CreateCondBr(ir.CreateICmpEQ(result, ir.getInt64(-kEExist)), retry, failed);

  ir.SetInsertPoint(retry);
  llvm::Value *again = lookup(m, key);
  llvm::BasicBlock *retry_block = ir.GetInsertBlock();
  ir.CreateCondBr(ir.CreateIsNull(again), failed, present);
  target->addIncoming(again, retry_block);

  ir.SetInsertPoint(failed);
  count_overflow(g);
  ir.CreateBr(done);

  ir.SetInsertPoint(done);
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

void MapAccess::stats_accumulate(llvm::Value *stats, llvm::Value *value) {
  auto &ir = mb_.ir();
  auto field = [&](size_t offset) { return ir.CreateConstInBoundsGEP1_64(ir.getInt8Ty(), stats, offset); };
  atomic_add(field(offsetof(StatsValue, count)), ir.getInt64(1));
  atomic_add(field(offsetof(StatsValue, sum)), value);
  // min/max/sum_sq are per-CPU: only a nested program on this CPU could race.
  llvm::Value *min_ptr = field(offsetof(StatsValue, min));
  llvm::Value *min = ir.CreateAlignedLoad(ir.getInt64Ty(), min_ptr, llvm::Align(8));
  ir.CreateAlignedStore(ir.CreateSelect(ir.CreateICmpSLT(value, min), value, min), min_ptr, llvm::Align(8));
  llvm::Value *max_ptr = field(offsetof(StatsValue, max));
  llvm::Value *max = ir.CreateAlignedLoad(ir.getInt64Ty(), max_ptr, llvm::Align(8));
  ir.CreateAlignedStore(ir.CreateSelect(ir.CreateICmpSGT(value, max), value, max), max_ptr, llvm::Align(8));
  llvm::Value *sq_ptr = field(offsetof(StatsValue, sum_sq));
  llvm::Value *sq = ir.CreateAlignedLoad(ir.getInt64Ty(), sq_ptr, llvm::Align(8));
  ir.CreateAlignedStore(ir.CreateAdd(sq, ir.CreateMul(value, value)), sq_ptr, llvm::Align(8));
}

void MapAccess::stats_add_to_map(const GlobalLayout &g, llvm::GlobalVariable *m, llvm::Value *key,
                                 llvm::Value *value) {
  auto &ir = mb_.ir();
  llvm::BasicBlock *present = block("stats_present");
  llvm::BasicBlock *missing = block("stats_missing");
  llvm::BasicBlock *check_exist = block("stats_check_exist");
  llvm::BasicBlock *retry = block("stats_retry");
  llvm::BasicBlock *failed = block("stats_failed");
  llvm::BasicBlock *done = block("stats_added");

  llvm::Value *element = lookup(m, key);
  llvm::BasicBlock *lookup_block = ir.GetInsertBlock();
  ir.CreateCondBr(ir.CreateIsNull(element), missing, present);

  ir.SetInsertPoint(missing);
  auto *stats_type = llvm::ArrayType::get(ir.getInt64Ty(), sizeof(StatsValue) / 8);
  llvm::AllocaInst *initial = mb_.entry_alloca(stats_type, "stats_init", false);
  llvm::Value *initial_fields[] = {ir.getInt64(1), value, value, value, ir.CreateMul(value, value)};
  for (unsigned i = 0; i < 5; ++i)
    ir.CreateAlignedStore(initial_fields[i], ir.CreateConstInBoundsGEP2_64(stats_type, initial, 0, i),
                          llvm::Align(8));
  llvm::Value *result = update(m, key, initial, kUpdateNoExist);
  ir.CreateCondBr(ir.CreateICmpEQ(result, ir.getInt64(0)), done, check_exist);

  ir.SetInsertPoint(check_exist);
  ir.CreateCondBr(ir.CreateICmpEQ(result, ir.getInt64(-kEExist)), retry, failed);

  ir.SetInsertPoint(retry);
  llvm::Value *again = lookup(m, key);
  llvm::BasicBlock *retry_block = ir.GetInsertBlock();
  ir.CreateCondBr(ir.CreateIsNull(again), failed, present);

  ir.SetInsertPoint(present);
  llvm::PHINode *stats = ir.CreatePHI(ir.getPtrTy(), 2);
  stats->addIncoming(element, lookup_block);
  stats->addIncoming(again, retry_block);
  stats_accumulate(stats, value);
  ir.CreateBr(done);

  ir.SetInsertPoint(failed);
  count_overflow(g);
  ir.CreateBr(done);

  ir.SetInsertPoint(done);
}

}  // namespace ntap::bpf
