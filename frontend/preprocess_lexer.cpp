// The preprocessor's tokenizer and the helpers its parts share.
#include "frontend/preprocess_lexer.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace ntap::pp {

namespace {
bool is_identifier_first(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_identifier_other(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

void Lexer::skip_gap() {
  while (pos_ < end_) {
    char c = text_[pos_];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++pos_;
    } else if (c == '#' || at("//")) {
      while (pos_ < end_ && text_[pos_] != '\n') ++pos_;
    } else if (at("/*")) {
      size_t close = text_.find("*/", pos_ + 2);
      // An unterminated comment runs to the end; the grammar reports it.
      pos_ = close == std::string_view::npos || close + 2 > end_ ? end_ : close + 2;
    } else {
      return;
    }
  }
}

Token Lexer::next() {
  Token token;
  token.gap_begin = pos_;
  skip_gap();
  token.begin = pos_;
  if (pos_ >= end_) {
    token.end = pos_;
    return token;
  }
  const char c = text_[pos_];
  const char c2 = peek_char(1);
  auto take = [&](TokenKind kind, size_t length) {
    token.kind = kind;
    pos_ += length;
    token.end = pos_;
    return token;
  };
  if (c == '%') {
    switch (c2) {
      case '(': return take(TokenKind::CondOpen, 2);
      case '?': return take(TokenKind::CondThen, 2);
      case ':': return take(TokenKind::CondElse, 2);
      case ')': return take(TokenKind::CondClose, 2);
      case '{': {
        size_t close = text_.find("%}", pos_ + 2);
        size_t length = close == std::string_view::npos || close + 2 > end_ ? end_ - pos_ : close + 2 - pos_;
        return take(TokenKind::EmbeddedC, length);
      }
      default: return take(TokenKind::Operator, 1);
    }
  }
  if ((c == '$' || c == '@') && c2 == '#')
    return take(c == '$' ? TokenKind::ArgCountNumber : TokenKind::ArgCountString, 2);
  if ((c == '$' || c == '@') && is_digit(c2)) {
    size_t length = 1;
    while (is_digit(peek_char(length))) ++length;
    return take(c == '$' ? TokenKind::ArgNumber : TokenKind::ArgString, length);
  }
  if (c == '@' && is_identifier_first(c2)) {
    size_t length = 1;
    while (is_identifier_other(peek_char(length))) ++length;
    return take(TokenKind::AtName, length);
  }
  if (c == '$') {
    size_t length = 1;
    while (is_identifier_other(peek_char(length)) || peek_char(length) == '$') ++length;
    return take(TokenKind::Other, length);
  }
  if (is_identifier_first(c)) {
    // A `$` continues a name (stap's lexer), so `foo$1` is one identifier
    // and its `$1` no script argument: arguments are only whole tokens.
    size_t length = 1;
    while (is_identifier_other(peek_char(length)) || peek_char(length) == '$') ++length;
    return take(TokenKind::Identifier, length);
  }
  if (is_digit(c)) {
    size_t length = 1;
    while (is_identifier_other(peek_char(length))) ++length;
    return take(TokenKind::Number, length);
  }
  if (c == '"') {
    size_t length = 1;
    while (pos_ + length < end_ && text_[pos_ + length] != '"' && text_[pos_ + length] != '\n')
      length += text_[pos_ + length] == '\\' && pos_ + length + 1 < end_ && text_[pos_ + length + 1] != '\n' ? 2 : 1;
    if (pos_ + length < end_ && text_[pos_ + length] == '"') ++length;
    return take(TokenKind::String, length);
  }
  static constexpr std::string_view two_char_operators[] = {"<=", ">=", "==", "!=", "&&", "||"};
  for (std::string_view op : two_char_operators)
    if (at(op)) return take(TokenKind::Operator, 2);
  return take(std::ispunct(static_cast<unsigned char>(c)) ? TokenKind::Operator : TokenKind::Other, 1);
}

Location location_in(const SourceFile &file, size_t offset) {
  offset = std::min(offset, file.text.size());
  auto next_line = std::upper_bound(file.line_starts.begin(), file.line_starts.end(), static_cast<uint32_t>(offset));
  size_t line_index = static_cast<size_t>(next_line - file.line_starts.begin()) - 1;
  return Location{&file, static_cast<uint32_t>(line_index + 1),
                  static_cast<uint32_t>(offset - file.line_starts[line_index] + 1)};
}

void fail_at(const SourceFile &file, size_t offset, const std::string &message, const std::string &saw) {
  throw CompileError(ErrorKind::Parse, message, location_in(file, offset), saw);
}

const std::string &script_arg(const SourceFile &file, const Token &token, std::string_view token_text,
                              const std::vector<std::string> &args) {
  std::string_view digits = token_text.substr(1);
  size_t index = 0;
  for (char d : digits) index = std::min<size_t>(index * 10 + static_cast<size_t>(d - '0'), 1'000'000);
  if (index < 1 || index > args.size())
    fail_at(file, token.begin,
            "command line argument index " + std::string(digits) + " out of range [1-" + std::to_string(args.size()) +
                "]",
            "operator '" + std::string(token_text) + "'");
  return args[index - 1];
}

bool has_nested_argument(std::string_view arg) {
  Lexer lexer(arg, 0, arg.size());
  for (Token token = lexer.next(); token.kind != TokenKind::End; token = lexer.next())
    if (token.kind == TokenKind::ArgNumber || token.kind == TokenKind::ArgString ||
        token.kind == TokenKind::ArgCountNumber || token.kind == TokenKind::ArgCountString)
      return true;
  return false;
}

std::string numeric_arg_text(std::string_view arg) {
  std::string_view digits = arg;
  std::string sign;
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
    if (digits[0] == '-') sign = "-";
    digits.remove_prefix(1);
  }
  if (digits.empty()) return {};
  bool hex = digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X');
  for (size_t i = hex ? 2 : 0; i < digits.size(); ++i) {
    char d = digits[i];
    bool ok = hex ? std::isxdigit(static_cast<unsigned char>(d)) != 0 : is_digit(d);
    if (!ok) return {};
  }
  return sign + std::string(digits);
}

std::string quoted_string_literal(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char octal[6];
          std::snprintf(octal, sizeof octal, "\\%03o", static_cast<unsigned char>(c));
          out += octal;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace ntap::pp
