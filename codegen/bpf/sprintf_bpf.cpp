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

// format_ipaddr(addr, family): AF_INET as ip_ntop; AF_INET6 reads the 16
// bytes at addr (a pointer to an in6_addr), which bpf_snprintf's %pI6 does
// itself, safely, and prints all eight groups, as stap's tapset does: the
// helper renders %pI6 on its own and ignores the `c` of the compressed form.
// (Compressing in the program takes one format per zero run, which inside
// a map walk exceeds the verifier's budget.) Another family is stap's
// run-time error.
llvm::Value *ProbeLowering::format_ipaddr(const CallExpr &call) {
  auto &b = ir();
  constexpr int64_t kAfInet = 2, kAfInet6 = 10;
  llvm::Value *address = long_value(*call.args[0]);
  llvm::Value *family = long_value(*call.args[1]);
  state_.mb.set_location(call.loc);
  llvm::Value *result = string_buffer("ipaddr");
  llvm::BasicBlock *v4 = block("ipv4"), *not_v4 = block("not_ipv4"), *v6 = block("ipv6"), *other = block("other_family"),
                   *done = block("ipaddr_done");
  b.CreateCondBr(b.CreateICmpEQ(family, i64(kAfInet)), v4, not_v4);
  b.SetInsertPoint(not_v4);
  b.CreateCondBr(b.CreateICmpEQ(family, i64(kAfInet6)), v6, other);
  b.SetInsertPoint(v4);
  copy_string(result, ipv4_text(address, call.loc), max_string_len());
  b.CreateBr(done);
  b.SetInsertPoint(v6);
  copy_string(result, snprintf_values("%pI6c", {address}, call.loc), max_string_len());
  b.CreateBr(done);
  b.SetInsertPoint(other);
  fail(&call, call.loc, "format_ipaddr: unknown address family near identifier 'format_ipaddr'");
  b.SetInsertPoint(done);
  return result;
}

}  // namespace ntap::bpf
