// SystemTap-compatible printf: parsing once into pieces, then formatting
// without intermediate allocations. The padding and sign rules follow stap's
// runtime (which in turn follows the kernel's vsprintf), not glibc's, where
// the two differ: "%#x" of 0 is "0x0", "%.0d" of 0 is "0", "%05.3d" pads
// with zeros.
#include "abi/printf.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace ntap {
namespace {

// The flag characters of a conversion, as bits of Piece::flags.
constexpr uint8_t Left = 1;       // '-'
constexpr uint8_t Plus = 2;       // '+'
constexpr uint8_t Space = 4;      // ' '
constexpr uint8_t Alternate = 8;  // '#'
constexpr uint8_t ZeroPad = 16;   // '0'

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int clamp_field(int64_t value) {
  return static_cast<int>(std::clamp<int64_t>(value, 0, Format::kMaxFieldWidth));
}

void pad(std::string &out, int count, char fill) {
  if (count > 0) out.append(static_cast<size_t>(count), fill);
}

// How an unprintable %c looks under '#': a C escape or a 3-digit octal.
// Returns the number of bytes written to `buf` (1, 2 or 4).
int escape_char(unsigned char c, bool escape, char buf[4]) {
  bool printable = c >= 0x20 && c < 0x7f;
  if (!escape || (printable && c != '\'' && c != '\\')) {
    buf[0] = static_cast<char>(c);
    return 1;
  }
  char short_form = 0;
  switch (c) {
    case '\a': short_form = 'a'; break;
    case '\b': short_form = 'b'; break;
    case '\f': short_form = 'f'; break;
    case '\n': short_form = 'n'; break;
    case '\r': short_form = 'r'; break;
    case '\t': short_form = 't'; break;
    case '\v': short_form = 'v'; break;
    case '\'': short_form = '\''; break;
    case '\\': short_form = '\\'; break;
  }
  buf[0] = '\\';
  if (short_form) {
    buf[1] = short_form;
    return 2;
  }
  buf[1] = static_cast<char>('0' + ((c >> 6) & 3));
  buf[2] = static_cast<char>('0' + ((c >> 3) & 7));
  buf[3] = static_cast<char>('0' + (c & 7));
  return 4;
}

struct NumberStyle {
  int base = 10;
  bool is_signed = false;
  bool upper = false;
};

// stap's number(): [spaces][sign][0x|0][zeros][digits][spaces].
void append_number(std::string &out, uint64_t num, NumberStyle style, int width, int precision,
                   uint8_t flags) {
  if (flags & Left) flags &= static_cast<uint8_t>(~ZeroPad);
  char sign = 0;
  if (style.is_signed) {
    if (static_cast<int64_t>(num) < 0) {
      sign = '-';
      num = 0 - num;
    } else if (flags & Plus) {
      sign = '+';
    } else if (flags & Space) {
      sign = ' ';
    }
    if (sign) --width;
  }
  const char *prefix = "";
  if (flags & Alternate) {
    if (style.base == 16) prefix = style.upper ? "0X" : "0x";
    else if (style.base == 8) prefix = "0";
    width -= static_cast<int>(std::strlen(prefix));
  }
  char digits[64];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, num, style.base);
  int ndigits = static_cast<int>(end - digits);
  if (style.upper) std::transform(digits, end, digits, [](char c) { return c >= 'a' ? char(c - 32) : c; });
  if (ndigits > precision) precision = ndigits;
  width -= precision;
  if (!(flags & (ZeroPad | Left))) {
    pad(out, width, ' ');
    width = 0;
  }
  if (sign) out.push_back(sign);
  out.append(prefix);
  if (!(flags & Left)) {
    pad(out, width, (flags & ZeroPad) ? '0' : ' ');
    width = 0;
  }
  pad(out, precision - ndigits, '0');
  out.append(digits, static_cast<size_t>(ndigits));
  pad(out, width, ' ');
}

int binary_size(int precision) {
  return (precision == 1 || precision == 2 || precision == 4 || precision == 8) ? precision : -1;
}

}  // namespace

Format Format::parse(std::string_view text) {
  Format f;
  f.text_ = std::string(text);
  Piece literal;
  auto flush_literal = [&] {
    literal.literal_end = static_cast<uint32_t>(f.literals_.size());
    if (literal.literal_end > literal.literal_begin) f.pieces_.push_back(literal);
    literal = Piece{};
    literal.literal_begin = static_cast<uint32_t>(f.literals_.size());
  };

  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '%') {
      f.literals_.push_back(text[i++]);
      continue;
    }
    size_t start = i++;
    auto fail = [&](const char *message) { throw FormatError{start, message}; };
    if (i < text.size() && text[i] == '%') {
      f.literals_.push_back('%');
      ++i;
      continue;
    }
    Piece p;
    for (; i < text.size(); ++i) {
      char c = text[i];
      if (c == '-') p.flags |= Left;
      else if (c == '+') p.flags |= Plus;
      else if (c == ' ') p.flags |= Space;
      else if (c == '#') p.flags |= Alternate;
      else if (c == '0') p.flags |= ZeroPad;
      else break;
    }
    if (i < text.size() && text[i] == '*') {
      p.width_from_arg = true;
      f.arg_types_.push_back(ArgType::Long);
      ++i;
    } else if (i < text.size() && is_digit(text[i])) {
      int64_t width = 0;
      while (i < text.size() && is_digit(text[i])) width = std::min<int64_t>(width * 10 + (text[i++] - '0'), kMaxFieldWidth);
      p.width = static_cast<int>(width);
    }
    if (i < text.size() && text[i] == '.') {
      ++i;
      if (i < text.size() && text[i] == '*') {
        p.precision_from_arg = true;
        f.arg_types_.push_back(ArgType::Long);
        ++i;
      } else {
        int64_t precision = 0;  // "." alone means 0, as in C
        while (i < text.size() && is_digit(text[i]))
          precision = std::min<int64_t>(precision * 10 + (text[i++] - '0'), kMaxFieldWidth);
        p.precision = static_cast<int>(precision);
      }
    }
    // Length modifiers mean nothing here (every integer is 64-bit).
    if (i < text.size() && (text[i] == 'h' || text[i] == 'l' || text[i] == 'L')) {
      bool was_l = text[i] == 'l';
      ++i;
      if (was_l && i < text.size() && text[i] == 'l') ++i;
    }
    if (i >= text.size()) fail("invalid or missing conversion specifier");
    ArgType consumes = ArgType::Long;
    switch (text[i]) {
      case 'd': case 'i': p.conv = Conv::Signed; break;
      case 'u': p.conv = Conv::Unsigned; break;
      case 'o': p.conv = Conv::Octal; break;
      case 'x': p.conv = Conv::HexLower; break;
      case 'X': p.conv = Conv::HexUpper; break;
      case 'p': p.conv = Conv::Pointer; break;
      case 'c': p.conv = Conv::Char; break;
      case 'b': p.conv = Conv::Binary; break;
      case 's': p.conv = Conv::String; consumes = ArgType::String; break;
      case 'm': p.conv = Conv::Memory; consumes = ArgType::String; break;
      case 'M': p.conv = Conv::MemoryHex; consumes = ArgType::String; break;
      case '%':
        // "%5%" and friends: stap prints a plain '%' and ignores the rest.
        if (p.width_from_arg || p.precision_from_arg) fail("'*' cannot be used with '%%'");
        f.literals_.push_back('%');
        ++i;
        continue;
      default:
        fail("invalid or missing conversion specifier");
    }
    ++i;
    f.arg_types_.push_back(consumes);
    flush_literal();
    f.pieces_.push_back(p);
  }
  flush_literal();
  return f;
}

void Format::append_piece(std::string &out, const Piece &p, int width, int precision, uint8_t flags,
                          const Arg &value) const {
  auto number = [&](NumberStyle style) {
    append_number(out, static_cast<uint64_t>(value.l), style, width, precision, flags);
  };
  switch (p.conv) {
    case Conv::Literal:
      break;
    case Conv::Signed: number({10, true, false}); break;
    case Conv::Unsigned: number({10, false, false}); break;
    case Conv::Octal: number({8, false, false}); break;
    case Conv::HexLower: number({16, false, false}); break;
    case Conv::HexUpper: number({16, false, true}); break;
    case Conv::Pointer:
      flags |= Alternate;
      number({16, false, false});
      break;
    case Conv::Char: {
      char buf[4];
      int size = escape_char(static_cast<unsigned char>(value.l), flags & Alternate, buf);
      if (!(flags & Left)) pad(out, width - size, ' ');
      out.append(buf, static_cast<size_t>(size));
      if (flags & Left) pad(out, width - size, ' ');
      break;
    }
    case Conv::String: {
      std::string_view s = value.s;
      size_t len = std::min(s.find('\0'), s.size());
      if (precision != kUnset) len = std::min(len, static_cast<size_t>(precision));
      int shown = static_cast<int>(len);
      if (!(flags & Left)) pad(out, width - shown, ' ');
      out.append(s.data(), len);
      if (flags & Left) pad(out, width - shown, ' ');
      break;
    }
    case Conv::Memory:
    case Conv::MemoryHex: {
      static constexpr char kHex[] = "0123456789abcdef";
      int len = precision > 0 ? precision : 1;
      int shown = p.conv == Conv::MemoryHex ? 2 * len : len;
      if (!(flags & Left)) pad(out, width - shown, ' ');
      for (int k = 0; k < len; ++k) {
        unsigned char byte = static_cast<size_t>(k) < value.s.size() ? static_cast<unsigned char>(value.s[k]) : 0;
        if (p.conv == Conv::Memory) {
          out.push_back(static_cast<char>(byte));
        } else {
          out.push_back(kHex[byte >> 4]);
          out.push_back(kHex[byte & 15]);
        }
      }
      if (flags & Left) pad(out, width - shown, ' ');
      break;
    }
    case Conv::Binary: {
      // The byte count comes from the precision, else from the width, else 8;
      // a width larger than the byte count pads with NUL bytes.
      int bytes = binary_size(precision);
      if (width == kUnset) {
        if (bytes == kUnset) bytes = 8;
        width = bytes;
      } else if (bytes == kUnset) {
        bytes = binary_size(width);
        if (bytes == kUnset) bytes = 8;
      }
      if (!(flags & Left)) pad(out, width - bytes, '\0');
      uint64_t v = static_cast<uint64_t>(value.l);
      for (int k = 0; k < bytes; ++k) out.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
      if (flags & Left) pad(out, width - bytes, '\0');
      break;
    }
  }
}

void Format::format_to(std::string &out, const Arg *args) const {
  size_t next_arg = 0;
  for (const Piece &p : pieces_) {
    if (p.conv == Conv::Literal) {
      out.append(literals_, p.literal_begin, p.literal_end - p.literal_begin);
      continue;
    }
    uint8_t flags = p.flags;
    int width = p.width;
    int precision = p.precision;
    if (p.width_from_arg) {
      int64_t w = args[next_arg++].l;
      if (w < 0) {
        flags |= Left;
        w = w == INT64_MIN ? INT64_MAX : -w;
      }
      width = clamp_field(w);
    }
    if (p.precision_from_arg) precision = clamp_field(args[next_arg++].l);
    append_piece(out, p, width, precision, flags, args[next_arg++]);
  }
}

std::string Format::format(const Arg *args) const {
  std::string out;
  format_to(out, args);
  return out;
}

}  // namespace ntap
