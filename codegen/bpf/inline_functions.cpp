// Script functions in kernel probes. BPF programs here are single functions,
// so a call is lowered by inlining the callee's body at the call site: its
// locals get fresh stack slots zeroed at the call, parameters are copied in,
// `return` stores the result and jumps past the body. Recursion cannot be
// inlined; assign_sides rejects it before code generation.
#include "codegen/bpf/lowering.h"

namespace ntap::bpf {

using namespace ast;

namespace {

bool is_string(Type t) { return t == Type::String; }

}  // namespace

llvm::Value *ProbeLowering::inline_call(const CallExpr &call) {
  const Function &f = *call.function;
  if (frames_.size() > 64) unsupported(call.loc, "function calls nest too deeply for a kernel probe");
  // Arguments are evaluated in the caller's frame, left to right.
  std::vector<llvm::Value *> args;
  for (const auto &arg : call.args) args.push_back(value(*arg));
  state_.mb.set_location(call.loc);

  InlineFrame frame;
  frame.function = &f;
  const bool loops = has_script_loop(*f.body);
  for (const auto &local : f.locals)
    frame.locals[local.get()] = is_string(local->type)
                                    ? frame_buffer(max_string_len(), local->name.c_str(), Zero::FirstWord)
                                    : long_local(local->name.c_str(), loops);
  for (size_t i = 0; i < args.size(); ++i) {
    llvm::Value *slot = frame.locals.at(f.locals[i].get());
    if (is_string(f.locals[i]->type))
      copy_string(slot, args[i], max_string_len());
    else
      ir().CreateAlignedStore(args[i], slot, llvm::Align(8));
  }
  frame.result = is_string(f.result) ? string_buffer("result")
                                     : state_.mb.entry_alloca(ir().getInt64Ty(), "result", true);
  frame.exit = block("return");

  frames_.push_back(std::move(frame));
  statement(*f.body);
  if (!ir().GetInsertBlock()->getTerminator()) ir().CreateBr(frames_.back().exit);
  InlineFrame done = std::move(frames_.back());
  frames_.pop_back();

  ir().SetInsertPoint(done.exit);
  if (is_string(f.result)) return done.result;
  return ir().CreateAlignedLoad(ir().getInt64Ty(), done.result, llvm::Align(8), f.name);
}

void ProbeLowering::return_stmt(const ReturnStmt &s) {
  if (frames_.empty()) {  // in a probe, `return` is `next`; a value is still evaluated
    if (s.value) value(*s.value);
    end_program();
    continue_after_terminator();
    return;
  }
  const Function &f = *frames_.back().function;
  if (s.value && s.value->type == f.result) {
    llvm::Value *v = value(*s.value);  // may inline calls: frames_ may grow (and move)
    llvm::Value *result = reach(frames_.back().result);
    if (is_string(f.result))
      copy_string(result, v, max_string_len());
    else
      ir().CreateAlignedStore(v, result, llvm::Align(8));
  }
  return_from_function();
  continue_after_terminator();
}

}  // namespace ntap::bpf
