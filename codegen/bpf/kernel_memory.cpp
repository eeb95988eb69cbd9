#include "codegen/bpf/kernel_memory.h"

namespace ntap::bpf {

using namespace ast;

namespace {

// bpf_probe_read_kernel_str (Linux 5.5+).
constexpr Helper kProbeReadKernelStr = static_cast<Helper>(115);

// stap's messages (its runtime's deref fault and kernel_string's own).
constexpr const char *kReadFault = "kernel read fault at %p [man error::fault] near identifier '";
constexpr const char *kStringFault = "kernel string copy fault at %p [man error::fault] near identifier '";

// Branches to a run-time error naming `address` when the helper's `status`
// is negative (the read faulted).
void fail_on_fault(ProbeLowering &p, const CallExpr &call, llvm::Value *status, llvm::Value *address,
                   const char *message) {
  auto &b = p.ir();
  llvm::BasicBlock *faulted = p.block("kernel_read_fault");
  llvm::BasicBlock *ok = p.block("kernel_read_ok");
  b.CreateCondBr(b.CreateICmpSLT(status, p.i64(0)), faulted, ok);
  b.SetInsertPoint(faulted);
  p.fail_at_address(&call, call.loc, std::string(message) + call.name + "'", address);
  b.SetInsertPoint(ok);
}

// Copies the NUL-terminated string at `address`, at most `size` bytes with
// its NUL (size: an i32 in 1..max_string_len the verifier can bound).
llvm::Value *read_string(ProbeLowering &p, const CallExpr &call, llvm::Value *address, llvm::Value *size) {
  auto &b = p.ir();
  // In the string scratch area, like every string kernel probes make: a
  // MAXSTRINGLEN buffer may not fit the 512-byte BPF stack.
  llvm::Value *buffer = p.scratch_string(call.loc);
  llvm::Value *status = p.state().mb.call_helper(kProbeReadKernelStr, b.getInt64Ty(),
                                                 {buffer, size, b.CreateIntToPtr(address, b.getPtrTy())});
  fail_on_fault(p, call, status, address, kStringFault);
  return buffer;
}

}  // namespace

// ppid(), pexecname(), euid(), egid(): the current task_struct, through
// the path elaboration found in the kernel's BTF (ast::Program::task_paths).
llvm::Value *task_field(ProbeLowering &p, const CallExpr &call) {
  const auto &paths = p.state().program.task_paths;
  auto path = paths.find(call.name);
  if (path == paths.end())
    unsupported(call.loc, call.name + "() in a kernel probe reads the current task_struct, which this kernel's BTF "
                                      "does not describe as ntap expects");
  llvm::Value *task = p.state().mb.call_helper(Helper::GetCurrentTask, p.ir().getInt64Ty(), {});
  llvm::Value *v = p.follow_steps(task, path->second, nullptr, call.loc, call.name + "()");
  if (call.name == "pexecname") return read_string(p, call, v, p.ir().getInt32(p.max_string_len()));
  return v;
}

void ProbeLowering::run_only_in_executable() {
  const auto &paths = state_.program.task_paths;
  auto inode = paths.find("exe_inode");
  auto dev = paths.find("exe_dev");
  if (inode == paths.end() || dev == paths.end())
    unsupported(probe_.loc, ".process(\"PATH\") reads the current task's executable file, which this kernel's BTF "
                            "does not describe as ntap expects (task_struct.mm->exe_file->f_inode)");
  auto &b = ir();
  // Kernel threads have no mm: the reads of a NULL chain give 0, no match.
  llvm::Value *task = state_.mb.call_helper(Helper::GetCurrentTask, b.getInt64Ty(), {});
  llvm::Value *task_inode = follow_steps(task, inode->second, nullptr, probe_.loc, "the executable's inode");
  llvm::Value *task_dev = follow_steps(task, dev->second, nullptr, probe_.loc, "the executable's device");
  llvm::Value *match = b.CreateAnd(b.CreateICmpEQ(task_inode, i64(static_cast<int64_t>(resolved_.exe_inode))),
                                   b.CreateICmpEQ(task_dev, i64(static_cast<int64_t>(resolved_.exe_dev))));
  llvm::BasicBlock *other = block("other_executable");
  llvm::BasicBlock *run = block("this_executable");
  b.CreateCondBr(match, run, other);
  b.SetInsertPoint(other);
  b.CreateRet(b.getInt32(0));
  b.SetInsertPoint(run);
}

void ProbeLowering::run_only_in_new_process() {
  auto &b = ir();
  // sys_exit's second argument: the call's result, 0 in the child.
  llvm::Value *result_ptr = b.CreateConstInBoundsGEP1_64(b.getInt64Ty(), program_fn_->getArg(0), 1);
  llvm::Value *result = b.CreateAlignedLoad(b.getInt64Ty(), result_ptr, llvm::Align(8), "fork_result");
  llvm::Value *ids = state_.mb.call_helper(Helper::GetCurrentPidTgid, b.getInt64Ty(), {});
  llvm::Value *leader = b.CreateICmpEQ(b.CreateLShr(ids, 32), b.CreateAnd(ids, i64(0xffffffff)));
  llvm::BasicBlock *other = block("not_a_new_process");
  llvm::BasicBlock *run = block("new_process");
  b.CreateCondBr(b.CreateAnd(b.CreateICmpEQ(result, i64(0)), leader), run, other);
  b.SetInsertPoint(other);
  b.CreateRet(b.getInt32(0));
  b.SetInsertPoint(run);
}

void ProbeLowering::run_only_in_process(int64_t pid) {
  auto &b = ir();
  llvm::Value *ids = state_.mb.call_helper(Helper::GetCurrentPidTgid, b.getInt64Ty(), {});
  // target(): the pid the runtime wrote before attaching.
  llvm::Value *wanted = pid == ResolvedProbe::kTargetPid
                            ? b.CreateAlignedLoad(b.getInt64Ty(), state_.maps.global_ptr(state_.layout.target_pid_offset),
                                                  llvm::Align(8), true)
                            : i64(pid);
  llvm::BasicBlock *other = block("other_process");
  llvm::BasicBlock *run = block("this_process");
  b.CreateCondBr(b.CreateICmpEQ(b.CreateLShr(ids, 32), wanted), run, other);
  b.SetInsertPoint(other);
  b.CreateRet(b.getInt32(0));
  b.SetInsertPoint(run);
}

void ProbeLowering::run_once_in_running_process() {
  auto &b = ir();
  llvm::BasicBlock *other = block("not_running_at_start");
  llvm::BasicBlock *lookup = block("running_at_start_left");
  llvm::BasicBlock *run = block("running_at_start");
  // Once every listed process has begun, a system call costs one load here.
  llvm::Value *left_ptr = state_.maps.global_ptr(state_.layout.running_at_start_offset);
  llvm::Value *left = b.CreateAlignedLoad(b.getInt64Ty(), left_ptr, llvm::Align(8), true);
  b.CreateCondBr(b.CreateICmpEQ(left, i64(0)), other, lookup);
  b.SetInsertPoint(lookup);
  llvm::Value *ids = state_.mb.call_helper(Helper::GetCurrentPidTgid, b.getInt64Ty(), {});
  llvm::Value *key = state_.mb.entry_alloca(b.getInt64Ty(), "running_at_start_key", false);
  b.CreateAlignedStore(b.CreateOr(i64(static_cast<int64_t>(Layout::running_at_start_key(probe_.id, 0))),
                                  b.CreateLShr(ids, 32)),
                       key, llvm::Align(8));
  // Deleting is taking: of two threads racing, one gets the key.
  llvm::Value *taken = state_.mb.call_helper(
      Helper::MapDeleteElem, b.getInt64Ty(), {state_.maps.map(Layout::kRunningAtStartMap), key});
  b.CreateCondBr(b.CreateICmpEQ(taken, i64(0)), run, other);
  b.SetInsertPoint(other);
  b.CreateRet(b.getInt32(0));
  b.SetInsertPoint(run);
  state_.maps.atomic_add(left_ptr, i64(-1));
}

// kernel_string(addr): the string at addr, cut at MAXSTRINGLEN - 1 bytes.
llvm::Value *kernel_string(ProbeLowering &p, const CallExpr &call) {
  llvm::Value *address = p.long_value(*call.args[0]);
  return read_string(p, call, address, p.ir().getInt32(p.max_string_len()));
}

// kernel_string_n(addr, n): at most n bytes of it (stap clamps n + 1 to
// 1..MAXSTRINGLEN, counting the NUL).
llvm::Value *kernel_string_n(ProbeLowering &p, const CallExpr &call) {
  auto &b = p.ir();
  llvm::Value *address = p.long_value(*call.args[0]);
  llvm::Value *wanted = b.CreateAdd(p.long_value(*call.args[1]), p.i64(1));
  llvm::Value *at_least_one = b.CreateSelect(b.CreateICmpSLT(wanted, p.i64(1)), p.i64(1), wanted);
  llvm::Value *limit = p.i64(p.max_string_len());
  llvm::Value *size = b.CreateSelect(b.CreateICmpSGT(at_least_one, limit), limit, at_least_one);
  return read_string(p, call, address, b.CreateTrunc(size, b.getInt32Ty()));
}

// kernel_long/int/short/char/pointer(addr): the number at addr, sign- or
// zero-extended as the C type is (char is unsigned: the kernel is built with
// -funsigned-char).
template <uint32_t Size, bool Signed>
llvm::Value *kernel_number(ProbeLowering &p, const CallExpr &call) {
  auto &b = p.ir();
  llvm::Value *address = p.long_value(*call.args[0]);
  llvm::AllocaInst *slot = p.state().mb.entry_alloca(b.getInt64Ty(), "kernel_number", false);
  b.CreateAlignedStore(p.i64(0), slot, llvm::Align(8));
  llvm::Value *status = p.state().mb.call_helper(Helper::ProbeReadKernel, b.getInt64Ty(),
                                                 {slot, b.getInt32(Size), b.CreateIntToPtr(address, b.getPtrTy())});
  fail_on_fault(p, call, status, address, kReadFault);
  llvm::Value *narrow = b.CreateAlignedLoad(b.getIntNTy(Size * 8), slot, llvm::Align(8));
  return Signed ? b.CreateSExt(narrow, b.getInt64Ty()) : b.CreateZExt(narrow, b.getInt64Ty());
}

template llvm::Value *kernel_number<8, true>(ProbeLowering &, const CallExpr &);
template llvm::Value *kernel_number<8, false>(ProbeLowering &, const CallExpr &);
template llvm::Value *kernel_number<4, true>(ProbeLowering &, const CallExpr &);
template llvm::Value *kernel_number<2, true>(ProbeLowering &, const CallExpr &);
template llvm::Value *kernel_number<1, false>(ProbeLowering &, const CallExpr &);

}  // namespace ntap::bpf
