// cmdline_args(n, m, delim), cmdline_arg(n) and cmdline_str() in kernel
// probes: the current process's arguments, as stap's context tapset gives
// them. The kernel keeps them NUL-separated in the process's memory between
// mm->arg_start and arg_end (task paths from the BTF, ast::Program::
// task_paths). One bpf_probe_read_user copies at most MAXSTRINGLEN bytes
// of that area into the result; a pass over the bytes then keeps
// those of arguments n..m (m < 0: to the last) and puts the delimiter, a
// single character or none, where a NUL separated two kept arguments. Each
// output byte replaces an input byte at or after it, so the pass works in
// place. The pass is branch-free (branch_free.h): the verifier walks one
// path per byte. A kernel thread (no mm) or an unreadable area gives "".
#include "codegen/bpf/cmdline_bpf.h"

#include "codegen/bpf/branch_free.h"
#include "frontend/builtins.h"

namespace ntap::bpf {

using namespace ast;
using branch_free::less;
using branch_free::negate;
using branch_free::nonzero16;

namespace {

// The delimiter of cmdline_args: a literal of at most one character.
int64_t delimiter_of(const CallExpr &call) {
  if (call.name == "cmdline_str") return ' ';
  if (call.name == "cmdline_arg") return 0;
  const auto *text = dyn_cast<StringExpr>(*call.args[2]);
  if (!text || text->value.size() > 1)
    unsupported(call.args[2]->loc,
                "cmdline_args in a kernel probe takes its delimiter as a literal string of at most one character");
  return text->value.empty() ? 0 : static_cast<unsigned char>(text->value[0]);
}

uint32_t power_of_two_at_least(uint32_t n) {
  uint32_t size = 1;
  while (size < n) size <<= 1;
  return size;
}

}  // namespace

llvm::Value *cmdline_text(ProbeLowering &p, const CallExpr &call) {
  auto &b = p.ir();
  auto &mb = p.state().mb;
  const auto &paths = p.state().program.task_paths;
  auto start_path = paths.find("arg_start"), end_path = paths.find("arg_end");
  if (start_path == paths.end() || end_path == paths.end())
    unsupported(call.loc, call.name + "() in a kernel probe reads the current task's mm->arg_start/arg_end, which "
                                      "this kernel's BTF does not describe as ntap expects");
  const int64_t delimiter = delimiter_of(call);
  llvm::Value *first = call.name == "cmdline_str" ? p.i64(0) : p.long_value(*call.args[0]);
  llvm::Value *last = call.name == "cmdline_str" ? p.i64(-1)
                      : call.name == "cmdline_arg" ? first
                                                   : p.long_value(*call.args[1]);
  mb.set_location(call.loc);
  llvm::Value *task = mb.call_helper(Helper::GetCurrentTask, b.getInt64Ty(), {});
  llvm::Value *start = p.follow_steps(task, start_path->second, nullptr, call.loc, "the arguments' start");
  llvm::Value *end = p.follow_steps(task, end_path->second, nullptr, call.loc, "the arguments' end");

  // Positions are masked into a power-of-two buffer, so every store is in
  // bounds whatever the verifier knows of them.
  // One byte more than the result holds: the delimiter before an argument
  // the cut falls in is kept, as stap cuts the joined text.
  const uint32_t cap = p.built_string_cap();
  const uint32_t read = cap + 1;
  const uint32_t size = power_of_two_at_least(read + 1);
  llvm::Value *out = p.frame_buffer(size, "cmdline", ProbeLowering::Zero::None);
  llvm::Value *length = b.CreateSub(end, start);
  llvm::Value *too_long = b.CreateICmpSGT(length, p.i64(read));
  length = b.CreateSelect(too_long, p.i64(read), length);
  length = b.CreateSelect(b.CreateICmpSLT(length, p.i64(0)), p.i64(0), length);
  // The helper zeroes the buffer when it cannot read: no argument at all.
  mb.call_helper(Helper::ProbeReadUser, b.getInt64Ty(),
                 {out, b.CreateTrunc(length, b.getInt32Ty()), b.CreateIntToPtr(start, b.getPtrTy())});

  auto slot = [&](const char *name, int64_t initial) {
    llvm::Value *s = mb.entry_alloca(b.getInt64Ty(), name, false);
    b.CreateStore(p.i64(initial), s);
    return s;
  };
  llvm::Value *pos_slot = slot("cmdline_pos", 0), *index_slot = slot("cmdline_arg", 0);
  llvm::Value *any_slot = slot("cmdline_any", 0), *fresh_slot = slot("cmdline_fresh", 1);
  p.counted_loop(read, [&](llvm::Value *i, llvm::BasicBlock *, llvm::BasicBlock *) {
    llvm::Value *pos = b.CreateLoad(b.getInt64Ty(), pos_slot);
    llvm::Value *index = b.CreateLoad(b.getInt64Ty(), index_slot);
    llvm::Value *any = b.CreateLoad(b.getInt64Ty(), any_slot);
    llvm::Value *fresh = b.CreateLoad(b.getInt64Ty(), fresh_slot);
    llvm::Value *byte = p.byte_at(out, b.CreateAnd(i, p.i64(size - 1)));
    llvm::Value *inside = less(b, i, length);
    llvm::Value *text = b.CreateAnd(inside, nonzero16(b, byte));
    llvm::Value *separator = b.CreateAnd(inside, negate(b, nonzero16(b, byte)));
    // Argument `index` is kept when first <= index and (last < 0 or index <= last).
    llvm::Value *from_first = negate(b, less(b, index, first));
    llvm::Value *to_last = b.CreateOr(less(b, last, p.i64(0)), negate(b, less(b, last, index)));
    llvm::Value *keep = b.CreateAnd(text, b.CreateAnd(from_first, to_last));
    if (delimiter) {
      // Before the first kept byte of an argument when one was kept before.
      llvm::Value *delimit = b.CreateAnd(keep, b.CreateAnd(fresh, any));
      p.store_byte(out, b.CreateAnd(pos, p.i64(size - 1)), p.i64(delimiter));
      pos = b.CreateAdd(pos, delimit);
    }
    p.store_byte(out, b.CreateAnd(pos, p.i64(size - 1)), byte);
    b.CreateStore(b.CreateAdd(pos, keep), pos_slot);
    b.CreateStore(b.CreateAdd(index, separator), index_slot);
    b.CreateStore(b.CreateOr(any, keep), any_slot);
    // A NUL starts the next argument; a byte of text continues this one;
    // past the end nothing changes.
    b.CreateStore(b.CreateAdd(separator, b.CreateMul(negate(b, b.CreateOr(separator, text)), fresh)),
                  fresh_slot);
  });
  llvm::Value *end_pos = b.CreateLoad(b.getInt64Ty(), pos_slot);
  end_pos = b.CreateSub(end_pos, less(b, p.i64(cap), end_pos));  // at most cap
  p.store_byte(out, b.CreateAnd(end_pos, p.i64(size - 1)), p.i64(0));
  return out;
}

}  // namespace ntap::bpf
