// Preprocessor conditions, following SystemTap's langref:
//
//   kernel_v / kernel_vr / systemtap_v  OP "version"   (version order; == and != take wildcards)
//   arch / runtime / systemtap_privilege  ==|!=  "glob"
//   CONFIG_NAME  ==|!= "glob"  |  OP number  |  OP CONFIG_OTHER
//   guru_mode OP number, NUMBER OP NUMBER, "string" OP "string", NUMBER alone
//   $# @# $N @N as operands; !, &&, ||, parentheses.
#include "frontend/preprocess_condition.h"

#include <fnmatch.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "frontend/kernel_config.h"

namespace ntap::pp {

namespace {

enum class Compare { Lt, Le, Eq, Ne, Gt, Ge };

struct Operand {
  enum class Kind { Number, String, Name } kind = Kind::Number;
  int64_t number = 0;
  std::string text;  // string value or name
  Token token;
};

template <typename T>
bool compare(const T &lhs, Compare op, const T &rhs) {
  switch (op) {
    case Compare::Lt: return lhs < rhs;
    case Compare::Le: return lhs <= rhs;
    case Compare::Eq: return lhs == rhs;
    case Compare::Ne: return lhs != rhs;
    case Compare::Gt: return lhs > rhs;
    case Compare::Ge: return lhs >= rhs;
  }
  return false;
}

bool has_wildcard(const std::string &pattern) { return std::strpbrk(pattern.c_str(), "*?[") != nullptr; }

bool glob_matches(const std::string &pattern, const std::string &value) {
  return fnmatch(pattern.c_str(), value.c_str(), FNM_NOESCAPE) == 0;
}

class ConditionParser {
 public:
  ConditionParser(Lexer &lexer, const ConditionScope &scope) : lexer_(lexer), scope_(scope) {}

  bool parse(const Token &open) {
    bool value = disjunction(true);
    Token end = lexer_.next();
    if (end.kind == TokenKind::CondThen) return value;
    if (end.kind == TokenKind::End) fail_at(scope_.file, open.begin, "missing '%?' in preprocessor conditional");
    fail(end, "missing '%?' in preprocessor conditional");
  }

 private:
  Lexer &lexer_;
  const ConditionScope &scope_;
  // `!` and `(` recurse once each: as in the parser (grammar.h's
  // max_nesting), deeper input is an error, not a stack overflow.
  static constexpr unsigned kMaxNesting = 1000;
  unsigned nesting_ = 0;

  [[noreturn]] void fail(const Token &token, const std::string &message) {
    fail_at(scope_.file, token.begin, message, describe_token(lexer_, token));
  }

  bool is_operator(const Token &token, std::string_view op) const {
    return token.kind == TokenKind::Operator && lexer_.text(token) == op;
  }

  bool disjunction(bool evaluate) {
    bool value = conjunction(evaluate);
    while (is_operator(lexer_.peek(), "||")) {
      lexer_.next();
      bool rhs = conjunction(evaluate && !value);
      value = value || rhs;
    }
    return value;
  }

  bool conjunction(bool evaluate) {
    bool value = negation(evaluate);
    while (is_operator(lexer_.peek(), "&&")) {
      lexer_.next();
      bool rhs = negation(evaluate && value);
      value = value && rhs;
    }
    return value;
  }

  bool negation(bool evaluate) {
    Token token = lexer_.peek();
    const bool nests = is_operator(token, "!") || is_operator(token, "(");
    if (!nests) return comparison(evaluate);
    if (++nesting_ > kMaxNesting)
      fail(token, "preprocessor condition nested too deeply (more than " + std::to_string(kMaxNesting) + " levels)");
    lexer_.next();
    bool value;
    if (is_operator(token, "!")) {
      value = !negation(evaluate);
    } else {
      value = disjunction(evaluate);
      Token close = lexer_.next();
      if (!is_operator(close, ")")) fail(close, "expected ')' in preprocessor condition");
    }
    --nesting_;
    return value;
  }

  std::optional<Compare> comparison_operator(const Token &token) const {
    if (token.kind != TokenKind::Operator) return std::nullopt;
    std::string_view op = lexer_.text(token);
    if (op == "<") return Compare::Lt;
    if (op == "<=") return Compare::Le;
    if (op == "==") return Compare::Eq;
    if (op == "!=") return Compare::Ne;
    if (op == ">") return Compare::Gt;
    if (op == ">=") return Compare::Ge;
    return std::nullopt;
  }

  bool comparison(bool evaluate) {
    Operand lhs = operand(evaluate);
    Token op_token = lexer_.peek();
    std::optional<Compare> op = comparison_operator(op_token);
    if (!op) {
      if (lhs.kind == Operand::Kind::Number) return lhs.number != 0;
      fail(op_token, "expected comparison operator in preprocessor condition");
    }
    lexer_.next();
    Operand rhs = operand(evaluate);
    if (!evaluate) return false;
    return compare_operands(lhs, *op, op_token, rhs);
  }

  bool compare_operands(const Operand &lhs, Compare op, const Token &op_token, const Operand &rhs) {
    switch (lhs.kind) {
      case Operand::Kind::Number:
        if (rhs.kind != Operand::Kind::Number) fail(rhs.token, "expected a number to compare with");
        return compare(lhs.number, op, rhs.number);
      case Operand::Kind::String:
        if (rhs.kind != Operand::Kind::String) fail(rhs.token, "expected a string to compare with");
        return compare(lhs.text, op, rhs.text);
      case Operand::Kind::Name: break;
    }
    const std::string &name = lhs.text;
    const PreprocessTarget &target = scope_.target;
    if (name == "kernel_v" || name == "kernel_vr" || name == "systemtap_v") {
      std::string actual = name == "systemtap_v" ? kSystemtapVersion
                           : name == "kernel_vr" ? target.kernel_release
                                                 : target.kernel_release.substr(0, target.kernel_release.find('-'));
      return version_compare(actual, op, op_token, rhs, name);
    }
    if (name == "arch" || name == "runtime" || name == "systemtap_privilege") {
      std::string actual = name == "arch" ? target.arch : name == "runtime" ? kRuntimeName : kPrivilegeName;
      if (rhs.kind != Operand::Kind::String) fail(rhs.token, name + " must be compared with a string literal");
      return glob_compare(actual, op, op_token, rhs.text);
    }
    if (name.rfind("CONFIG_", 0) == 0) return config_compare(lhs, op, op_token, rhs);
    if (name == "guru_mode") {
      if (rhs.kind != Operand::Kind::Number) fail(rhs.token, "guru_mode must be compared with a number");
      // A mode is on or off: stap refuses other values and orderings.
      if (rhs.number != 0 && rhs.number != 1) fail(op_token, "guru_mode is 0 or 1: expected 0 or 1");
      if (op != Compare::Eq && op != Compare::Ne) fail(op_token, "guru_mode is 0 or 1: expected '==' or '!='");
      return compare<int64_t>(0, op, rhs.number);  // ntap has no guru mode
    }
    fail(lhs.token, "unknown preprocessor condition '" + name +
                        "': expected kernel_v, kernel_vr, arch, runtime, CONFIG_..., systemtap_v, "
                        "systemtap_privilege, guru_mode, or a comparison of numbers or strings");
  }

  bool glob_compare(const std::string &actual, Compare op, const Token &op_token, const std::string &pattern) {
    if (op != Compare::Eq && op != Compare::Ne) fail(op_token, "expected '==' or '!='");
    return glob_matches(pattern, actual) == (op == Compare::Eq);
  }

  bool version_compare(const std::string &actual, Compare op, const Token &op_token, const Operand &rhs,
                       const std::string &name) {
    if (rhs.kind != Operand::Kind::String) fail(rhs.token, name + " must be compared with a string literal");
    if (has_wildcard(rhs.text)) {
      if (op != Compare::Eq && op != Compare::Ne)
        fail(op_token, "wildcard not allowed with order comparison operators");
      return glob_matches(rhs.text, actual) == (op == Compare::Eq);
    }
    int order = strverscmp(actual.c_str(), rhs.text.c_str());
    return compare(order < 0 ? -1 : order > 0 ? 1 : 0, op, 0);
  }

  const KernelConfig &config(const Token &at) {
    if (!scope_.target.config) fail(at, "CONFIG_ options are not known here (no kernel configuration was given)");
    const KernelConfig &config = scope_.target.config();
    if (!config.available())
      fail(at, "the kernel configuration cannot be read (/boot/config-" + scope_.target.kernel_release +
                   " or /proc/config.gz)");
    return config;
  }

  static bool as_number(const std::string &text, int64_t &number) {
    errno = 0;
    char *end = nullptr;
    number = std::strtoll(text.c_str(), &end, 0);
    return errno == 0 && *end == '\0';
  }

  bool config_compare(const Operand &lhs, Compare op, const Token &op_token, const Operand &rhs) {
    std::string value = config(lhs.token).value(lhs.text);
    switch (rhs.kind) {
      case Operand::Kind::String: return glob_compare(value, op, op_token, rhs.text);
      case Operand::Kind::Number: {
        errno = 0;
        char *end = nullptr;
        // An option that is not set ("") is 0, as in stap.
        int64_t number = std::strtoll(value.c_str(), &end, 0);
        if (errno != 0 || *end != '\0') fail(lhs.token, lhs.text + " is '" + value + "', not a number");
        return compare(number, op, rhs.number);
      }
      case Operand::Kind::Name: {
        if (rhs.text.rfind("CONFIG_", 0) != 0)
          fail(rhs.token, "expected a string, a number or another CONFIG_ option to compare with");
        // Numbers when both are (an unset option being 0), else text.
        std::string other = config(rhs.token).value(rhs.text);
        int64_t left = 0, right = 0;
        if (as_number(value, left) && as_number(other, right)) return compare(left, op, right);
        return compare(value, op, other);
      }
    }
    return false;
  }

  Operand operand(bool evaluate) {
    Operand result;
    Token token = lexer_.next();
    result.token = token;
    std::string_view text = lexer_.text(token);
    switch (token.kind) {
      case TokenKind::Identifier:
        result.kind = Operand::Kind::Name;
        result.text = std::string(text);
        return result;
      case TokenKind::Number:
        result.number = parse_number(token, text);
        return result;
      case TokenKind::Operator:
        if (text == "-" && lexer_.peek().kind == TokenKind::Number) {
          Token digits = lexer_.next();
          result.number = static_cast<int64_t>(0ULL - static_cast<uint64_t>(parse_number(digits, lexer_.text(digits))));
          return result;
        }
        break;
      case TokenKind::String:
        result.kind = Operand::Kind::String;
        result.text = string_value(token, text);
        return result;
      case TokenKind::ArgCountNumber:
        result.number = static_cast<int64_t>(scope_.args.size());
        return result;
      case TokenKind::ArgCountString:
        result.kind = Operand::Kind::String;
        result.text = std::to_string(scope_.args.size());
        return result;
      case TokenKind::ArgNumber:
        if (evaluate) {
          const std::string &arg = script_arg(scope_.file, token, text, scope_.args);
          std::string number = numeric_arg_text(arg);
          if (number.empty()) fail(token, "command line argument " + std::string(text) + " ('" + arg + "') is not a number");
          result.number = static_cast<int64_t>(std::strtoull(number.c_str() + (number[0] == '-'), nullptr, 0));
          if (number[0] == '-') result.number = static_cast<int64_t>(0ULL - static_cast<uint64_t>(result.number));
        }
        return result;
      case TokenKind::ArgString:
        result.kind = Operand::Kind::String;
        if (evaluate) result.text = script_arg(scope_.file, token, text, scope_.args);
        return result;
      case TokenKind::End:
      case TokenKind::CondThen:
        fail(token, "expected preprocessor condition");
      default: break;
    }
    fail(token, "expected preprocessor condition operand (a name, number, string, $# or $1...)");
  }

  int64_t parse_number(const Token &token, std::string_view text) {
    std::string digits(text);
    errno = 0;
    char *end = nullptr;
    uint64_t value = std::strtoull(digits.c_str(), &end, 0);
    if (errno != 0 || *end != '\0') fail(token, "invalid number '" + digits + "'");
    return static_cast<int64_t>(value);
  }

  std::string string_value(const Token &token, std::string_view text) {
    if (text.size() < 2 || text.back() != '"') fail(token, "unterminated string");
    std::string value;
    for (size_t i = 1; i + 1 < text.size(); ++i) {
      if (text[i] == '\\' && i + 2 < text.size()) ++i;
      value += text[i];
    }
    return value;
  }
};

}  // namespace

std::string describe_token(const Lexer &lexer, const Token &token) {
  std::string text(lexer.text(token));
  switch (token.kind) {
    case TokenKind::End: return "end of file";
    case TokenKind::Identifier: return "identifier '" + text + "'";
    case TokenKind::Number: return "number '" + text + "'";
    case TokenKind::String: return "string " + text;
    default: return "operator '" + text + "'";
  }
}

bool evaluate_condition(Lexer &lexer, const Token &open, const ConditionScope &scope) {
  return ConditionParser(lexer, scope).parse(open);
}

}  // namespace ntap::pp
