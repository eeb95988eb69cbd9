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

llvm::Value *ProbeLowering::sprintf_call(const CallExpr &call) {
  auto &b = ir();
  const std::string &format = static_cast<const StringExpr &>(*call.args[0]).value;
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
  const size_t count = call.args.size() - 1;
  if (count > kMaxHelperArgs)
    unsupported(call.loc, "sprintf in a kernel probe takes at most " + std::to_string(kMaxHelperArgs) +
                              " values (bpf_snprintf's limit)");
  if (count != helper.conversions) unsupported(call.loc, "internal: sprintf format and arguments differ");

  // Arguments first: evaluating one may branch or end the program.
  std::vector<llvm::Value *> values;
  for (size_t i = 1; i < call.args.size(); ++i) {
    const Expr &arg = *call.args[i];
    // kernel_string_at(addr) for a %s: the helper reads the text at addr
    // itself, safely (an unreadable address prints as "").
    const auto *at = arg.kind == ExprKind::Call ? static_cast<const CallExpr *>(&arg) : nullptr;
    if (at && at->builtin && at->name == "kernel_string_at") {
      values.push_back(long_value(*at->args[0]));
      continue;
    }
    llvm::Value *v = value(arg);
    values.push_back(arg.type == Type::String ? b.CreatePtrToInt(v, b.getInt64Ty()) : v);
  }
  state_.mb.set_location(call.loc);
  llvm::Value *data = nullptr;
  if (count) {
    data = state_.mb.entry_alloca(llvm::ArrayType::get(b.getInt64Ty(), count), "sprintf_args", false);
    for (size_t i = 0; i < count; ++i)
      b.CreateAlignedStore(values[i], b.CreateConstInBoundsGEP1_64(b.getInt64Ty(), data, i), llvm::Align(8));
  } else {
    data = llvm::ConstantPointerNull::get(b.getPtrTy());
  }
  llvm::Value *out = scratch_string(call.loc);
  llvm::Value *fmt = state_.mb.rodata_string(helper.text);
  state_.mb.call_helper(Helper::Snprintf, b.getInt64Ty(),
                        {out, b.getInt32(built_string_cap() + 1), fmt, data, b.getInt32(count * 8)});
  return out;
}

}  // namespace ntap::bpf
