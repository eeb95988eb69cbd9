// Kernel stacks and probe addresses in kernel probes: the values that
// backtrace(), sprint_backtrace(), sprint_stack(backtrace()), probefunc()
// and probemod() carry to user space in an output record, which renders
// them from kallsyms (docs/architecture.md, decision 6); stack(n),
// callers(n) and their user forms carry a stack id and a depth.
#include <string>
#include <string_view>

#include "codegen/bpf/lowering.h"
#include "frontend/builtins.h"

namespace ntap::bpf {

using namespace ast;

namespace {

// struct bpf_perf_event_data starts with the interrupted pt_regs; on x86_64
// `ip` is its 17th u64 (after r15..r8, ax, cx, dx, si, di, orig_ax).
#if defined(__x86_64__)
constexpr int64_t kPerfRegsIpOffset = 16 * 8;
#else
#error "perf probes read pt_regs.ip: give its offset in struct pt_regs for this architecture"
#endif

constexpr int64_t kEExist = 17;  // a different stack holds the bucket
constexpr int64_t kENoMem = 12;  // every entry of the stack map is in use

bool is_perf_probe(const ResolvedProbe &probe) { return probe.kind == ProbeKind::Perf; }

bool is_builtin_call(const Expr &e, std::string_view name) {
  return e.kind == ExprKind::Call && ast::cast<ast::CallExpr>(e).builtin && ast::cast<ast::CallExpr>(e).name == name;
}

bool is_backtrace_call(const Expr &e) { return is_builtin_call(e, "backtrace"); }

// The stack(n) or ustack(n) call whose frame `call` renders: the call
// itself, or the argument of symname()-like renderers of that side's
// addresses. Null otherwise.
const CallExpr *rendered_frame(const CallExpr &call, RenderFn render) {
  if (call.name == "stack" || call.name == "ustack") return &call;
  if (call.args.size() != 1) return nullptr;
  const bool kernel_render = render == RenderFn::Symname || render == RenderFn::Symdata ||
                             render == RenderFn::Symfileline || render == RenderFn::Symfile ||
                             render == RenderFn::Symline;
  const bool user_render = render == RenderFn::Usymname || render == RenderFn::Usymdata;
  if (kernel_render && is_builtin_call(*call.args[0], "stack")) return &ast::cast<CallExpr>(*call.args[0]);
  if (user_render && is_builtin_call(*call.args[0], "ustack")) return &ast::cast<CallExpr>(*call.args[0]);
  return nullptr;
}

}  // namespace

llvm::Value *ProbeLowering::stack_id() {
  auto &b = ir();
  CodegenState &state = state_;
  // Without BPF_F_REUSE_STACKID: a different stack hashing to a bucket in
  // use is refused (-EEXIST) rather than overwriting a stack whose id may
  // still be on its way to user space.
  llvm::Value *id = state.mb.call_helper(Helper::GetStackid, b.getInt64Ty(),
                                         {program_context(), state.maps.map(Layout::kStacksMap), b.getInt64(0)});
  // -EFAULT is no stack to take (a perf sample in user mode): an empty
  // stack, not a lost one.
  llvm::BasicBlock *lost = block("stack_lost");
  llvm::BasicBlock *done = block("stack_done");
  b.CreateCondBr(b.CreateOr(b.CreateICmpEQ(id, i64(-kEExist)), b.CreateICmpEQ(id, i64(-kENoMem))), lost, done);
  b.SetInsertPoint(lost);
  state.maps.atomic_add(state.maps.global_ptr(state.layout.stacks_lost_offset), b.getInt64(1));
  b.CreateBr(done);
  b.SetInsertPoint(done);
  return id;
}

llvm::Value *ProbeLowering::probe_address() {
  if (!is_perf_probe(resolved_)) return i64(0);
  auto &b = ir();
  llvm::Value *at = b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), program_context(), kPerfRegsIpOffset);
  llvm::Value *ip = b.CreateAlignedLoad(b.getInt64Ty(), at, llvm::Align(8), "ip");
  // A sample taken in user mode has a user address: no kernel address then.
  return b.CreateSelect(b.CreateICmpSLT(ip, i64(0)), ip, i64(0));
}

llvm::Value *ProbeLowering::carried_stack_part(const CallExpr &call, RecordArg &carried, llvm::Value *&depth) {
  if (const CallExpr *frame = rendered_frame(call, carried.render)) {
    const bool user = frame->name == "ustack";
    carried.part = user ? StackPart::UserFrame : StackPart::KernelFrame;
    depth = long_value(*frame->args[0]);
    return user ? user_stack_id(frame->loc, frame->name) : stack_id();
  }
  if (call.name == "callers" || call.name == "ucallers") {
    const bool user = call.name == "ucallers";
    carried.render = user ? RenderFn::Ubacktrace : RenderFn::KernelStackHex;
    carried.part = StackPart::Callers;
    depth = long_value(*call.args[0]);
    return user ? user_stack_id(call.loc, call.name) : stack_id();
  }
  if (call.name != "sprint_syms" && call.name != "sprint_usyms") return nullptr;
  // sprint_syms(callers(n)), sprint_syms(backtrace()) and the user forms:
  // the lines of the stack the argument took, not of its text.
  const bool user = call.name == "sprint_usyms";
  const Expr &arg = *call.args[0];
  carried.render = user ? RenderFn::UserSyms : RenderFn::KernelSyms;
  if (is_builtin_call(arg, user ? "ucallers" : "callers")) {
    carried.part = StackPart::Callers;
    depth = long_value(*ast::cast<CallExpr>(arg).args[0]);
  } else if (!is_builtin_call(arg, user ? "ubacktrace" : "backtrace")) {
    const std::string printer = "print_" + call.name.substr(std::string_view("sprint_").size());
    const std::string stack = user ? "ucallers(n) or ubacktrace()" : "callers(n) or backtrace()";
    unsupported(arg.loc, "in kernel probes the argument of " + call.name + "() and " + printer + "() must be " + stack +
                             " itself (the stack travels as an id)");
  }
  return user ? user_stack_id(arg.loc, call.name) : stack_id();
}

llvm::Value *ProbeLowering::deferred_value(const CallExpr &call, RenderFn &render) {
  const bool perf = is_perf_probe(resolved_);
  if (call.name == "backtrace") {
    render = RenderFn::KernelStackHex;
    return stack_id();
  }
  if (call.name == "sprint_backtrace") {
    render = RenderFn::KernelStack;
    return stack_id();
  }
  if (call.name == "sprint_stack") {
    if (call.args.size() != 1 || !is_backtrace_call(*call.args[0]))
      unsupported(call.loc, "in kernel probes the argument of " + call.name +
                                "() must be backtrace() itself (the stack travels as an id)");
    render = RenderFn::KernelStack;
    return stack_id();
  }
  // Tracepoints have no registers: the function that hit the tracepoint is
  // the first frame of the stack below the tracing machinery.
  if (call.name == "probefunc") {
    render = perf ? RenderFn::Probefunc : RenderFn::ProbefuncStack;
    return perf ? probe_address() : stack_id();
  }
  if (call.name == "probemod") {
    render = perf ? RenderFn::Probemod : RenderFn::ProbemodStack;
    return perf ? probe_address() : stack_id();
  }
  unsupported(call.loc, "function '" + call.name + "' is not supported in kernel probes");
}

}  // namespace ntap::bpf
