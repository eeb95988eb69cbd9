#include "codegen/bpf/user_memory.h"

#include <unordered_map>
#include <vector>

namespace ntap::bpf {

using namespace ast;

namespace {

// bpf_probe_read_user / bpf_probe_read_user_str (Linux 5.5+).
constexpr Helper kProbeReadUser = static_cast<Helper>(112);
constexpr Helper kProbeReadUserStr = static_cast<Helper>(114);

// stap's messages; %p becomes the address.
constexpr const char *kStringFault = "user string copy fault at %p [man error::fault]";
constexpr const char *kReadFault = "user read fault at %p [man error::fault]";

// What a fault does.
enum class OnFault {
  Error,    // stap's run-time error, at the call
  Warn,     // a warning; the default value
  Default,  // the default value alone
};

// On a fault (a negative helper `status`) runs `handle` in a block of its
// own, then goes on after it.
void on_fault(ProbeLowering &p, llvm::Value *status, const std::function<void()> &handle) {
  auto &b = p.ir();
  llvm::BasicBlock *faulted = p.block("user_read_fault");
  llvm::BasicBlock *ok = p.block("user_read_ok");
  b.CreateCondBr(b.CreateICmpSLT(status, p.i64(0)), faulted, ok);
  b.SetInsertPoint(faulted);
  handle();
  if (!b.GetInsertBlock()->getTerminator()) b.CreateBr(ok);
  b.SetInsertPoint(ok);
}

std::string near(const CallExpr &call, const char *message) {
  return std::string(message) + " near identifier '" + call.name + "'";
}

void report(ProbeLowering &p, const CallExpr &call, OnFault mode, const char *message, llvm::Value *address) {
  if (mode == OnFault::Error) {
    p.fail_at_address(&call, call.loc, near(call, message), address);
    p.continue_after_terminator();
  } else if (mode == OnFault::Warn) {
    llvm::Value *text = p.scratch_string(call.loc);
    p.format_address(text, message, address);
    p.warning_text(text, call.loc);
  }
}

// The string at `address`, at most `size` bytes with its NUL (an i32 in
// 1..MAXSTRINGLEN). On a fault: the mode's report, then `fallback` (a
// string value; "" when null) in its place.
llvm::Value *read_string(ProbeLowering &p, const CallExpr &call, llvm::Value *address, llvm::Value *size, OnFault mode,
                         llvm::Value *fallback) {
  auto &b = p.ir();
  llvm::Value *buffer = p.scratch_string(call.loc);
  llvm::Value *status = p.state().mb.call_helper(kProbeReadUserStr, b.getInt64Ty(),
                                                 {buffer, size, b.CreateIntToPtr(address, b.getPtrTy())});
  on_fault(p, status, [&] {
    report(p, call, mode, kStringFault, address);
    if (b.GetInsertBlock()->getTerminator()) return;
    if (fallback)
      p.copy_string(buffer, fallback, p.max_string_len());
    else
      p.store_byte(buffer, p.i64(0), p.i64(0));
  });
  return buffer;
}

// user_string_n's byte count: n + 1 (the NUL) clamped to 1..MAXSTRINGLEN, as stap.
llvm::Value *clamped_size(ProbeLowering &p, const Expr &n) {
  auto &b = p.ir();
  llvm::Value *wanted = b.CreateAdd(p.long_value(n), p.i64(1));
  llvm::Value *at_least_one = b.CreateSelect(b.CreateICmpSLT(wanted, p.i64(1)), p.i64(1), wanted);
  llvm::Value *limit = p.i64(p.max_string_len());
  return b.CreateTrunc(b.CreateSelect(b.CreateICmpSGT(at_least_one, limit), limit, at_least_one), b.getInt32Ty());
}

// The optional last argument of user_string(addr, err_msg) and
// user_string_n(addr, n, err_msg): the text returned on a fault.
llvm::Value *error_text(ProbeLowering &p, const CallExpr &call, size_t fixed) {
  if (call.args.size() > fixed + 1)
    unsupported(call.loc, "wrong number of arguments to " + call.name + " (" + std::to_string(call.args.size()) +
                              " given, " + std::to_string(fixed) + " or " + std::to_string(fixed + 1) + " expected)");
  if (call.args.size() == fixed) return nullptr;
  if (call.args[fixed]->type != Type::String)
    unsupported(call.args[fixed]->loc,
                "the last argument of " + call.name + " is the text returned on a fault: a string");
  return p.string_value(*call.args[fixed]);
}

// user_string(addr[, err_msg]): a fault is an error, or err_msg when given.
llvm::Value *user_string(ProbeLowering &p, const CallExpr &call) {
  llvm::Value *address = p.long_value(*call.args[0]);
  llvm::Value *fallback = error_text(p, call, 1);
  return read_string(p, call, address, p.ir().getInt32(p.max_string_len()),
                     fallback ? OnFault::Default : OnFault::Error, fallback);
}

// user_string_n(addr, n[, err_msg]).
llvm::Value *user_string_n(ProbeLowering &p, const CallExpr &call) {
  llvm::Value *address = p.long_value(*call.args[0]);
  llvm::Value *size = clamped_size(p, *call.args[1]);
  llvm::Value *fallback = error_text(p, call, 2);
  return read_string(p, call, address, size, fallback ? OnFault::Default : OnFault::Error, fallback);
}

// user_string_warn(addr), user_string_n_warn(addr, n): a fault warns and gives "".
llvm::Value *user_string_warn(ProbeLowering &p, const CallExpr &call) {
  llvm::Value *address = p.long_value(*call.args[0]);
  llvm::Value *size = call.args.size() == 2 ? clamped_size(p, *call.args[1]) : p.ir().getInt32(p.max_string_len());
  return read_string(p, call, address, size, OnFault::Warn, nullptr);
}

// How text_str writes each byte (runtime/builtins_string.cpp): printable
// ASCII as is, \n \t \r \a \b \f \v \" \\ as C escapes, every other byte as
// \ooo. Three tables by byte value: the length of its escape (1, 2 or 4),
// its first byte and its second byte (the octal form's last two digits are
// computed).
struct EscapeTables {
  std::vector<uint8_t> length, first, second;
};

const EscapeTables &escape_tables() {
  static const EscapeTables tables = [] {
    EscapeTables t{std::vector<uint8_t>(256), std::vector<uint8_t>(256), std::vector<uint8_t>(256)};
    const std::pair<char, char> escapes[] = {{'\a', 'a'}, {'\b', 'b'}, {'\f', 'f'}, {'\n', 'n'}, {'\r', 'r'},
                                             {'\t', 't'}, {'\v', 'v'}, {'"', '"'},  {'\\', '\\'}};
    for (int c = 0; c < 256; ++c) {
      t.length[c] = c >= 0x20 && c < 0x7f ? 1 : 4;
      t.first[c] = t.length[c] == 1 ? static_cast<uint8_t>(c) : '\\';
      t.second[c] = static_cast<uint8_t>('0' + (c >> 6));
    }
    for (auto [byte, name] : escapes) {
      const auto c = static_cast<uint8_t>(byte);
      t.length[c] = 2;
      t.first[c] = '\\';
      t.second[c] = static_cast<uint8_t>(name);
    }
    return t;
  }();
  return tables;
}

// `"text"` with text_str's escapes, cut as `"...` when it does not fit. The
// loop has no branch but its two exits: the escapes come from tables, the
// write position lives in the per-CPU frame (so the verifier knows it only as
// a range) and is masked into a power-of-two buffer. Otherwise the verifier
// would follow every path through every byte, past its instruction limit.
llvm::Value *quote(ProbeLowering &p, llvm::Value *raw) {
  auto &b = p.ir();
  const uint32_t cap = p.built_string_cap();
  const int64_t room = cap >= 5 ? cap - 2 : 3;  // text bytes between the quotes
  uint32_t size = 8;
  while (size < p.max_string_len() || size < room + 3) size *= 2;
  const int64_t mask = size - 1;
  llvm::Value *out = p.frame_buffer(size, "quoted", ProbeLowering::Zero::None);
  p.store_byte(out, p.i64(0), p.i64('"'));
  llvm::Value *pos = p.frame_buffer(8, "quote_pos", ProbeLowering::Zero::None);
  llvm::AllocaInst *cut = p.state().mb.entry_alloca(b.getInt64Ty(), "quote_cut", false);
  b.CreateAlignedStore(p.i64(1), pos, llvm::Align(8));
  b.CreateStore(p.i64(0), cut);
  const EscapeTables &tables = escape_tables();
  llvm::Value *length_table = p.state().mb.rodata_bytes(tables.length, "escape_length");
  llvm::Value *first_table = p.state().mb.rodata_bytes(tables.first, "escape_first");
  llvm::Value *second_table = p.state().mb.rodata_bytes(tables.second, "escape_second");
  auto look_up = [&](llvm::Value *table, llvm::Value *c) {
    return b.CreateZExt(b.CreateLoad(b.getInt8Ty(), b.CreateInBoundsGEP(b.getInt8Ty(), table, c)), b.getInt64Ty());
  };
  p.counted_loop(p.max_string_len() - 1, [&](llvm::Value *i, llvm::BasicBlock *, llvm::BasicBlock *done) {
    llvm::Value *c = p.byte_at(raw, i);
    llvm::BasicBlock *more = p.block("quote_byte");
    b.CreateCondBr(b.CreateICmpEQ(c, p.i64(0)), done, more);
    b.SetInsertPoint(more);
    llvm::Value *length = look_up(length_table, c);
    llvm::Value *bytes[4] = {
        look_up(first_table, c),
        look_up(second_table, c),
        b.CreateAdd(p.i64('0'), b.CreateAnd(b.CreateLShr(c, 3), p.i64(7))),
        b.CreateAdd(p.i64('0'), b.CreateAnd(c, p.i64(7))),
    };
    llvm::Value *at = b.CreateAlignedLoad(b.getInt64Ty(), pos, llvm::Align(8));
    llvm::BasicBlock *fits = p.block("quote_fits");
    llvm::BasicBlock *full = p.block("quote_full");
    // at - 1 text bytes are written; `length` more must fit in `room`.
    b.CreateCondBr(b.CreateICmpULE(b.CreateAdd(at, length), p.i64(room + 1)), fits, full);
    b.SetInsertPoint(full);
    b.CreateStore(p.i64(1), cut);
    b.CreateBr(done);
    b.SetInsertPoint(fits);
    // All four bytes: those past `length` are overwritten by the next
    // character or the closing quote.
    for (int k = 0; k < 4; ++k) p.store_byte(out, b.CreateAnd(b.CreateAdd(at, p.i64(k)), p.i64(mask)), bytes[k]);
    b.CreateAlignedStore(b.CreateAdd(at, length), pos, llvm::Align(8));
  });
  llvm::BasicBlock *was_cut = p.block("quote_cut");
  llvm::BasicBlock *whole = p.block("quote_whole");
  llvm::BasicBlock *closed = p.block("quote_closed");
  b.CreateCondBr(b.CreateICmpNE(b.CreateLoad(b.getInt64Ty(), cut), p.i64(0)), was_cut, whole);
  b.SetInsertPoint(was_cut);
  // As stap: the last bytes give way to `"...` at the end of the room.
  const char *ellipsis = "\"...";
  for (int k = 0; k < 5; ++k) p.store_byte(out, p.i64(room - 2 + k), p.i64(k < 4 ? ellipsis[k] : 0));
  b.CreateBr(closed);
  b.SetInsertPoint(whole);
  llvm::Value *end = b.CreateAlignedLoad(b.getInt64Ty(), pos, llvm::Align(8));
  p.store_byte(out, b.CreateAnd(end, p.i64(mask)), p.i64('"'));
  p.store_byte(out, b.CreateAnd(b.CreateAdd(end, p.i64(1)), p.i64(mask)), p.i64(0));
  b.CreateBr(closed);
  b.SetInsertPoint(closed);
  return out;
}

// user_string_quoted(addr), user_string_n_quoted(addr, n): "NULL" for 0, the
// address in hex when it cannot be read, else the quoted, escaped text.
llvm::Value *user_string_quoted(ProbeLowering &p, const CallExpr &call) {
  auto &b = p.ir();
  llvm::Value *address = p.long_value(*call.args[0]);
  llvm::Value *size = call.args.size() == 2 ? clamped_size(p, *call.args[1]) : b.getInt32(p.max_string_len());
  llvm::Value *result = p.string_buffer("user_string_quoted");
  llvm::BasicBlock *null = p.block("quoted_null");
  llvm::BasicBlock *read = p.block("quoted_read");
  llvm::BasicBlock *done = p.block("quoted_done");
  b.CreateCondBr(b.CreateICmpEQ(address, p.i64(0)), null, read);
  b.SetInsertPoint(null);
  p.write_literal(result, "NULL");
  b.CreateBr(done);
  b.SetInsertPoint(read);
  llvm::Value *raw = p.scratch_string(call.loc);
  llvm::Value *status =
      p.state().mb.call_helper(kProbeReadUserStr, b.getInt64Ty(), {raw, size, b.CreateIntToPtr(address, b.getPtrTy())});
  llvm::BasicBlock *faulted = p.block("quoted_fault");
  llvm::BasicBlock *text = p.block("quoted_text");
  b.CreateCondBr(b.CreateICmpSLT(status, p.i64(0)), faulted, text);
  b.SetInsertPoint(faulted);
  p.snprintf_into(result, "0x%llx", {address});
  b.CreateBr(done);
  b.SetInsertPoint(text);
  p.copy_string(result, quote(p, raw), p.max_string_len());
  b.CreateBr(done);
  b.SetInsertPoint(done);
  return result;
}

// user_long ... user_uint64: the number of that C type at addr, sign- or
// zero-extended (char is unsigned, as the kernel builds with -funsigned-char).
template <uint32_t Size, bool Signed, OnFault Mode>
llvm::Value *user_number(ProbeLowering &p, const CallExpr &call) {
  auto &b = p.ir();
  llvm::Value *address = p.long_value(*call.args[0]);
  llvm::AllocaInst *slot = p.state().mb.entry_alloca(b.getInt64Ty(), "user_number", false);
  b.CreateAlignedStore(p.i64(0), slot, llvm::Align(8));
  llvm::Value *status = p.state().mb.call_helper(kProbeReadUser, b.getInt64Ty(),
                                                 {slot, b.getInt32(Size), b.CreateIntToPtr(address, b.getPtrTy())});
  on_fault(p, status, [&] {
    report(p, call, Mode, kReadFault, address);
    if (!b.GetInsertBlock()->getTerminator()) b.CreateAlignedStore(p.i64(0), slot, llvm::Align(8));
  });
  llvm::Value *narrow = b.CreateAlignedLoad(b.getIntNTy(Size * 8), slot, llvm::Align(8));
  return Signed ? b.CreateSExt(narrow, b.getInt64Ty()) : b.CreateZExt(narrow, b.getInt64Ty());
}

const std::unordered_map<std::string_view, UserMemoryEmitter> &emitters() {
  using enum OnFault;
  static const std::unordered_map<std::string_view, UserMemoryEmitter> table{
      {"user_string", user_string},
      {"user_string_n", user_string_n},
      {"user_string_warn", user_string_warn},
      {"user_string_n_warn", user_string_warn},
      {"user_string_quoted", user_string_quoted},
      {"user_string_n_quoted", user_string_quoted},
      {"user_long", user_number<8, true, Default>},
      {"user_long_warn", user_number<8, true, Warn>},
      {"user_long_error", user_number<8, true, Error>},
      {"user_ulong", user_number<8, false, Default>},
      {"user_ulong_warn", user_number<8, false, Warn>},
      {"user_ulong_error", user_number<8, false, Error>},
      {"user_int", user_number<4, true, Default>},
      {"user_int_warn", user_number<4, true, Warn>},
      {"user_int_error", user_number<4, true, Error>},
      {"user_short", user_number<2, true, Default>},
      {"user_short_warn", user_number<2, true, Warn>},
      {"user_short_error", user_number<2, true, Error>},
      {"user_ushort", user_number<2, false, Default>},
      {"user_ushort_warn", user_number<2, false, Warn>},
      {"user_ushort_error", user_number<2, false, Error>},
      {"user_char", user_number<1, false, Default>},
      {"user_char_warn", user_number<1, false, Warn>},
      {"user_char_error", user_number<1, false, Error>},
      {"user_int8", user_number<1, true, Default>},
      {"user_int16", user_number<2, true, Default>},
      {"user_int32", user_number<4, true, Default>},
      {"user_int64", user_number<8, true, Default>},
      {"user_uint8", user_number<1, false, Default>},
      {"user_uint16", user_number<2, false, Default>},
      {"user_uint32", user_number<4, false, Default>},
      {"user_uint64", user_number<8, false, Default>},
  };
  return table;
}

}  // namespace

UserMemoryEmitter user_memory_emitter(std::string_view name) {
  auto it = emitters().find(name);
  return it == emitters().end() ? nullptr : it->second;
}

}  // namespace ntap::bpf
