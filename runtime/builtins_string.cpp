// The string builtins of user probes (ntap_fn_* of abi/runtime_api.h), with
// SystemTap's results: every result is cut to MAXSTRINGLEN - 1 bytes, the
// longest string a script variable can hold.
#include <cctype>
#include <cstring>
#include <string>
#include <string_view>

#include "abi/runtime_api.h"
#include "runtime/session.h"

namespace {

std::string_view view(const char *s) { return s ? std::string_view(s) : std::string_view(); }

const char *keep_result(ntap_rt *rt, std::string_view text) { return rt->arena.keep(rt->cut_string(text)); }

// The kernel's simple_strtoull digit rules, which stap's strtol uses: base 0
// reads a C prefix ("0x" hex, "0" octal), base 16 skips a "0x" prefix, and
// parsing stops at the first character that is not a digit of the base.
uint64_t parse_unsigned(std::string_view text, int64_t base) {
  auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  auto hex_prefix = [&] { return text.size() >= 2 && text[0] == '0' && lower(text[1]) == 'x'; };
  if (base == 0) {
    if (text.size() >= 3 && hex_prefix() && std::isxdigit(static_cast<unsigned char>(text[2])))
      base = 16;
    else
      base = !text.empty() && text[0] == '0' ? 8 : 10;
  }
  if (base == 16 && hex_prefix()) text.remove_prefix(2);
  uint64_t value = 0;
  for (char c : text) {
    int digit;
    if (std::isdigit(static_cast<unsigned char>(c)))
      digit = c - '0';
    else if (std::isalpha(static_cast<unsigned char>(c)))
      digit = lower(c) - 'a' + 10;
    else
      break;
    if (digit >= base) break;
    value = value * static_cast<uint64_t>(base) + static_cast<uint64_t>(digit);
  }
  return value;
}

// One UTF-8 sequence at the start of `in` as a code point, or 0 bytes when
// it is not a valid, shortest-form sequence (then the byte stands alone).
size_t decode_utf8(std::string_view in, uint32_t &code_point) {
  const auto lead = static_cast<unsigned char>(in[0]);
  size_t length;
  if ((lead & 0xE0) == 0xC0) length = 2, code_point = lead & 0x1F;
  else if ((lead & 0xF0) == 0xE0) length = 3, code_point = lead & 0x0F;
  else if ((lead & 0xF8) == 0xF0) length = 4, code_point = lead & 0x07;
  else return 0;
  if (in.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    const auto next = static_cast<unsigned char>(in[i]);
    if ((next & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (next & 0x3F);
  }
  if ((code_point >= 0xD800 && code_point <= 0xDFFF) || code_point > 0x10FFFF) return 0;
  if (code_point < 0x80 || (length == 3 && code_point < 0x800) || (length == 4 && code_point < 0x10000)) return 0;
  return length;
}

// The escaped form of one character (or UTF-8 sequence) as stap's
// _stp_text_str writes it: printable ASCII as is, C escapes for the usual
// control characters, quotes and backslashes, \ooo for other bytes and
// \uXXXX / \UXXXXXXXX for multi-byte UTF-8.
std::string escape_one(std::string_view in, size_t &consumed) {
  uint32_t code_point = 0;
  if (size_t length = decode_utf8(in, code_point)) {
    consumed = length;
    char buffer[16];
    if (code_point <= 0xFFFF)
      snprintf(buffer, sizeof buffer, "\\u%04x", code_point);
    else
      snprintf(buffer, sizeof buffer, "\\U%08x", code_point);
    return buffer;
  }
  consumed = 1;
  const auto c = static_cast<unsigned char>(in[0]);
  switch (c) {
    case '\a': return "\\a";
    case '\b': return "\\b";
    case '\f': return "\\f";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    case '\v': return "\\v";
    case '"': return "\\\"";
    case '\\': return "\\\\";
    default: break;
  }
  if (c < 0x80 && std::isprint(c)) return std::string(1, static_cast<char>(c));
  char octal[8];
  snprintf(octal, sizeof octal, "\\%03o", c);
  return octal;
}

// stap's _stp_text_str: escape `input` into at most `out_limit` bytes; when
// quoted, the text is put in double quotes and a cut shows as `"...`.
std::string text_str(std::string_view input, size_t out_limit, bool quoted) {
  std::string out;
  size_t room = out_limit;
  if (quoted) {
    room = std::max<size_t>(room, 5) - 2;
    out += '"';
  }
  bool cut = false;
  while (!input.empty()) {
    if (room == 0) {
      cut = true;
      break;
    }
    size_t consumed = 0;
    std::string escaped = escape_one(input, consumed);
    if (escaped.size() > room) {
      cut = true;
      break;
    }
    out += escaped;
    room -= escaped.size();
    input.remove_prefix(consumed);
  }
  if (quoted) {
    if (cut) {
      // The last three bytes written (plus what room is left) give way to `"...`.
      out.resize(out.size() - 3 + room);
      out += "\"...";
    } else {
      out += '"';
    }
  }
  return out;
}

}  // namespace

extern "C" {

int64_t ntap_fn_strlen(ntap_rt *, const char *s) { return static_cast<int64_t>(view(s).size()); }

const char *ntap_fn_substr(ntap_rt *rt, const char *str, int64_t start, int64_t length) {
  const std::string_view text = view(str);
  if (start < 0 || static_cast<uint64_t>(start) >= text.size() || length <= 0) return "";
  return keep_result(rt, text.substr(static_cast<size_t>(start), static_cast<uint64_t>(length)));
}

int64_t ntap_fn_stringat(ntap_rt *rt, const char *str, int64_t pos, uint32_t site) {
  const std::string_view text = view(str);
  if (pos < 0 || static_cast<uint64_t>(pos) >= text.size()) {
    ntap_fail_at(rt, site);
    return 0;
  }
  // stap returns the C char, which is signed on x86-64.
  return static_cast<signed char>(text[static_cast<size_t>(pos)]);
}

int64_t ntap_fn_isinstr(ntap_rt *, const char *s1, const char *s2) {
  return view(s1).find(view(s2)) != std::string_view::npos ? 1 : 0;
}

int64_t ntap_fn_strtol(ntap_rt *, const char *str, int64_t base) {
  std::string_view text = view(str);
  if (!text.empty() && text[0] == '-') return -static_cast<int64_t>(parse_unsigned(text.substr(1), base));
  return static_cast<int64_t>(parse_unsigned(text, base));
}

int64_t ntap_fn_isdigit(ntap_rt *, const char *str) {
  return str && std::isdigit(static_cast<unsigned char>(str[0])) ? 1 : 0;
}

const char *ntap_fn_str_replace(ntap_rt *rt, const char *str, const char *search, const char *replacement) {
  const std::string_view text = view(str), pattern = view(search), with = view(replacement);
  if (pattern.empty()) return keep_result(rt, text);
  std::string out;
  size_t from = 0;
  for (size_t at; (at = text.find(pattern, from)) != std::string_view::npos; from = at + pattern.size()) {
    out.append(text.substr(from, at - from));
    out.append(with);
  }
  out.append(text.substr(from));
  return keep_result(rt, out);
}

// Like stap's tokenize (strsep over the delimiter characters, skipping empty
// tokens): a non-empty `input` starts over; "" continues with the saved one.
const char *ntap_fn_tokenize(ntap_rt *rt, const char *input, const char *delims) {
  ntap::BuiltinState &state = rt->builtins;
  if (input && input[0]) {
    state.tokenize_input.assign(view(input).substr(0, rt->max_string_bytes()));
    state.tokenize_next = 0;
  }
  const std::string_view text = state.tokenize_input, separators = view(delims);
  while (state.tokenize_next != std::string::npos) {
    const size_t start = state.tokenize_next;
    const size_t end = separators.empty() ? std::string_view::npos : text.find_first_of(separators, start);
    state.tokenize_next = end == std::string_view::npos ? std::string::npos : end + 1;
    const std::string_view token = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!token.empty()) return rt->arena.keep(token);
  }
  return "";
}

const char *ntap_fn_text_str(ntap_rt *rt, const char *input) {
  return keep_result(rt, text_str(view(input).substr(0, rt->max_string_bytes()), rt->max_string_bytes(), false));
}

const char *ntap_fn_text_strn(ntap_rt *rt, const char *input, int64_t len, int64_t quoted) {
  const size_t limit = rt->max_string_bytes();
  const size_t out_limit = len <= 0 || static_cast<uint64_t>(len) > limit ? limit : static_cast<size_t>(len);
  return keep_result(rt, text_str(view(input).substr(0, limit), out_limit, quoted != 0));
}

}  // extern "C"
