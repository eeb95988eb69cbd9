// The preprocessor's tokenizer (internal to frontend/preprocess*.cpp).
//
// It knows just enough of the language to find the preprocessor's own tokens
// safely: strings and comments are whole tokens or gaps, so a `%(` inside
// "a string" or a comment is never a conditional. Everything else is handed
// on as text for the grammar to read.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/diagnostics.h"

namespace ntap::pp {

enum class TokenKind : uint8_t {
  End,
  Identifier,
  Number,
  String,          // "...", the quotes included (runs to the line's end when unterminated)
  Operator,        // punctuation; the two-character comparisons and && || are one token
  CondOpen,        // %(
  CondThen,        // %?
  CondElse,        // %:
  CondClose,       // %)
  EmbeddedC,       // %{ ... %}, passed through for the grammar to reject
  AtName,          // @name: @define, a macro use or parameter, or an @-operator
  ArgNumber,       // $1
  ArgString,       // @1
  ArgCountNumber,  // $#
  ArgCountString,  // @#
  Other,           // $target, $$vars and anything else copied as is
};

struct Token {
  TokenKind kind = TokenKind::End;
  size_t gap_begin = 0;  // start of the whitespace and comments before the token
  size_t begin = 0;
  size_t end = 0;
};

class Lexer {
 public:
  // Tokenizes text[pos, end).
  Lexer(std::string_view text, size_t pos, size_t end) : text_(text), pos_(pos), end_(end) {}

  Token next();
  Token peek() {
    size_t saved = pos_;
    Token token = next();
    pos_ = saved;
    return token;
  }
  size_t position() const { return pos_; }
  size_t end() const { return end_; }
  std::string_view text(const Token &token) const { return text_.substr(token.begin, token.end - token.begin); }
  std::string_view source() const { return text_; }  // the whole text the offsets are in

 private:
  void skip_gap();
  bool at(std::string_view s) const { return text_.substr(pos_, end_ - pos_).rfind(s, 0) == 0; }
  char peek_char(size_t ahead = 0) const { return pos_ + ahead < end_ ? text_[pos_ + ahead] : '\0'; }

  std::string_view text_;
  size_t pos_;
  size_t end_;
};

// The script location of a byte of `file`.
Location location_in(const SourceFile &file, size_t offset);

[[noreturn]] void fail_at(const SourceFile &file, size_t offset, const std::string &message,
                          const std::string &saw = {});

// The N of a `$N` / `@N` token, checked against the argument count: throws
// "command line argument index N out of range [1-M]" at the token.
const std::string &script_arg(const SourceFile &file, const Token &token, std::string_view token_text,
                              const std::vector<std::string> &args);

// Whether a `$N` argument's text, read as this lexer reads a script, holds
// a script-argument token of its own (`$1`, `@2`, `$#`; not in a string, a
// comment or a name such as `x$1`): stap
// pastes the text unexpanded and refuses it ("invalid nested substitution
// of command line arguments").
bool has_nested_argument(std::string_view arg);

// The argument as the text of a number literal ("-5", "0x10"), or "" when it
// is not one.
std::string numeric_arg_text(std::string_view arg);

// A string literal, escaped, whose value is `value`.
std::string quoted_string_literal(std::string_view value);

}  // namespace ntap::pp
