// Parse tree -> AST: literals (numbers, strings with their escapes) and
// expressions, including @-operators and the regex operand check.
#include "frontend/ast_builder.h"
#include "frontend/regex_bounds.h"

#include <fmt/format.h>
#include <regex.h>

#include "frontend/clone.h"
#include "frontend/histogram.h"

namespace ntap::parsing {

// ------------------------------------------------------------ literals

int64_t AstBuilder::number(const Node &n) const {
  std::string_view t = n.string_view();
  unsigned base = 10;
  size_t i = 0;
  if (t.size() > 1 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    base = 16;
    i = 2;
    if (t.size() == 2) fail(n, "invalid number '" + std::string(t) + "'");
  } else if (t.size() > 1 && t[0] == '0') {
    base = 8;
    i = 1;
  }
  // Accumulate in uint64: as in stap, literals up to 2^64-1 are accepted and
  // wrap (0xffffffffffffffff is -1); anything larger is an error.
  uint64_t value = 0;
  for (; i < t.size(); ++i) {
    char c = t[i];
    unsigned digit = c >= '0' && c <= '9'   ? unsigned(c - '0')
                     : c >= 'a' && c <= 'f' ? unsigned(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? unsigned(c - 'A' + 10)
                                            : 99;
    if (digit >= base) fail(n, "invalid number '" + std::string(t) + "'");
    if (__builtin_mul_overflow(value, uint64_t{base}, &value) || __builtin_add_overflow(value, uint64_t{digit}, &value))
      fail(n, "number invalid or out of range: '" + std::string(t) + "'");
  }
  return static_cast<int64_t>(value);
}

// Decodes C escapes of one "..." piece; errors point at the backslash.
void AstBuilder::decode_string(const Node &body, std::string &out) const {
  std::string_view t = body.string_view();
  auto is_oct = [](char c) { return c >= '0' && c <= '7'; };
  auto hex_value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] != '\\') {
      out += t[i];
      continue;
    }
    size_t start = i++;
    char c = t[i];
    switch (c) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case '\\': case '"': case '\'': case '?': out += c; break;
      case 'x': {
        int value = 0, digits = 0;
        while (digits < 2 && i + 1 < t.size() && hex_value(t[i + 1]) >= 0) value = value * 16 + hex_value(t[++i]), ++digits;
        if (!digits) escape_error(body, start, "\\x used with no following hex digits");
        out += static_cast<char>(value);
        break;
      }
      default:
        if (is_oct(c)) {
          int value = c - '0', digits = 1;
          while (digits < 3 && i + 1 < t.size() && is_oct(t[i + 1])) value = value * 8 + (t[++i] - '0'), ++digits;
          out += static_cast<char>(value);
        } else {
          escape_error(body, start, std::string("unknown escape sequence '\\") + c + "' in string");
        }
    }
  }
}

void AstBuilder::escape_error(const Node &body, size_t offset, const std::string &message) const {
  Location at = source_.map.locate(body.m_begin.byte + offset);
  throw CompileError(ErrorKind::Parse, with_expansion_note(source_, message, body.m_begin.byte), at,
                     describe_token_at(source_.text, body.m_begin.byte));
}

std::string AstBuilder::string_value(const Node &literal) const {
  std::string out;
  for (const auto &piece : literal.children) decode_string(*piece, out);
  return out;
}

// ------------------------------------------------------------ expressions

ExprPtr AstBuilder::lvalue(const Node &n, const char *what) {
  ExprPtr e = expr(n);
  if (!is_lvalue(*e)) fail(n, std::string(what) + " must be a variable or an array element");
  return e;
}

ExprPtr AstBuilder::assignable(const Node &n, const char *what) {
  ExprPtr e = expr(n);
  if (!is_lvalue(*e) && e->kind != ExprKind::TargetVar)
    fail(n, std::string(what) + " must be a variable or an array element");
  return e;
}

std::optional<BinaryOp> AstBuilder::binary_op(const Node &op) {
  if (op.is_type<g::op_plus>()) return BinaryOp::Add;
  if (op.is_type<g::op_minus>()) return BinaryOp::Sub;
  if (op.is_type<g::op_mul>()) return BinaryOp::Mul;
  if (op.is_type<g::op_div>()) return BinaryOp::Div;
  if (op.is_type<g::op_mod>()) return BinaryOp::Mod;
  if (op.is_type<g::op_concat>()) return BinaryOp::Concat;
  if (op.is_type<g::op_shl>()) return BinaryOp::Shl;
  if (op.is_type<g::op_shr>()) return BinaryOp::Shr;
  if (op.is_type<g::op_ushr>()) return BinaryOp::Ushr;
  if (op.is_type<g::op_regex_match>()) return BinaryOp::RegexMatch;
  if (op.is_type<g::op_regex_nomatch>()) return BinaryOp::RegexNoMatch;
  if (op.is_type<g::op_lt>()) return BinaryOp::Lt;
  if (op.is_type<g::op_le>()) return BinaryOp::Le;
  if (op.is_type<g::op_gt>()) return BinaryOp::Gt;
  if (op.is_type<g::op_ge>()) return BinaryOp::Ge;
  if (op.is_type<g::op_eq>()) return BinaryOp::Eq;
  if (op.is_type<g::op_ne>()) return BinaryOp::Ne;
  if (op.is_type<g::op_bitand>()) return BinaryOp::BitAnd;
  if (op.is_type<g::op_bitor>()) return BinaryOp::BitOr;
  if (op.is_type<g::op_bitxor>()) return BinaryOp::BitXor;
  return std::nullopt;
}

AssignOp AstBuilder::assign_op(const Node &op) {
  if (op.is_type<g::op_add_assign>()) return AssignOp::Add;
  if (op.is_type<g::op_sub_assign>()) return AssignOp::Sub;
  if (op.is_type<g::op_mul_assign>()) return AssignOp::Mul;
  if (op.is_type<g::op_div_assign>()) return AssignOp::Div;
  if (op.is_type<g::op_mod_assign>()) return AssignOp::Mod;
  if (op.is_type<g::op_shl_assign>()) return AssignOp::Shl;
  if (op.is_type<g::op_shr_assign>()) return AssignOp::Shr;
  if (op.is_type<g::op_and_assign>()) return AssignOp::BitAnd;
  if (op.is_type<g::op_or_assign>()) return AssignOp::BitOr;
  if (op.is_type<g::op_xor_assign>()) return AssignOp::BitXor;
  if (op.is_type<g::op_concat_assign>()) return AssignOp::Concat;
  return AssignOp::Set;
}

// operand (op operand)* of one precedence level, folded to the left. Each
// node is located at its operator, as stap reports run-time errors there
// ("division by 0 near operator '/' at FILE:LINE:COL").
ExprPtr AstBuilder::left_assoc(const Node &n) {
  const auto &c = n.children;
  ExprPtr result = expr(*c[0]);
  for (size_t i = 1; i + 1 < c.size(); i += 2) {
    ExprPtr rhs = expr(*c[i + 1]);
    if (c[i]->is_type<g::op_andand>() || c[i]->is_type<g::op_oror>()) {
      LogicalOp op = c[i]->is_type<g::op_andand>() ? LogicalOp::And : LogicalOp::Or;
      result = std::make_unique<LogicalExpr>(loc(*c[i]), op, std::move(result), std::move(rhs));
    } else {
      BinaryOp op = *binary_op(*c[i]);
      if (is_regex_op(op)) check_regex(*c[i + 1], *rhs);
      result = std::make_unique<BinaryExpr>(loc(*c[i]), op, std::move(result), std::move(rhs));
    }
  }
  return result;
}

// The pattern of =~ / !~ must be a literal (as in stap) that compiles as a
// POSIX extended regular expression; it is compiled once more at run time.
void AstBuilder::check_regex(const Node &n, const Expr &pattern) const {
  if (pattern.kind != ExprKind::String) fail(n, "the regular expression of =~ / !~ must be a literal string");
  // Bounded before regcomp, which may take gigabytes or the whole stack.
  if (auto beyond = regex_beyond_bounds(cast<StringExpr>(pattern).value)) fail(n, *beyond);
  regex_t compiled;
  const int status = regcomp(&compiled, cast<StringExpr>(pattern).value.c_str(), REG_EXTENDED);
  if (status != 0) {
    char reason[256];
    regerror(status, &compiled, reason, sizeof reason);
    fail(n, std::string("invalid regular expression: ") + reason);
  }
  regfree(&compiled);
}

// A literal histogram or variance parameter: a number, maybe negated.
int64_t AstBuilder::literal_parameter(const Node &n, const std::string &op) {
  ExprPtr e = expr(n);
  if (e->kind == ExprKind::Number) return cast<NumberExpr>(*e).value;
  if (e->kind == ExprKind::Unary && cast<UnaryExpr>(*e).op == UnaryOp::Neg &&
      cast<UnaryExpr>(*e).operand->kind == ExprKind::Number)
    return static_cast<int64_t>(0ULL - uint64_t(cast<NumberExpr>(*cast<UnaryExpr>(*e).operand).value));
  fail(n, op + " parameters must be literal numbers");
}

// @variance(x[, bit_shift]), @hist_log(x), @hist_linear(x, low, high, width),
// each maybe followed by [bucket] for the histograms.
ExprPtr AstBuilder::stats_with_parameters(const Node &n, const std::string &name, StatsFn fn, size_t operands) {
  const bool bucketed = n.children.back()->is_type<g::at_bucket>();
  if (bucketed && !is_histogram(fn)) fail(*n.children.back(), "only histograms can be indexed by bucket");
  const size_t given = operands - (bucketed ? 1 : 0);
  const size_t wanted = fn == StatsFn::HistLinear ? 4 : 1;
  if (given != wanted && !(fn == StatsFn::Variance && given == 2))
    fail(n, name + (fn == StatsFn::HistLinear ? " takes an aggregate and three literal numbers (low, high, width)"
                    : fn == StatsFn::Variance ? " takes an aggregate and an optional literal bit shift"
                                              : " takes one operand"));
  ExprPtr operand = expr(*n.children[1]);
  if (!is_lvalue(*operand)) fail(*n.children[1], name + " needs an aggregate variable or array element");
  auto op = std::make_unique<StatsOpExpr>(loc(n), fn, std::move(operand));
  for (size_t i = 2; i <= given; ++i) op->params.push_back(literal_parameter(*n.children[i], name));
  if (fn == StatsFn::Variance && !op->params.empty() && (op->params[0] < 0 || op->params[0] > 62))
    fail(*n.children[2], "@variance bit shift must be between 0 and 62");
  if (bucketed) op->bucket = expr(*n.children.back()->children[0]);
  return op;
}

ExprPtr AstBuilder::at_operator(const Node &n) {
  const std::string name = text(*n.children[0]);
  const size_t operands = n.children.size() - 1;
  static const std::pair<const char *, StatsFn> parameterized[] = {
      {"@variance", StatsFn::Variance}, {"@hist_log", StatsFn::HistLog}, {"@hist_linear", StatsFn::HistLinear}};
  for (const auto &[spelling, fn] : parameterized)
    if (name == spelling) return stats_with_parameters(n, name, fn, operands);
  if (n.children.back()->is_type<g::at_bucket>()) fail(*n.children.back(), "only histograms can be indexed by bucket");
  auto require = [&](size_t count) {
    if (operands != count)
      fail(n, name + " takes " + (count == 1 ? "one operand" : "two operands") + ", not " +
                  std::to_string(operands));
  };
  static const std::pair<const char *, StatsFn> stats[] = {
      {"@count", StatsFn::Count}, {"@sum", StatsFn::Sum}, {"@min", StatsFn::Min},
      {"@max", StatsFn::Max},     {"@avg", StatsFn::Avg}};
  for (const auto &[spelling, fn] : stats) {
    if (name != spelling) continue;
    require(1);
    ExprPtr operand = expr(*n.children[1]);
    if (!is_lvalue(*operand)) fail(*n.children[1], name + " needs an aggregate variable or array element");
    return std::make_unique<StatsOpExpr>(loc(n), fn, std::move(operand));
  }
  if (name == "@defined") {
    require(1);
    return std::make_unique<DefinedExpr>(loc(n), expr(*n.children[1]));
  }
  if (name == "@choose_defined") {
    require(2);
    ExprPtr chosen = expr(*n.children[1]);
    auto defined = std::make_unique<DefinedExpr>(loc(n), clone_expr(*chosen));
    return std::make_unique<TernaryExpr>(loc(n), std::move(defined), std::move(chosen), expr(*n.children[2]));
  }
  if (name == "@entry") {
    // Resolved with the probe points (passes/entry_values.cpp).
    require(1);
    auto call = std::make_unique<CallExpr>(loc(n), name);
    call->args.push_back(expr(*n.children[1]));
    return call;
  }
  if (name == "@perf") {
    // The counter a perf.*.counter("NAME") probe defines, as the probed
    // thread has counted it (frontend/perf_counters.h).
    require(1);
    ExprPtr counter = expr(*n.children[1]);
    if (counter->kind != ExprKind::String) fail(*n.children[1], "@perf takes the literal name of a perf counter");
    auto call = std::make_unique<CallExpr>(loc(n), name);
    call->args.push_back(std::move(counter));
    return call;
  }
  if (is_unavailable_at_operator(name)) return unavailable_at_operator(n, name);
  fail(n, "unknown operator " + name);
}

// stap parses the print family as its own construct, not as calls: the
// format or delimiter must be a literal string, printd & co. join at least
// two values, print and sprint print at least one; a script that breaks
// these does not parse (whatever functions it defines).
void AstBuilder::check_print_call(const Node &n, const std::string &name, const Node &args) const {
  const bool format = name == "printf" || name == "sprintf";
  const bool delimited = name == "printd" || name == "printdln" || name == "sprintd" || name == "sprintdln";
  const bool needs_value = name == "print" || name == "sprint";
  if (!format && !delimited && !needs_value) return;
  const size_t given = args.children.size();
  if ((format || delimited) && given > 0 && !args.children[0]->is_type<g::string_literal>())
    fail(*args.children[0], fmt::format("{} needs a literal {} string", name, format ? "format" : "delimiter"));
  const size_t least = delimited ? 3 : 1;
  if (given < least)
    fail(n, fmt::format("wrong number of arguments to {} ({} given, at least {} expected){}", name, given, least,
                        delimited ? ": a delimiter and two values to join" : ""));
}

ExprPtr AstBuilder::call_or_symbol(const Node &n) {
  // x->f, f()->f: the name (or call) before the members is the operand.
  if (n.children.back()->is_type<g::autocast_members>())
    return autocast(n, name_use(n, n.children.size() - 1), *n.children.back(), 0);
  return name_use(n, n.children.size());
}

// A name, a call or an array element, from the first `parts` children of `n`.
ExprPtr AstBuilder::name_use(const Node &n, size_t parts) {
  std::string name = text(*n.children[0]);
  if (parts == 1) return std::make_unique<SymbolExpr>(loc(n), std::move(name));
  const Node &tail = *n.children[1];
  if (tail.is_type<g::call_args>()) {
    check_print_call(n, name, tail);
    auto call = std::make_unique<CallExpr>(loc(n), std::move(name));
    for (const auto &arg : tail.children) call->args.push_back(expr(*arg));
    return call;
  }
  auto index = std::make_unique<IndexExpr>(loc(n), std::move(name));
  for (const auto &key : tail.children) index->keys.push_back(expr(*key));
  return index;
}

ExprPtr AstBuilder::expr(const Node &n) {
  const auto &c = n.children;
  if (n.is_type<g::call_or_symbol>()) return call_or_symbol(n);
  if (n.is_type<g::number_text>()) return std::make_unique<NumberExpr>(loc(n), number(n));
  if (n.is_type<g::string_literal>()) return std::make_unique<StringExpr>(loc(n), string_value(n));
  if (n.is_type<g::target_var>()) return target_var(n);
  if (n.is_type<g::cast_expr>()) return cast_expr(n);
  if (n.is_type<g::address_of>()) return address_of(n);
  if (n.is_type<g::paren_expr>()) return autocast(n, expr(*n.children[0]), n, 1);  // with members (else folded)
  if (n.is_type<g::at_expr>()) return at_operator(n);
  if (n.is_type<g::at_with_members>()) {
    ExprPtr value = at_operator(*c[0]);
    return c.size() == 1 ? std::move(value) : autocast(n, std::move(value), *c[1], 0);
  }
  if (n.is_type<g::wildcard_key>()) return nullptr;  // `*` in a subscript: matches any key
  if (n.is_type<g::expression>() || n.is_type<g::assignment>()) {
    ExprPtr lhs = assignable(*c[0], "the left side of an assignment");
    return std::make_unique<AssignExpr>(loc(*c[1]), assign_op(*c[1]), std::move(lhs), expr(*c[2]));
  }
  if (n.is_type<g::ternary>())
    return std::make_unique<TernaryExpr>(loc(n), expr(*c[0]), expr(*c[1]), expr(*c[2]));
  if (n.is_type<g::in_single>() || n.is_type<g::in_multi>()) {
    auto in = std::make_unique<InArrayExpr>(loc(n), text(*c.back()->children[0]));
    for (size_t i = 0; i + 1 < c.size(); ++i) in->keys.push_back(expr(*c[i]));
    return in;
  }
  if (n.is_type<g::unary_prefix>()) {
    const Node &op = *c[0];
    UnaryOp uop = op.is_type<g::op_minus>() ? UnaryOp::Neg
                  : op.is_type<g::op_plus>() ? UnaryOp::Plus
                  : op.is_type<g::op_not>()  ? UnaryOp::Not
                                             : UnaryOp::BitNot;
    return std::make_unique<UnaryExpr>(loc(n), uop, expr(*c[1]));
  }
  if (n.is_type<g::prefix_crement>()) {
    ExprPtr operand = assignable(*c[1], "the operand of ++/--");
    return std::make_unique<IncDecExpr>(loc(n), c[0]->is_type<g::op_increment>(), true, std::move(operand));
  }
  if (n.is_type<g::postfix_crement>()) {
    ExprPtr operand = assignable(*c[0], "the operand of ++/--");
    return std::make_unique<IncDecExpr>(loc(n), c[1]->is_type<g::op_increment>(), false, std::move(operand));
  }
  // Every remaining node is a binary precedence level.
  return left_assoc(n);
}

}  // namespace ntap::parsing
