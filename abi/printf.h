// The printf engine: SystemTap's format language, parsed once and applied
// many times. Both sides use it: user probes format directly, kernel probes
// send records whose packed arguments are formatted here (docs/architecture.md, decision 5).
//
// Conversions: %[-+ #0][width|*][.prec|.*][h|l|ll]{d,i,u,o,x,X,p,s,c,b,m,M,%}
// with stap's semantics (its runtime/vsprintf.c), notably:
//   - every integer is 64-bit; length modifiers are accepted and ignored;
//   - %p is %#x: "0x" + lowercase hex, padded to the width when one is given;
//   - '#' adds "0x"/"0X" to %x/%X and a leading 0 to %o even for 0; on %c it
//     escapes unprintable characters C-style;
//   - a precision on an integer is a minimum digit count ("%.0d" of 0 is "0");
//   - '*' takes the width/precision from the next (long) argument; a negative
//     width means left-justify, a negative precision counts as 0;
//   - %b writes the integer's raw bytes (little-endian): the precision (or
//     else the width) picks 1, 2, 4 or 8 bytes, default 8, and the field is
//     padded with NUL bytes up to the width;
//   - %m / %M take a string and dump `precision` bytes of it (default 1) raw
//     or as lowercase hex pairs; bytes past the end of the string read as 0;
//   - %s stops at the first NUL; its precision truncates.
// Widths and precisions are clamped to kMaxFieldWidth.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ntap {

// What one conversion (or one '*') consumes.
enum class ArgType : uint8_t { Long, String };

// Thrown by Format::parse; offset is the byte offset of the offending
// conversion's '%' in the format text, for a diagnostic at that column.
struct FormatError {
  size_t offset;
  std::string message;
};

class Format {
 public:
  static constexpr int kMaxFieldWidth = 8192;

  // One value per arg_types() entry: `l` for Long, `s` for String.
  struct Arg {
    int64_t l = 0;
    std::string_view s;
  };

  Format() = default;
  static Format parse(std::string_view text);

  const std::string &text() const { return text_; }
  // One entry per consumed argument, in order, '*' arguments included.
  const std::vector<ArgType> &arg_types() const { return arg_types_; }

  // Appends the formatted text to `out`; `args` has arg_types().size()
  // entries. Allocates nothing but the growth of `out`.
  void format_to(std::string &out, const Arg *args) const;
  std::string format(const Arg *args) const;

 private:
  enum class Conv : uint8_t {
    Literal,  // literals_[literal_begin, literal_end) ("%%" already folded)
    Signed,
    Unsigned,
    Octal,
    HexLower,
    HexUpper,
    Pointer,
    String,
    Char,
    Binary,
    Memory,
    MemoryHex,
  };
  static constexpr int kUnset = -1;

  struct Piece {
    Conv conv = Conv::Literal;
    uint8_t flags = 0;  // bits for the flag characters (printf.cpp)
    bool width_from_arg = false;
    bool precision_from_arg = false;
    int width = kUnset;
    int precision = kUnset;
    uint32_t literal_begin = 0;
    uint32_t literal_end = 0;
  };

  void append_piece(std::string &out, const Piece &piece, int width, int precision, uint8_t flags,
                    const Arg &value) const;

  std::string text_;
  std::string literals_;  // the literal runs of text_, with "%%" folded to "%"
  std::vector<Piece> pieces_;
  std::vector<ArgType> arg_types_;
};

}  // namespace ntap
