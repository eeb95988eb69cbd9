// sprintf in kernel probes, through the kernel's bpf_snprintf helper.
//
// The helper formats like the kernel's snprintf, but accepts only part of
// stap's format language: the flags "-+ 0", a numeric width, and the
// conversions d i u x X c s %. The script's format is translated to the
// helper's (every integer 64-bit: "%lld"); anything else — '#', a
// precision, '*', %o %p %b %m %M — is a compile error naming the
// conversion. The format goes to .rodata (the helper reads it from a frozen
// map), the arguments to a u64 array on the stack, the result to a string
// scratch slot cut at MAXSTRINGLEN - 1 bytes.
#include "codegen/bpf/lowering.h"
#include "codegen/bpf/branch_free.h"
#include "frontend/builtins.h"

namespace ntap::bpf {

using namespace ast;

namespace {

// bpf_snprintf's MAX_BPRINTF_VARARGS.
constexpr size_t kMaxHelperArgs = 12;

struct HelperFormat {
  std::string text;
  size_t conversions = 0;
};

// The format in bpf_snprintf's language; `fail` reports a conversion it lacks.
template <typename Fail>
HelperFormat translate_format(const std::string &format, Fail fail) {
  HelperFormat out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out.text += format[i];
      continue;
    }
    const size_t start = i++;
    if (i < format.size() && format[i] == '%') {
      out.text += "%%";
      continue;
    }
    std::string spec = "%";
    while (i < format.size() && std::string_view("-+ #0").find(format[i]) != std::string_view::npos) {
      if (format[i] != '#') spec += format[i];
      else fail(start, i);
      ++i;
    }
    if (i < format.size() && format[i] == '*') fail(start, i);
    while (i < format.size() && format[i] >= '0' && format[i] <= '9') spec += format[i++];
    if (i < format.size() && format[i] == '.') fail(start, i);
    while (i < format.size() && (format[i] == 'h' || format[i] == 'l')) ++i;  // every integer is 64-bit
    if (i >= format.size()) fail(start, i);
    switch (format[i]) {
      case 'd': case 'i': case 'u': case 'x': case 'X': spec += "ll"; spec += format[i]; break;
      case 'c': case 's': spec += format[i]; break;
      default: fail(start, i);
    }
    out.text += spec;
    ++out.conversions;
  }
  return out;
}

}  // namespace

// sprintf(fmt, ...), and sprint/sprintln/sprintd/sprintdln through the
// format type inference made for them ("%d%s\n", the delimiter between).
llvm::Value *ProbeLowering::sprintf_call(const CallExpr &call) {
  if (call.name == "sprintf") return format_values(ast::cast<StringExpr>(*call.args[0]).value, call, 1);
  if (call.format_id < 0 || static_cast<size_t>(call.format_id) >= state_.program.formats.size())
    unsupported(call.loc, "internal: '" + call.name + "' has no format");
  const bool delimited = call.builtin && (call.builtin->flags & Builtin::Delimited);
  return format_values(state_.program.formats[call.format_id].text, call, delimited ? 1 : 0);
}

llvm::Value *ProbeLowering::format_values(const std::string &format, const CallExpr &call, size_t first) {
  auto &b = ir();
  HelperFormat helper = translate_format(format, [&](size_t start, size_t) {
    // The whole conversion: its flags, width, precision, length and letter.
    size_t end = start + 1;
    while (end < format.size() && std::string_view("-+ #0123456789*.hl").find(format[end]) != std::string_view::npos)
      ++end;
    const std::string conversion = format.substr(start, std::min(end + 1, format.size()) - start);
    unsupported(call.args[0]->loc, "sprintf conversion '" + conversion +
                                       "' is not supported in kernel probes: the kernel's bpf_snprintf "
                                       "cannot format it (it knows the flags \"-+ 0\", a width and %d %i %u %x "
                                       "%X %c %s %%)");
  });
  const size_t count = call.args.size() - first;
  if (count > kMaxHelperArgs)
    unsupported(call.loc, call.name + " in a kernel probe takes at most " + std::to_string(kMaxHelperArgs) +
                              " values (bpf_snprintf's limit)");
  if (count != helper.conversions) unsupported(call.loc, "internal: sprintf format and arguments differ");

  // Arguments first: evaluating one may branch or end the program.
  std::vector<llvm::Value *> values;
  for (size_t i = first; i < call.args.size(); ++i) {
    const Expr &arg = *call.args[i];
    // kernel_string_at(addr) for a %s: the helper reads the text at addr
    // itself, safely (an unreadable address prints as "").
    const auto *at = arg.kind == ExprKind::Call ? ast::cast<CallExpr>(&arg) : nullptr;
    if (at && at->builtin && at->name == "kernel_string_at") {
      values.push_back(long_value(*at->args[0]));
      continue;
    }
    llvm::Value *v = value(arg);
    values.push_back(arg.type == Type::String ? b.CreatePtrToInt(v, b.getInt64Ty()) : v);
  }
  state_.mb.set_location(call.loc);
  return snprintf_values(helper.text, values, call.loc);
}

llvm::Value *ProbeLowering::snprintf_values(const std::string &helper_format, const std::vector<llvm::Value *> &values,
                                            const Location &loc) {
  llvm::Value *out = scratch_string(loc);
  snprintf_into(out, helper_format, values);
  return out;
}

void ProbeLowering::snprintf_into(llvm::Value *out, const std::string &helper_format,
                                  const std::vector<llvm::Value *> &values) {
  auto &b = ir();
  llvm::Value *data = nullptr;
  if (!values.empty()) {
    data = state_.mb.entry_alloca(llvm::ArrayType::get(b.getInt64Ty(), values.size()), "sprintf_args", false);
    for (size_t i = 0; i < values.size(); ++i)
      b.CreateAlignedStore(values[i], b.CreateConstInBoundsGEP1_64(b.getInt64Ty(), data, i), llvm::Align(8));
  } else {
    data = llvm::ConstantPointerNull::get(b.getPtrTy());
  }
  llvm::Value *fmt = state_.mb.rodata_string(helper_format);
  state_.mb.call_helper(Helper::Snprintf, b.getInt64Ty(),
                        {out, b.getInt32(built_string_cap() + 1), fmt, data, b.getInt32(values.size() * 8)});
}

// ip_ntop(addr): the address's four bytes in memory order, as user probes
// (inet_ntop) and the kernel's %pI4 print them.
llvm::Value *ProbeLowering::ipv4_text(llvm::Value *address, const Location &loc) {
  auto &b = ir();
  std::vector<llvm::Value *> bytes;
  for (int shift = 0; shift < 32; shift += 8) bytes.push_back(b.CreateAnd(b.CreateLShr(address, i64(shift)), i64(255)));
  return snprintf_values("%llu.%llu.%llu.%llu", bytes, loc);
}

// An IPv6 address as text, in the compressed form of RFC 5952 that the
// kernel's %pI6c and inet_ntop print: groups in lowercase hex without
// leading zeros, the longest run of two or more zero groups (the first of
// equal runs) as "::", and an IPv4-mapped address as ::ffff:a.b.c.d.
// bpf_snprintf renders %pI6 itself and ignores the `c`, so the text is
// written here, byte by byte, without a single branch but the mapped test:
// every 0/1 condition is computed branch-free (branch_free.h), each byte is stored
// at a position masked into the 64-byte buffer, and the position moves on
// by the condition. The verifier then walks one path of a few hundred
// instructions, wherever the call stands (a format per zero run, chosen by
// branches, went past its budget inside a map walk).
using branch_free::less;
using branch_free::negate;
using branch_free::nonzero16;

void ProbeLowering::ipv6_text_into(llvm::Value *out, llvm::Value *address) {
  auto &b = ir();
  // The address is read into the buffer's last 16 bytes (the text, at most
  // 39 bytes and its NUL, ends before them), and each group is loaded from
  // there when used: few values stay live, and LLVM spills none of them
  // (a probe such as tcp.state_change formats four addresses).
  constexpr int64_t kCopy = 48;
  llvm::Value *copy = b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), out, kCopy);
  state_.mb.call_helper(Helper::ProbeReadKernel, b.getInt64Ty(),
                        {copy, b.getInt32(16), b.CreateIntToPtr(address, b.getPtrTy())});
  auto group = [&](int i) {  // network order
    llvm::Value *at = b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), copy, 2 * i);
    llvm::Value *first = b.CreateZExt(b.CreateLoad(b.getInt8Ty(), at), b.getInt64Ty());
    llvm::Value *second = b.CreateZExt(b.CreateLoad(b.getInt8Ty(), b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), at, 1)),
                                       b.getInt64Ty());
    return b.CreateOr(b.CreateShl(first, i64(8)), second);
  };
  auto word = [&](int i) {
    return b.CreateAlignedLoad(b.getInt64Ty(), b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), copy, 8 * i), llvm::Align(8));
  };

  llvm::BasicBlock *mapped = block("ipv6_mapped"), *plain = block("ipv6_plain"), *done = block("ipv6_done");
  llvm::Value *low = word(1);
  llvm::Value *is_mapped = b.CreateAnd(b.CreateICmpEQ(word(0), i64(0)),
                                       b.CreateICmpEQ(b.CreateAnd(low, i64(0xffffffff)), i64(0xffff0000)));
  b.CreateCondBr(is_mapped, mapped, plain);
  b.SetInsertPoint(mapped);
  std::vector<llvm::Value *> bytes;
  for (int shift = 32; shift < 64; shift += 8) bytes.push_back(b.CreateAnd(b.CreateLShr(low, i64(shift)), i64(255)));
  snprintf_into(out, "::ffff:%llu.%llu.%llu.%llu", bytes);
  b.CreateBr(done);

  b.SetInsertPoint(plain);
  // The longest zero run: its length and the group after it. Moved by
  // products, not masks: the verifier splits its state at an AND with a
  // value in [-1, 0] (LLVM's own form of a select).
  llvm::Value *run = i64(0), *best = i64(0), *best_end = i64(0);
  for (int i = 0; i < 8; ++i) {
    run = b.CreateMul(b.CreateAdd(run, i64(1)), negate(b, nonzero16(b, group(i))));
    llvm::Value *longer = less(b, best, run);
    best = b.CreateAdd(best, b.CreateMul(longer, b.CreateSub(run, best)));
    best_end = b.CreateAdd(best_end, b.CreateMul(longer, b.CreateSub(i64(i + 1), best_end)));
  }
  // A single zero group stays: the run then starts and ends past the last
  // group, where no index meets it.
  llvm::Value *single = less(b, best, i64(2));
  best_end = b.CreateAdd(best_end, b.CreateMul(single, b.CreateSub(i64(16), best_end)));
  llvm::Value *best_start = b.CreateSub(best_end, b.CreateMul(negate(b, single), best));
  llvm::Value *pos = i64(0);
  auto put = [&](llvm::Value *byte, llvm::Value *advance) {
    store_byte(out, b.CreateAnd(pos, i64(63)), byte);
    pos = b.CreateAdd(pos, advance);
  };
  for (int i = 0; i < 8; ++i) {
    llvm::Value *index = i64(i);
    llvm::Value *from_start = negate(b, less(b, index, best_start));
    llvm::Value *in_run = b.CreateAnd(from_start, less(b, index, best_end));
    llvm::Value *at_start = b.CreateAnd(from_start, less(b, index, b.CreateAdd(best_start, i64(1))));
    llvm::Value *after_run = b.CreateAnd(negate(b, less(b, index, best_end)), less(b, index, b.CreateAdd(best_end, i64(1))));
    llvm::Value *shown = negate(b, in_run);
    if (i > 0) put(i64(':'), b.CreateAnd(shown, negate(b, after_run)));
    put(i64(':'), at_start);
    put(i64(':'), at_start);
    for (int shift = 12; shift >= 0; shift -= 4) {
      llvm::Value *value = group(i);
      llvm::Value *nibble = b.CreateAnd(b.CreateLShr(value, i64(shift)), i64(15));
      // '0'..'9', then 'a'..'f': 39 more from 10 on.
      llvm::Value *digit = b.CreateAdd(b.CreateAdd(nibble, i64('0')),
                                       b.CreateMul(b.CreateLShr(b.CreateAdd(nibble, i64(6)), i64(4)), i64(39)));
      llvm::Value *significant = shift == 0 ? i64(1) : nonzero16(b, b.CreateLShr(value, i64(shift)));
      put(digit, b.CreateAnd(shown, significant));
    }
  }
  store_byte(out, b.CreateAnd(pos, i64(63)), i64(0));
  if (max_string_len() < 64) store_byte(out, i64(max_string_len() - 1), i64(0));
  b.CreateBr(done);
  b.SetInsertPoint(done);
}

// format_ipaddr(addr, family): AF_INET as ip_ntop; AF_INET6 reads the 16
// bytes at addr (a pointer to an in6_addr; unreadable ones read as zeros,
// as the kernel's %pI6 reads them) and writes them compressed. Another
// family is stap's run-time error.
llvm::Value *ProbeLowering::format_ipaddr(const CallExpr &call) {
  auto &b = ir();
  constexpr int64_t kAfInet = 2, kAfInet6 = 10;
  llvm::Value *address = long_value(*call.args[0]);
  llvm::Value *family = long_value(*call.args[1]);
  state_.mb.set_location(call.loc);
  // At least 64 bytes: the IPv6 writer stores at positions masked to 0..63.
  llvm::Value *result = frame_buffer(std::max<uint32_t>(64, max_string_len()), "ipaddr", Zero::FirstWord);
  llvm::BasicBlock *v4 = block("ipv4"), *not_v4 = block("not_ipv4"), *v6 = block("ipv6"), *other = block("other_family"),
                   *done = block("ipaddr_done");
  b.CreateCondBr(b.CreateICmpEQ(family, i64(kAfInet)), v4, not_v4);
  b.SetInsertPoint(not_v4);
  b.CreateCondBr(b.CreateICmpEQ(family, i64(kAfInet6)), v6, other);
  b.SetInsertPoint(v4);
  copy_string(result, ipv4_text(address, call.loc), max_string_len());
  b.CreateBr(done);
  b.SetInsertPoint(v6);
  ipv6_text_into(result, address);
  b.CreateBr(done);
  b.SetInsertPoint(other);
  fail(&call, call.loc, "format_ipaddr: unknown address family near identifier 'format_ipaddr'");
  b.SetInsertPoint(done);
  return result;
}

// __user_ip6_text(addr): stap's sockaddr readers print an IPv6 address of
// the calling process with %pI6 (all eight groups). bpf_snprintf's %pI6
// reads kernel memory only, so the 16 bytes are first copied into the frame
// (a fault copies zeros) and formatted from there.
llvm::Value *ProbeLowering::user_ip6_text(const CallExpr &call) {
  auto &b = ir();
  llvm::Value *address = long_value(*call.args[0]);
  state_.mb.set_location(call.loc);
  llvm::Value *copy = frame_buffer(16, "user_in6_addr", Zero::None);
  state_.mb.call_helper(Helper::ProbeReadUser, b.getInt64Ty(),
                        {copy, b.getInt32(16), b.CreateIntToPtr(address, b.getPtrTy())});
  return snprintf_values("%pI6", {b.CreatePtrToInt(copy, b.getInt64Ty())}, call.loc);
}

}  // namespace ntap::bpf
