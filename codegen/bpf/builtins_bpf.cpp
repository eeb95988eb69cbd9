// Builtin functions in kernel probes: a table from name to a small emitter.
// The type signatures live in frontend/builtins.h; this file only says how
// each one becomes BPF.
#include <string_view>
#include <unordered_map>

#include <llvm/IR/Intrinsics.h>

#include "codegen/bpf/cmdline_bpf.h"
#include "codegen/bpf/kernel_memory.h"
#include "codegen/bpf/lowering.h"
#include "codegen/bpf/perf_counters_bpf.h"
#include "codegen/bpf/user_memory.h"
#include "frontend/builtins.h"

namespace ntap::bpf {

using namespace ast;

namespace {

using Emitter = llvm::Value *(*)(ProbeLowering &, const CallExpr &);

llvm::Value *helper_u64(ProbeLowering &p, Helper id) {
  return p.state().mb.call_helper(id, p.ir().getInt64Ty(), {});
}

llvm::Value *upper32(ProbeLowering &p, llvm::Value *v) { return p.ir().CreateLShr(v, 32); }
llvm::Value *lower32(ProbeLowering &p, llvm::Value *v) { return p.ir().CreateAnd(v, 0xffffffffULL); }

// Wall-clock time: boot time plus the CLOCK_REALTIME - CLOCK_BOOTTIME offset
// the runtime stores at start (BPF has no wall clock of its own).
llvm::Value *realtime_ns(ProbeLowering &p) {
  auto &b = p.ir();
  llvm::Value *boot = helper_u64(p, Helper::KtimeGetBootNs);
  llvm::Value *offset = b.CreateAlignedLoad(
      b.getInt64Ty(), p.state().maps.global_ptr(p.state().layout.realtime_offset_offset), llvm::Align(8), true);
  return b.CreateAdd(boot, offset);
}

template <uint64_t Divisor>
llvm::Value *gettimeofday(ProbeLowering &p, const CallExpr &) {
  llvm::Value *ns = realtime_ns(p);
  return Divisor == 1 ? ns : p.ir().CreateUDiv(ns, p.ir().getInt64(Divisor));
}

// In a string scratch slot (off the stack): bytes after the NUL are stale,
// which only array keys would see, and pack_key copies keys up to the NUL.
llvm::Value *execname(ProbeLowering &p, const CallExpr &call) {
  llvm::Value *buffer = p.scratch_string(call.loc);
  constexpr uint32_t kTaskCommLen = 16;
  uint32_t size = std::min(kTaskCommLen, p.max_string_len());
  p.state().mb.call_helper(Helper::GetCurrentComm, p.ir().getInt64Ty(), {buffer, p.ir().getInt32(size)});
  return buffer;
}

// target(): the runtime writes the pid into "globals" before attaching.
llvm::Value *target_pid(ProbeLowering &p, const CallExpr &) {
  auto &b = p.ir();
  return b.CreateAlignedLoad(b.getInt64Ty(), p.state().maps.global_ptr(p.state().layout.target_pid_offset),
                             llvm::Align(8), true);
}

// uaddr(): in a process probe, pt_regs->ip (the kernel sets it to the
// probed address before the handlers run; at a uretprobe, the return
// address). Other kernel probes have no user context: 0.
llvm::Value *user_address(ProbeLowering &p, const CallExpr &) {
  if (p.resolved().kind != ProbeKind::Uprobe) return p.i64(0);
  constexpr int kIpWord = 16;  // struct pt_regs (x86-64) as u64 words
  auto &b = p.ir();
  return b.CreateAlignedLoad(b.getInt64Ty(), b.CreateConstInBoundsGEP1_64(b.getInt64Ty(), p.program_context(), kIpWord),
                             llvm::Align(8), "ip");
}

// bpf_jiffies64 (helper 118, Linux 5.5+).
constexpr Helper kJiffies64 = static_cast<Helper>(118);

// local_clock_*() and cpu_clock_*(cpu): the monotonic clock user probes read
// too (CLOCK_MONOTONIC), so the two sides' times can be compared.
template <uint64_t Divisor>
llvm::Value *monotonic_clock(ProbeLowering &p, const CallExpr &call) {
  for (const auto &arg : call.args) p.long_value(*arg);  // cpu_clock's CPU: every CPU shares the clock
  llvm::Value *ns = helper_u64(p, Helper::KtimeGetNs);
  return Divisor == 1 ? ns : p.ir().CreateUDiv(ns, p.ir().getInt64(Divisor));
}

// ntoh*/hton*: byte swaps of the low 16, 32 or 64 bits (BPF is little-endian),
// zero-extended as stap's C functions return them.
template <unsigned Bits>
llvm::Value *byte_swap(ProbeLowering &p, const CallExpr &call) {
  auto &b = p.ir();
  llvm::Value *value = p.long_value(*call.args[0]);
  if (Bits == 64) return b.CreateUnaryIntrinsic(llvm::Intrinsic::bswap, value);
  llvm::Value *narrow = b.CreateTrunc(value, b.getIntNTy(Bits));
  return b.CreateZExt(b.CreateUnaryIntrinsic(llvm::Intrinsic::bswap, narrow), b.getInt64Ty());
}

llvm::Value *output(ProbeLowering &p, const CallExpr &call) {
  p.output(call);
  return p.i64(0);
}

llvm::Value *exit_call(ProbeLowering &p, const CallExpr &) {
  p.request_exit();
  return p.i64(0);
}

// pp(): each concrete probe is its own program, so its probe point is a
// constant string of that program.
llvm::Value *probe_point(ProbeLowering &p, const CallExpr &) { return p.string_literal(p.resolved().point); }
llvm::Value *probe_name(ProbeLowering &p, const CallExpr &) { return p.string_literal(p.resolved().script_point); }

// ppfunc(): as stap's tapset computes it from pp(): the text between its
// first two quotes, cut at '@' (kernel.trace("skb:kfree_skb") gives
// "skb:kfree_skb"; a point without quotes gives "").
llvm::Value *probe_point_function(ProbeLowering &p, const CallExpr &) {
  const std::string &point = p.resolved().point;
  std::string function;
  const size_t open = point.find('"');
  if (open != std::string::npos) {
    const size_t close = point.find('"', open + 1);
    function = point.substr(open + 1, close == std::string::npos ? std::string::npos : close - open - 1);
    function = function.substr(0, function.find('@'));
  }
  return p.string_literal(function);
}

// Ends the program with the run-time error `message_arg` at the call: a
// literal is the error site's own text; any other string value travels in
// the error record.
void fail_with(ProbeLowering &p, const CallExpr &call, const Expr *message_arg, llvm::Value *computed) {
  if (computed) {
    p.fail_with_text(&call, call.loc, computed);
    return;
  }
  p.fail(&call, call.loc,
         message_arg ? ast::cast<StringExpr>(*message_arg).value : std::string("Assertion failed"));
}

// The computed message of error()/assert(), evaluated now; null for a literal.
llvm::Value *computed_message(ProbeLowering &p, const Expr &arg) {
  return arg.kind == ExprKind::String ? nullptr : p.string_value(arg);
}

// error(msg): reports `msg` at the call and ends the program; the run ends
// with status 1 as in user probes.
llvm::Value *raise_error(ProbeLowering &p, const CallExpr &call) {
  fail_with(p, call, call.args[0].get(), computed_message(p, *call.args[0]));
  p.continue_after_terminator();
  return p.i64(0);
}

// assert(cond[, msg]): error(msg) ("Assertion failed" by default) when cond
// is 0. Both arguments are evaluated first, as for any function call.
llvm::Value *check_assertion(ProbeLowering &p, const CallExpr &call) {
  if (call.args.size() > 2)
    unsupported(call.loc, "wrong number of arguments to assert (" + std::to_string(call.args.size()) +
                              " given, 1 or 2 expected)");
  llvm::Value *holds = p.truth(*call.args[0]);
  const Expr *message = call.args.size() == 2 ? call.args[1].get() : nullptr;
  llvm::Value *computed = message ? computed_message(p, *message) : nullptr;
  llvm::BasicBlock *failed = p.block("assert_failed");
  llvm::BasicBlock *ok = p.block("assert_ok");
  p.ir().CreateCondBr(holds, ok, failed);
  p.ir().SetInsertPoint(failed);
  fail_with(p, call, message, computed);
  p.ir().SetInsertPoint(ok);
  return p.i64(0);
}

llvm::Value *strlen_call(ProbeLowering &p, const CallExpr &call) { return p.string_length(*call.args[0]); }
llvm::Value *substr_call(ProbeLowering &p, const CallExpr &call) {
  return p.substring(*call.args[0], *call.args[1], *call.args[2]);
}
llvm::Value *isinstr_call(ProbeLowering &p, const CallExpr &call) { return p.contains(*call.args[0], *call.args[1]); }

// stringat(str, pos): the byte (a signed char, as stap's C returns it); a
// position outside the string is stap's run-time error.
llvm::Value *stringat_call(ProbeLowering &p, const CallExpr &call) {
  auto &b = p.ir();
  llvm::Value *text = p.string_value(*call.args[0]);
  llvm::Value *pos = p.long_value(*call.args[1]);
  llvm::Value *length = p.length_of(text);
  llvm::BasicBlock *outside = p.block("stringat_outside");
  llvm::BasicBlock *inside = p.block("stringat_inside");
  // Unsigned: a negative position is outside too.
  b.CreateCondBr(b.CreateICmpULT(pos, length), inside, outside);
  b.SetInsertPoint(outside);
  p.fail(&call, call.loc, "Position out of bounds near identifier 'stringat'");
  b.SetInsertPoint(inside);
  llvm::Value *byte = b.CreateLoad(b.getInt8Ty(), b.CreateInBoundsGEP(b.getInt8Ty(), text, pos));
  return b.CreateSExt(byte, b.getInt64Ty());
}

// randint(n): bpf_get_prandom_u32() % n, for n up to 2^20 (unsigned: a
// negative n is too wide, as in stap); 0 for n = 0.
llvm::Value *randint_call(ProbeLowering &p, const CallExpr &call) {
  auto &b = p.ir();
  llvm::Value *n = p.long_value(*call.args[0]);
  llvm::BasicBlock *wide = p.block("randint_too_wide");
  llvm::BasicBlock *fits = p.block("randint_range");
  b.CreateCondBr(b.CreateICmpUGT(n, p.i64(1 << 20)), wide, fits);
  b.SetInsertPoint(wide);
  p.fail(&call, call.loc, "range too wide near identifier 'randint'");
  b.SetInsertPoint(fits);
  llvm::Value *random = b.CreateZExt(p.state().mb.call_helper(Helper::GetPrandomU32, b.getInt32Ty(), {}),
                                     b.getInt64Ty());
  // n = 0 divides by 1 and gives 0.
  llvm::Value *is_zero = b.CreateICmpEQ(n, p.i64(0));
  llvm::Value *divisor = b.CreateSelect(is_zero, p.i64(1), n);
  return b.CreateSelect(is_zero, p.i64(0), b.CreateURem(random, divisor));
}

// isdigit(str): whether the first character is a decimal digit.
llvm::Value *isdigit_call(ProbeLowering &p, const CallExpr &call) {
  auto &b = p.ir();
  llvm::Value *c = p.byte_at(p.string_value(*call.args[0]), p.i64(0));
  return b.CreateZExt(b.CreateICmpULE(b.CreateSub(c, p.i64('0')), p.i64(9)), b.getInt64Ty());
}

// strtol(str, base) as user probes parse it (runtime/builtins_string.cpp):
// an optional '-', base 0 reads a C prefix ("0x" hex, "0" octal), base 16
// skips "0x", and the digits stop at the first character that is not one.
llvm::Value *strtol_call(ProbeLowering &p, const CallExpr &call) {
  auto &b = p.ir();
  llvm::Value *s = p.string_value(*call.args[0]);
  llvm::Value *base_arg = p.long_value(*call.args[1]);
  auto at = [&](uint64_t i) { return p.byte_at(s, p.i64(i)); };
  auto lower = [&](llvm::Value *c) { return b.CreateOr(c, p.i64(0x20)); };  // for letters only
  auto is_hex_digit = [&](llvm::Value *c) {
    return b.CreateOr(b.CreateICmpULE(b.CreateSub(c, p.i64('0')), p.i64(9)),
                      b.CreateICmpULE(b.CreateSub(lower(c), p.i64('a')), p.i64(5)));
  };
  llvm::Value *negative = b.CreateICmpEQ(at(0), p.i64('-'));
  llvm::Value *start = b.CreateZExt(negative, b.getInt64Ty());
  // Chosen by value, not by address (see below).
  auto at_start = [&](uint64_t k) { return b.CreateSelect(negative, at(k + 1), at(k)); };
  llvm::Value *hex_prefix = b.CreateAnd(b.CreateICmpEQ(at_start(0), p.i64('0')),
                                        b.CreateICmpEQ(lower(at_start(1)), p.i64('x')));
  llvm::Value *leading_zero = b.CreateICmpEQ(at_start(0), p.i64('0'));
  llvm::Value *c_base = b.CreateSelect(b.CreateAnd(hex_prefix, is_hex_digit(at_start(2))), p.i64(16),
                                       b.CreateSelect(leading_zero, p.i64(8), p.i64(10)));
  llvm::Value *base = b.CreateSelect(b.CreateICmpEQ(base_arg, p.i64(0)), c_base, base_arg);
  llvm::Value *skip = b.CreateAnd(b.CreateICmpEQ(base, p.i64(16)), hex_prefix);
  start = b.CreateAdd(start, b.CreateSelect(skip, p.i64(2), p.i64(0)));

  llvm::Value *value = p.state().mb.entry_alloca(b.getInt64Ty(), "strtol_value", false);
  b.CreateAlignedStore(p.i64(0), value, llvm::Align(8));
  // The bytes before `start` (sign, prefix) are stepped over rather than
  // addressed from `start`: LLVM would turn `s + (0 or 1)` into `s | 1`,
  // which the verifier refuses on a pointer.
  p.counted_loop(p.max_string_len(), [&](llvm::Value *i, llvm::BasicBlock *next, llvm::BasicBlock *done) {
    llvm::BasicBlock *inside = p.block("strtol_inside");
    b.CreateCondBr(b.CreateICmpULT(i, start), next, inside);
    b.SetInsertPoint(inside);
    llvm::Value *c = p.byte_at(s, i);
    llvm::Value *decimal = b.CreateICmpULE(b.CreateSub(c, p.i64('0')), p.i64(9));
    llvm::Value *letter = b.CreateICmpULE(b.CreateSub(lower(c), p.i64('a')), p.i64(25));
    llvm::Value *digit = b.CreateSelect(decimal, b.CreateSub(c, p.i64('0')),
                                        b.CreateSelect(letter, b.CreateAdd(b.CreateSub(lower(c), p.i64('a')), p.i64(10)),
                                                       p.i64(INT64_MAX)));
    llvm::BasicBlock *use = p.block("strtol_digit");
    b.CreateCondBr(b.CreateICmpSGE(digit, base), done, use);
    b.SetInsertPoint(use);
    llvm::Value *old = b.CreateAlignedLoad(b.getInt64Ty(), value, llvm::Align(8));
    b.CreateAlignedStore(b.CreateAdd(b.CreateMul(old, base), digit), value, llvm::Align(8));
  });
  llvm::Value *parsed = b.CreateAlignedLoad(b.getInt64Ty(), value, llvm::Align(8));
  return b.CreateSelect(negative, b.CreateNeg(parsed), parsed);
}

// abort(): ends the run as exit() does, and this probe hit at once.
llvm::Value *abort_call(ProbeLowering &p, const CallExpr &) {
  p.request_exit();
  p.end_program();
  p.continue_after_terminator();
  return p.i64(0);
}

const std::unordered_map<std::string_view, Emitter> &emitters() {
  static const std::unordered_map<std::string_view, Emitter> table{
      {"pid", [](ProbeLowering &p, const CallExpr &) { return upper32(p, helper_u64(p, Helper::GetCurrentPidTgid)); }},
      {"tid", [](ProbeLowering &p, const CallExpr &) { return lower32(p, helper_u64(p, Helper::GetCurrentPidTgid)); }},
      {"uid", [](ProbeLowering &p, const CallExpr &) { return lower32(p, helper_u64(p, Helper::GetCurrentUidGid)); }},
      {"gid", [](ProbeLowering &p, const CallExpr &) { return upper32(p, helper_u64(p, Helper::GetCurrentUidGid)); }},
      {"randint", randint_call},
      {"cpu",
       [](ProbeLowering &p, const CallExpr &) {
         llvm::Value *cpu = p.state().mb.call_helper(Helper::GetSmpProcessorId, p.ir().getInt32Ty(), {});
         return p.ir().CreateZExt(cpu, p.ir().getInt64Ty());
       }},
      {"execname", execname},
      {"target", target_pid},
      {"gettimeofday_s", gettimeofday<1000000000>},
      {"gettimeofday_ms", gettimeofday<1000000>},
      {"gettimeofday_us", gettimeofday<1000>},
      {"gettimeofday_ns", gettimeofday<1>},
      {"local_clock_ns", monotonic_clock<1>},
      {"local_clock_us", monotonic_clock<1000>},
      {"local_clock_ms", monotonic_clock<1000000>},
      {"local_clock_s", monotonic_clock<1000000000>},
      {"cpu_clock_ns", monotonic_clock<1>},
      {"cpu_clock_us", monotonic_clock<1000>},
      {"cpu_clock_ms", monotonic_clock<1000000>},
      {"cpu_clock_s", monotonic_clock<1000000000>},
      {"jiffies", [](ProbeLowering &p, const CallExpr &) { return helper_u64(p, kJiffies64); }},
      {"task_current", [](ProbeLowering &p, const CallExpr &) { return helper_u64(p, Helper::GetCurrentTask); }},
      {"ntohs", byte_swap<16>},
      {"htons", byte_swap<16>},
      {"ntohl", byte_swap<32>},
      {"htonl", byte_swap<32>},
      {"ntohll", byte_swap<64>},
      {"htonll", byte_swap<64>},
      {"kernel_string", kernel_string},
      {"ppid", task_field},
      {"cmdline_args", cmdline_text},
      {"cmdline_arg", cmdline_text},
      {"cmdline_str", cmdline_text},
      {"pexecname", task_field},
      {"euid", task_field},
      {"egid", task_field},
      {"kernel_string_n", kernel_string_n},
      {"kernel_string_at",
       [](ProbeLowering &, const CallExpr &call) -> llvm::Value * {
         unsupported(call.loc, "kernel_string_at() can only be an argument of sprintf");
       }},
      {"kernel_long", kernel_number<8, true>},
      {"kernel_int", kernel_number<4, true>},
      {"kernel_short", kernel_number<2, true>},
      {"kernel_char", kernel_number<1, false>},
      {"kernel_pointer", kernel_number<8, false>},
      {"printf", output},
      {"print", output},
      {"println", output},
      {"exit", exit_call},
      {"log", output},
      {"warn",
       [](ProbeLowering &p, const CallExpr &call) {
         p.warning(call);
         return p.i64(0);
       }},
      {"abort", abort_call},
      {"isdigit", isdigit_call},
      {"strtol", strtol_call},
      {"pp", probe_point},
      {"pn", probe_name},
      {"ppfunc", probe_point_function},
      {"addr", [](ProbeLowering &p, const CallExpr &) { return p.probe_address(); }},
      {"error", raise_error},
      {"strlen", strlen_call},
      {"sprintf", [](ProbeLowering &p, const CallExpr &call) { return p.sprintf_call(call); }},
      {"sprint", [](ProbeLowering &p, const CallExpr &call) { return p.sprintf_call(call); }},
      {"sprintln", [](ProbeLowering &p, const CallExpr &call) { return p.sprintf_call(call); }},
      {"sprintd", [](ProbeLowering &p, const CallExpr &call) { return p.sprintf_call(call); }},
      {"sprintdln", [](ProbeLowering &p, const CallExpr &call) { return p.sprintf_call(call); }},
      {"printd", output},
      {"printdln", output},
      {"ip_ntop",
       [](ProbeLowering &p, const CallExpr &call) { return p.ipv4_text(p.long_value(*call.args[0]), call.loc); }},
      {"format_ipaddr", [](ProbeLowering &p, const CallExpr &call) { return p.format_ipaddr(call); }},
      {"__user_ip6_text", [](ProbeLowering &p, const CallExpr &call) { return p.user_ip6_text(call); }},
      {"substr", substr_call},
      {"isinstr", isinstr_call},
      {"stringat", stringat_call},
      {"assert", check_assertion},
      {"uaddr", user_address},
      // Each PLT entry's program is compiled on its own: its name is a literal.
      {"__plt_name", [](ProbeLowering &p, const CallExpr &) { return p.string_literal(p.resolved().name); }},
      {"__perf_counter_switch", perf_counter_switch},
      {"__perf_counter_fork", perf_counter_fork},
      {"__perf_counter_track", perf_counter_track},
      {"__perf_counter_value", perf_counter_value},
  };
  return table;
}

}  // namespace

llvm::Value *ProbeLowering::builtin_call(const CallExpr &call) {
  if (!call.builtin) return nullptr;
  if (UserMemoryEmitter user_memory = user_memory_emitter(call.name)) return user_memory(*this, call);
  auto it = emitters().find(call.name);
  if (it != emitters().end()) return it->second(*this, call);
  if (call.builtin->flags & Builtin::Deferred)
    unsupported(call.loc, "in kernel probes '" + call.name + "()' can only be an argument of print/printf");
  return nullptr;
}

}  // namespace ntap::bpf
