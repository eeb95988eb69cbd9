// The per-CPU frame of a kernel probe (abi/layout.h, Layout::kFramesMap).
//
// BPF programs have 512 bytes of stack, shared with the frames of map-walk
// callbacks: four strings of MAXSTRINGLEN 128 fill it. So string locals,
// string results, string-keyed map keys and strings being built live in a
// per-CPU map element instead, at offsets fixed while lowering.
//
// A program can be interrupted on its CPU by another (a softirq tracepoint by
// a hardirq one, anything by a perf event in NMI context), and a uprobe's
// program, which the kernel runs with migration but not preemption
// disabled, can be preempted by another task's. So there is one frame per
// nesting level, and a per-CPU word holds one bit per level in use: a
// program claims the lowest free level with atomic fetch-or (a level another
// took between two tries is simply skipped) and clears its bit at every
// return. Claims hold whatever order programs finish in, which a depth
// counter does not once preemption lets them finish out of order. A hit
// finding every level in use is counted (reported at exit), never run over
// a frame another program is using.
//
// Programs that need no frame (dropwatch's) pay nothing: the prologue that
// takes a frame is added only when lowering asked for one.
#include <llvm/IR/Instructions.h>

#include "codegen/bpf/lowering.h"

namespace ntap::bpf {

namespace {
uint32_t align8(uint32_t n) { return (n + 7) & ~7u; }
}  // namespace

llvm::Value *ProbeLowering::frame_base() {
  auto &b = ir();
  if (!frame_base_slot_) {
    llvm::IRBuilder<> entry(&program_fn_->getEntryBlock(), program_fn_->getEntryBlock().begin());
    frame_base_slot_ = entry.CreateAlloca(b.getPtrTy(), nullptr, "frame_base");
    frame_base_slot_->setAlignment(llvm::Align(8));
  }
  return b.CreateAlignedLoad(b.getPtrTy(), reach(frame_base_slot_), llvm::Align(8), "frame");
}

llvm::Value *ProbeLowering::frame_buffer(uint32_t size, const char *name, Zero zero) {
  const uint32_t at = state_.layout.scratch_bytes() + frame_top_;
  const uint32_t end = at + align8(size);
  if (end > state_.layout.frame_bytes())
    unsupported(statement_loc_, "this statement needs " + std::to_string(end - state_.layout.scratch_bytes()) +
                                    " bytes for the strings and keys of its kernel probe, more than the " +
                                    std::to_string(state_.layout.frame_bytes() - state_.layout.scratch_bytes()) +
                                    " a probe has (-D MAXSTRINGLEN=N lowers what each string takes)");
  frame_top_ = end - state_.layout.scratch_bytes();
  auto &b = ir();
  llvm::Value *buffer = b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), frame_base(), at, name);
  // A string reads as "" once its first byte is 0; a key is compared whole.
  if (zero != Zero::None) zero_bytes(buffer, zero == Zero::Whole ? size : std::min<uint32_t>(size, 8));
  return buffer;
}

llvm::Value *ProbeLowering::frame_scratch_slot(uint32_t slot) {
  auto &b = ir();
  return b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), frame_base(),
                                      uint64_t(slot) * 2 * state_.layout.options.max_string_len, "scratch");
}

// Inline copies up to this size; the BPF backend refuses to expand some
// past 1 KiB.
constexpr uint32_t kInlineCopyLimit = 512;

void ProbeLowering::copy_bytes(llvm::Value *dst, llvm::Value *src, uint32_t size, llvm::MaybeAlign src_align) {
  auto &b = ir();
  if (size <= kInlineCopyLimit) {
    b.CreateMemCpy(dst, llvm::MaybeAlign(8), src, src_align, size);
    return;
  }
  state_.mb.call_helper(Helper::ProbeReadKernel, b.getInt64Ty(), {dst, b.getInt32(size), src});
}

void ProbeLowering::zero_bytes(llvm::Value *dst, uint32_t size) {
  auto &b = ir();
  if (size <= kInlineCopyLimit) {
    b.CreateMemSet(dst, b.getInt8(0), size, llvm::Align(8));
    return;
  }
  llvm::Value *zeros = state_.mb.rodata_padded_string("", size);
  state_.mb.call_helper(Helper::ProbeReadKernel, b.getInt64Ty(), {dst, b.getInt32(size), zeros});
}

// Runs after the body is lowered: when it used the frame, a prologue before
// the body's entry takes a level and its frame, and every return of the
// program gives the level back.
void ProbeLowering::finish_frame() {
  if (!frame_base_slot_) return;
  auto &b = ir();
  llvm::LLVMContext &context = state_.mb.context();
  llvm::Function *fn = program_fn_;
  llvm::BasicBlock *body = &fn->getEntryBlock();
  std::vector<llvm::ReturnInst *> returns;
  for (llvm::BasicBlock &block : *fn)
    if (auto *ret = llvm::dyn_cast<llvm::ReturnInst>(block.getTerminator())) returns.push_back(ret);

  auto *prologue = llvm::BasicBlock::Create(context, "frame_enter", fn, body);
  // Stack slots stay in the entry block, where the optimiser promotes them.
  for (auto it = body->begin(); it != body->end();) {
    llvm::Instruction &inst = *it++;
    if (llvm::isa<llvm::AllocaInst>(inst)) inst.moveBefore(*prologue, prologue->end());
  }
  auto new_block = [&](const char *name) { return llvm::BasicBlock::Create(context, name, fn, body); };
  llvm::Value *zero_return = llvm::Constant::getNullValue(fn->getReturnType());
  b.SetInsertPoint(prologue);
  llvm::AllocaInst *key = b.CreateAlloca(b.getInt32Ty(), nullptr, "frame_key");
  key->setAlignment(llvm::Align(4));
  b.CreateStore(b.getInt32(0), key);
  llvm::Value *depth = state_.maps.lookup(state_.maps.map(Layout::kNestingMap), key);
  llvm::BasicBlock *no_depth = new_block("no_depth");
  llvm::BasicBlock *have_depth = new_block("have_depth");
  b.CreateCondBr(b.CreateIsNull(depth), no_depth, have_depth);
  b.SetInsertPoint(no_depth);
  b.CreateRet(zero_return);

  b.SetInsertPoint(have_depth);
  llvm::BasicBlock *too_deep = new_block("nested_too_deep");
  llvm::BasicBlock *enter = new_block("enter_level");
  llvm::PHINode *claimed = nullptr;
  {
    // try_0 .. try_3: the first whose bit was clear before the fetch-or.
    std::vector<std::pair<llvm::BasicBlock *, uint64_t>> got;
    for (uint32_t i = 0; i < Layout::kNestingLevels; ++i) {
      const uint64_t bit = uint64_t{1} << i;
      llvm::Value *old = b.CreateAtomicRMW(llvm::AtomicRMWInst::Or, depth, b.getInt64(bit), llvm::MaybeAlign(8),
                                           llvm::AtomicOrdering::SequentiallyConsistent);
      llvm::BasicBlock *next = i + 1 < Layout::kNestingLevels ? new_block("try_next_level") : too_deep;
      got.emplace_back(b.GetInsertBlock(), i);
      b.CreateCondBr(b.CreateICmpEQ(b.CreateAnd(old, b.getInt64(bit)), b.getInt64(0)), enter, next);
      b.SetInsertPoint(next);
    }
    b.SetInsertPoint(enter);
    claimed = b.CreatePHI(b.getInt64Ty(), static_cast<unsigned>(got.size()), "level");
    for (const auto &[from, level] : got) claimed->addIncoming(b.getInt64(level), from);
  }
  llvm::Value *level = claimed;
  // Gives the level back: clears its bit.
  auto release = [&] {
    llvm::Value *keep = b.CreateXor(b.CreateShl(b.getInt64(1), level), b.getInt64(-1));
    b.CreateAtomicRMW(llvm::AtomicRMWInst::And, depth, keep, llvm::MaybeAlign(8),
                      llvm::AtomicOrdering::SequentiallyConsistent);
  };

  // Counted in "globals" (reported at exit), looked up here since the body's
  // lookup of it comes after the prologue.
  b.SetInsertPoint(too_deep);
  llvm::Value *globals = state_.maps.lookup(state_.maps.map(Layout::kGlobalsMap), key);
  llvm::BasicBlock *count = new_block("count_skipped");
  llvm::BasicBlock *skip = new_block("skip_hit");
  b.CreateCondBr(b.CreateIsNull(globals), skip, count);
  b.SetInsertPoint(count);
  state_.maps.atomic_add(b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), globals, state_.layout.nesting_skipped_offset),
                         b.getInt64(1));
  b.CreateBr(skip);
  b.SetInsertPoint(skip);
  b.CreateRet(zero_return);

  b.SetInsertPoint(enter);
  if (grouped_) {  // abi/record.h: 1 + cpu * levels + level
    llvm::Value *cpu = state_.mb.call_helper(Helper::GetSmpProcessorId, b.getInt64Ty(), {});
    llvm::Value *group = b.CreateAdd(b.CreateMul(cpu, b.getInt64(Layout::kNestingLevels)), level);
    b.CreateAlignedStore(b.CreateAdd(group, b.getInt64(1)), group_slot_, llvm::Align(8));
  }
  b.CreateStore(b.CreateTrunc(level, b.getInt32Ty()), key);
  llvm::Value *frame = state_.maps.lookup(state_.maps.map(Layout::kFramesMap), key);
  llvm::BasicBlock *no_frame = new_block("no_frame");
  llvm::BasicBlock *have_frame = new_block("have_frame");
  b.CreateCondBr(b.CreateIsNull(frame), no_frame, have_frame);
  b.SetInsertPoint(no_frame);
  release();
  b.CreateRet(zero_return);
  b.SetInsertPoint(have_frame);
  b.CreateAlignedStore(frame, frame_base_slot_, llvm::Align(8));
  b.CreateBr(body);

  if (!grouped_) {
    for (llvm::ReturnInst *ret : returns) {
      b.SetInsertPoint(ret);
      release();
    }
    return;
  }
  // Every return of a grouped program goes through one exit that ends the
  // hit's group (programs return 0 wherever they leave).
  llvm::BasicBlock *leave = llvm::BasicBlock::Create(context, "leave", fn);
  for (llvm::ReturnInst *ret : returns) {
    b.SetInsertPoint(ret);
    b.CreateBr(leave);
    ret->eraseFromParent();
  }
  b.SetInsertPoint(leave);
  release();
  end_hit(zero_return);
}

// In `leave`: a HitEnd record when the hit printed; a full ring buffer
// counts it lost, as any record.
void ProbeLowering::end_hit(llvm::Value *zero_return) {
  auto &b = ir();
  llvm::LLVMContext &context = state_.mb.context();
  llvm::Function *fn = program_fn_;
  auto new_block = [&](const char *name) { return llvm::BasicBlock::Create(context, name, fn); };
  llvm::BasicBlock *send = new_block("end_hit");
  llvm::BasicBlock *lost = new_block("end_hit_lost");
  llvm::BasicBlock *reserved = new_block("end_hit_reserved");
  llvm::BasicBlock *done = new_block("end_hit_done");
  llvm::Value *printed = b.CreateAlignedLoad(b.getInt64Ty(), printed_slot_, llvm::Align(8));
  b.CreateCondBr(b.CreateICmpNE(printed, b.getInt64(0)), send, done);

  b.SetInsertPoint(send);
  llvm::Value *record = state_.mb.call_helper(Helper::RingbufReserve, b.getPtrTy(),
                                              {state_.maps.events(), b.getInt64(sizeof(RecordHeader)), b.getInt64(0)});
  b.CreateCondBr(b.CreateIsNull(record), lost, reserved);

  b.SetInsertPoint(lost);
  llvm::AllocaInst *key = state_.mb.entry_alloca(b.getInt32Ty(), "globals_key", false);
  b.CreateStore(b.getInt32(0), key);
  llvm::Value *globals = state_.maps.lookup(state_.maps.map(Layout::kGlobalsMap), key);
  llvm::BasicBlock *count = new_block("end_hit_count_lost");
  b.CreateCondBr(b.CreateIsNull(globals), done, count);
  b.SetInsertPoint(count);
  state_.maps.atomic_add(b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), globals, state_.layout.ringbuf_lost_offset),
                         b.getInt64(1));
  b.CreateBr(done);

  b.SetInsertPoint(reserved);
  b.CreateAlignedStore(record_header_word(RecordKind::HitEnd), record, llvm::Align(8));
  b.CreateAlignedStore(b.getInt32(0), b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), record, 4), llvm::Align(4));
  state_.mb.call_helper(Helper::RingbufSubmit, b.getVoidTy(), {record, b.getInt64(0)});
  b.CreateBr(done);

  b.SetInsertPoint(done);
  b.CreateRet(zero_return);
}

}  // namespace ntap::bpf
