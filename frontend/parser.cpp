// Script text -> AST: runs the PEGTL grammar (frontend/grammar.h) into a parse
// tree, then converts the tree into the ast:: nodes of frontend/ast.h.
//
// The parse tree keeps only the nodes the conversion needs (names, literals,
// operators and one node per construct); expression precedence levels with a
// single operand are folded away, so `x` is one node, not fifteen.
#include "frontend/parser.h"

#include "frontend/clone.h"

#include <tao/pegtl/contrib/parse_tree.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include <regex.h>

#include "frontend/histogram.h"
#include "frontend/grammar.h"

namespace ntap {

namespace {

namespace g = grammar;
namespace pg = tao::pegtl;
namespace pt = tao::pegtl::parse_tree;
using Node = pt::node;
using namespace ast;

template <typename Rule>
using selector = pt::selector<
    Rule,
    pt::store_content::on<g::name_text, g::number_text, g::string_body, g::target_name_text, g::field_name_text,
                          g::at_name_text, g::component_name_text, g::type_name_text>,
    pt::remove_content::on<
        // expressions
        g::string_literal, g::target_var, g::at_expr, g::at_bucket, g::call_or_symbol, g::call_args, g::index_keys,
        g::wildcard_key, g::prefix_crement, g::unary_prefix, g::in_multi, g::array_name,
        // operators
        g::op_assign, g::op_add_assign, g::op_sub_assign, g::op_mul_assign, g::op_div_assign, g::op_mod_assign,
        g::op_shl_assign, g::op_shr_assign, g::op_and_assign, g::op_or_assign, g::op_xor_assign,
        g::op_concat_assign, g::op_oror, g::op_andand, g::op_bitor, g::op_bitxor, g::op_bitand, g::op_le, g::op_ge,
        g::op_eq, g::op_ne, g::op_lt, g::op_gt, g::op_regex_match, g::op_regex_nomatch, g::op_shl, g::op_shr, g::op_ushr, g::op_concat, g::op_plus, g::op_minus,
        g::op_mul, g::op_div, g::op_mod, g::op_not, g::op_bitnot, g::op_increment, g::op_decrement,
        g::op_stats_add,
        // statements
        g::block, g::empty_statement, g::if_statement, g::while_statement, g::for_statement, g::for_init,
        g::for_cond, g::for_step, g::foreach_statement, g::foreach_value, g::foreach_key, g::foreach_array, g::foreach_slice,
        g::foreach_extractor,
        g::foreach_limit, g::sort_ascending, g::sort_descending, g::delete_statement, g::try_statement, g::catch_variable, g::break_statement,
        g::continue_statement, g::next_statement, g::return_statement, g::expression_statement,
        // top level
        g::probe_declaration, g::probe_point, g::probe_component, g::probe_number, g::negative_sign,
        g::optional_marker, g::sufficient_marker, g::probe_condition, g::alias_definition, g::alias_prologue,
        g::alias_epilogue, g::function_declaration, g::function_params, g::function_param, g::type_annotation,
        g::global_declaration, g::global_variable, g::global_wrap, g::global_size, g::global_init,
        g::global_negative, g::private_declaration>,
    pt::fold_one::on<g::expression, g::assignment, g::ternary, g::logical_or, g::logical_and, g::bit_or,
                     g::bit_xor, g::bit_and, g::in_single, g::comparison, g::shift, g::concatenation,
                     g::additive, g::multiplicative, g::postfix_crement>>;

// "saw: ..." text for the token starting at `offset`, in stap's wording:
// identifier 'x', keyword 'if', number '12', string "a", operator '}'.
std::string describe_token_at(std::string_view text, size_t offset) {
  if (offset >= text.size()) return "end of file";
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; };
  const char first = text[offset];
  if (std::isalpha(static_cast<unsigned char>(first)) || first == '_' || first == '$' || first == '@') {
    size_t end = offset + 1;
    while (end < text.size() && is_word(text[end])) ++end;
    std::string word(text.substr(offset, end - offset));
    static const char *const keywords[] = {"probe", "global", "function", "if",     "else",  "while",
                                           "for",   "foreach", "in",      "limit",  "delete", "break",
                                           "continue", "next", "return",  "try",    "catch", "private"};
    for (const char *k : keywords)
      if (word == k) return "keyword '" + word + "'";
    return "identifier '" + word + "'";
  }
  if (std::isdigit(static_cast<unsigned char>(first))) {
    size_t end = offset + 1;
    while (end < text.size() && is_word(text[end])) ++end;
    return "number '" + std::string(text.substr(offset, end - offset)) + "'";
  }
  if (first == '"') {
    size_t end = offset + 1;
    while (end < text.size() && text[end] != '"' && text[end] != '\n') end += text[end] == '\\' ? 2 : 1;
    end = std::min(end + 1, text.size());
    std::string_view literal = text.substr(offset, end - offset);
    if (!literal.empty() && literal.back() == '\n') literal.remove_suffix(1);
    return "string " + std::string(literal);
  }
  // Longest operator first.
  static const char *const operators[] = {
      "<<<", ">>>", "<<=", ">>=", "->", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", ".=", "==",
      "!=",  "<=",  ">=",  "&&", "||", "<<", ">>", "%{", "%}", "%(", "%)", "%?", "%:", "=~", "!~"};
  for (const char *op : operators)
    if (text.substr(offset).rfind(op, 0) == 0) return std::string("operator '") + op + "'";
  if (std::ispunct(static_cast<unsigned char>(first))) return std::string("operator '") + first + "'";
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned char>(first));
  return std::string("junk character ") + hex;
}

// An error inside a macro expansion is located at the macro's use; the note
// names the macro and where it was defined.
std::string with_expansion_note(const PreprocessedSource &source, const std::string &message, size_t offset) {
  std::string note = source.map.expansion_note(offset);
  return note.empty() ? message : message + " (" + note + ")";
}

class AstBuilder {
 public:
  // `source` is the preprocessed text the parse tree was built from; its map
  // takes every node back to its place in `file`.
  AstBuilder(const SourceFile &file, const PreprocessedSource &source) : file_(file), source_(source) {}

  std::unique_ptr<Program> program(const Node &root) {
    auto prog = std::make_unique<Program>();
    for (const auto &child : root.children) {
      if (child->is_type<g::probe_declaration>())
        probe_declaration(*child, *prog);
      else if (child->is_type<g::function_declaration>())
        prog->functions.push_back(function(*child));
      else if (child->is_type<g::private_declaration>())
        private_declaration(*child, *prog);
      else
        globals(*child, *prog);
    }
    for (size_t i = 0; i < prog->functions.size(); ++i) prog->functions[i]->id = static_cast<uint32_t>(i);
    for (size_t i = 0; i < prog->probes.size(); ++i) prog->probes[i]->id = static_cast<uint32_t>(i);
    for (size_t i = 0; i < prog->globals.size(); ++i) prog->globals[i]->id = static_cast<uint32_t>(i);
    return prog;
  }

 private:
  const SourceFile &file_;
  const PreprocessedSource &source_;

  Location loc(const Node &n) const { return source_.map.locate(n.m_begin.byte); }

  [[noreturn]] void fail(const Node &n, const std::string &message) const {
    throw CompileError(ErrorKind::Parse, with_expansion_note(source_, message, n.m_begin.byte), loc(n),
                       describe_token_at(source_.text, n.m_begin.byte));
  }

  static std::string text(const Node &n) { return n.string(); }

  // ------------------------------------------------------------ literals

  int64_t number(const Node &n) const {
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
    // Accumulate in uint64 so that overflow wraps (0xffffffffffffffff is -1).
    uint64_t value = 0;
    for (; i < t.size(); ++i) {
      char c = t[i];
      unsigned digit = c >= '0' && c <= '9'   ? unsigned(c - '0')
                       : c >= 'a' && c <= 'f' ? unsigned(c - 'a' + 10)
                       : c >= 'A' && c <= 'F' ? unsigned(c - 'A' + 10)
                                              : 99;
      if (digit >= base) fail(n, "invalid number '" + std::string(t) + "'");
      value = value * base + digit;
    }
    return static_cast<int64_t>(value);
  }

  // Decodes C escapes of one "..." piece; errors point at the backslash.
  void decode_string(const Node &body, std::string &out) const {
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

  [[noreturn]] void escape_error(const Node &body, size_t offset, const std::string &message) const {
    Location at = source_.map.locate(body.m_begin.byte + offset);
    throw CompileError(ErrorKind::Parse, with_expansion_note(source_, message, body.m_begin.byte), at,
                       describe_token_at(source_.text, body.m_begin.byte));
  }

  std::string string_value(const Node &literal) const {
    std::string out;
    for (const auto &piece : literal.children) decode_string(*piece, out);
    return out;
  }

  // ------------------------------------------------------------ expressions

  static bool is_lvalue(const Expr &e) { return e.kind == ExprKind::Symbol || e.kind == ExprKind::Index; }

  ExprPtr lvalue(const Node &n, const char *what) {
    ExprPtr e = expr(n);
    if (!is_lvalue(*e)) fail(n, std::string(what) + " must be a variable or an array element");
    return e;
  }

  static std::optional<BinaryOp> binary_op(const Node &op) {
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

  static AssignOp assign_op(const Node &op) {
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
  ExprPtr left_assoc(const Node &n) {
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
  void check_regex(const Node &n, const Expr &pattern) const {
    if (pattern.kind != ExprKind::String) fail(n, "the regular expression of =~ / !~ must be a literal string");
    regex_t compiled;
    const int status = regcomp(&compiled, static_cast<const StringExpr &>(pattern).value.c_str(), REG_EXTENDED);
    if (status != 0) {
      char reason[256];
      regerror(status, &compiled, reason, sizeof reason);
      fail(n, std::string("invalid regular expression: ") + reason);
    }
    regfree(&compiled);
  }

  // A literal histogram or variance parameter: a number, maybe negated.
  int64_t literal_parameter(const Node &n, const std::string &op) {
    ExprPtr e = expr(n);
    if (e->kind == ExprKind::Number) return static_cast<NumberExpr &>(*e).value;
    if (e->kind == ExprKind::Unary && static_cast<UnaryExpr &>(*e).op == UnaryOp::Neg &&
        static_cast<UnaryExpr &>(*e).operand->kind == ExprKind::Number)
      return static_cast<int64_t>(0ULL - uint64_t(static_cast<NumberExpr &>(*static_cast<UnaryExpr &>(*e).operand).value));
    fail(n, op + " parameters must be literal numbers");
  }

  // @variance(x[, bit_shift]), @hist_log(x), @hist_linear(x, low, high, width),
  // each maybe followed by [bucket] for the histograms.
  ExprPtr stats_with_parameters(const Node &n, const std::string &name, StatsFn fn, size_t operands) {
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

  ExprPtr at_operator(const Node &n) {
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
    fail(n, "unknown operator " + name);
  }

  ExprPtr call_or_symbol(const Node &n) {
    std::string name = text(*n.children[0]);
    if (n.children.size() == 1) return std::make_unique<SymbolExpr>(loc(n), std::move(name));
    const Node &tail = *n.children[1];
    if (tail.is_type<g::call_args>()) {
      auto call = std::make_unique<CallExpr>(loc(n), std::move(name));
      for (const auto &arg : tail.children) call->args.push_back(expr(*arg));
      return call;
    }
    auto index = std::make_unique<IndexExpr>(loc(n), std::move(name));
    for (const auto &key : tail.children) index->keys.push_back(expr(*key));
    return index;
  }

  ExprPtr expr(const Node &n) {
    const auto &c = n.children;
    if (n.is_type<g::call_or_symbol>()) return call_or_symbol(n);
    if (n.is_type<g::number_text>()) return std::make_unique<NumberExpr>(loc(n), number(n));
    if (n.is_type<g::string_literal>()) return std::make_unique<StringExpr>(loc(n), string_value(n));
    if (n.is_type<g::target_var>()) {
      auto target = std::make_unique<TargetVarExpr>(loc(n), text(*c[0]).substr(1));
      for (size_t i = 1; i < c.size(); ++i) target->fields.push_back(text(*c[i]));
      return target;
    }
    if (n.is_type<g::at_expr>()) return at_operator(n);
    if (n.is_type<g::wildcard_key>()) return nullptr;  // `*` in a subscript: matches any key
    if (n.is_type<g::expression>() || n.is_type<g::assignment>()) {
      ExprPtr lhs = lvalue(*c[0], "the left side of an assignment");
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
      ExprPtr operand = lvalue(*c[1], "the operand of ++/--");
      return std::make_unique<IncDecExpr>(loc(n), c[0]->is_type<g::op_increment>(), true, std::move(operand));
    }
    if (n.is_type<g::postfix_crement>()) {
      ExprPtr operand = lvalue(*c[0], "the operand of ++/--");
      return std::make_unique<IncDecExpr>(loc(n), c[1]->is_type<g::op_increment>(), false, std::move(operand));
    }
    // Every remaining node is a binary precedence level.
    return left_assoc(n);
  }

  // ------------------------------------------------------------ statements

  std::unique_ptr<BlockStmt> block(const Node &n) {
    auto b = std::make_unique<BlockStmt>(loc(n));
    for (const auto &child : n.children)
      if (!child->is_type<g::empty_statement>()) b->stmts.push_back(stmt(*child));
    return b;
  }

  // The @hist_log/@hist_linear node of `foreach (i in @hist_log(x))`, if any.
  static const Node *foreach_histogram(const Node &n) {
    for (const auto &part : n.children) {
      if (!part->is_type<g::foreach_array>() || !part->children[0]->is_type<g::foreach_extractor>()) continue;
      const std::string stat = part->children[0]->children[0]->string();
      if (stat == "@hist_log" || stat == "@hist_linear") return part->children[0].get();
    }
    return nullptr;
  }

  // foreach (i in @hist_log(x)) BODY walks every bucket number, as stap does:
  //   for (i = 0; i < BUCKETS; i++) { @hist_log(x)[i]; BODY }
  // (the bucket read ties the loop to the histogram even when BODY does not).
  StmtPtr histogram_foreach(const Node &n, const Node &histogram) {
    std::string key;
    for (const auto &part : n.children) {
      if (part->is_type<g::foreach_value>() || part->is_type<g::foreach_limit>())
        fail(*part, "foreach over a histogram takes one bucket variable, without a value or limit");
      if (part->is_type<g::foreach_key>()) {
        if (!key.empty() || part->children.size() > 1) fail(*part, "foreach over a histogram takes one unsorted bucket variable");
        key = text(*part->children[0]);
      }
      if (part->is_type<g::foreach_array>() && part->children.size() > 1)
        fail(*part->children[1], "the buckets of a histogram cannot be sorted");
    }
    const std::string name = text(*histogram.children[0]);
    const StatsFn fn = name == "@hist_log" ? StatsFn::HistLog : StatsFn::HistLinear;
    auto bucket_read = stats_with_parameters(histogram, name, fn, histogram.children.size() - 1);
    auto &op = static_cast<StatsOpExpr &>(*bucket_read);
    uint32_t buckets = HistogramSpec::kLogBuckets;
    if (fn == StatsFn::HistLinear) {
      try {
        buckets = HistogramSpec::linear(op.params.at(0), op.params.at(1), op.params.at(2)).buckets;
      } catch (const std::exception &err) {
        fail(histogram, err.what());
      }
    }
    const Location at = loc(n);
    auto variable = [&] { return std::make_unique<SymbolExpr>(at, key); };
    op.bucket = variable();
    auto loop = std::make_unique<ForStmt>(at);
    loop->init = std::make_unique<AssignExpr>(at, AssignOp::Set, variable(), std::make_unique<NumberExpr>(at, 0));
    loop->cond = std::make_unique<BinaryExpr>(at, BinaryOp::Lt, variable(), std::make_unique<NumberExpr>(at, buckets));
    loop->step = std::make_unique<IncDecExpr>(at, true, false, variable());
    auto body = std::make_unique<BlockStmt>(at);
    body->stmts.push_back(std::make_unique<ExprStmt>(at, std::move(bucket_read)));
    body->stmts.push_back(stmt(*n.children.back()));
    loop->body = std::move(body);
    return loop;
  }

  std::unique_ptr<ForeachStmt> foreach_statement(const Node &n) {
    auto f = std::make_unique<ForeachStmt>(loc(n));
    const Node *sort_marker = nullptr;
    auto note_sort = [&](const Node &owner, int column, size_t marker_at = 1) {
      if (owner.children.size() <= marker_at) return;
      const Node &marker = *owner.children[marker_at];
      if (marker.is_type<g::op_assign>()) return;  // the `=` of `v = [..]`
      if (sort_marker) fail(marker, "only one sort direction (+ or -) may be given in foreach");
      sort_marker = &marker;
      f->sort_column = column;
      f->sort_direction = marker.is_type<g::sort_ascending>() ? 1 : -1;
    };
    const auto &c = n.children;
    for (size_t i = 0; i + 1 < c.size(); ++i) {
      const Node &part = *c[i];
      if (part.is_type<g::foreach_value>()) {
        f->value_name = text(*part.children[0]);
        note_sort(part, 0);
      } else if (part.is_type<g::foreach_key>()) {
        f->key_names.push_back(text(*part.children[0]));
        note_sort(part, static_cast<int>(f->key_names.size()));
      } else if (part.is_type<g::foreach_array>()) {
        const Node &array = *part.children[0];
        if (array.is_type<g::foreach_extractor>()) {
          static const std::pair<const char *, StatsFn> extractors[] = {
              {"@count", StatsFn::Count}, {"@sum", StatsFn::Sum}, {"@min", StatsFn::Min},
              {"@max", StatsFn::Max},     {"@avg", StatsFn::Avg}};
          const std::string stat = text(*array.children[0]);
          bool known = false;
          for (const auto &[spelling, fn] : extractors)
            if (stat == spelling) f->sort_stat = fn, known = true;
          if (!known) fail(array, "foreach can sort a statistics array by @count, @sum, @min, @max or @avg, not " + stat);
          const Node &operand = *array.children[1];
          if (array.children.size() != 2 || !operand.is_type<g::call_or_symbol>() || operand.children.size() != 1)
            fail(operand, "expected array name");
          f->array_name = text(*operand.children[0]);
        } else {
          f->array_name = text(array);
        }
        const bool sliced = part.children.size() > 1 && part.children[1]->is_type<g::foreach_slice>();
        if (sliced)
          for (const auto &key : part.children[1]->children) f->slice.push_back(expr(*key));
        note_sort(part, 0, sliced ? 2 : 1);
      } else if (part.is_type<g::foreach_limit>()) {
        f->limit = expr(*part.children[0]);
      }
    }
    f->body = stmt(*c.back());
    return f;
  }

  StmtPtr stmt(const Node &n) {
    const auto &c = n.children;
    if (n.is_type<g::expression_statement>()) {
      if (c.size() == 1) return std::make_unique<ExprStmt>(loc(n), expr(*c[0]));
      ExprPtr target = lvalue(*c[0], "the target of <<<");
      return std::make_unique<StatsAddStmt>(loc(n), std::move(target), expr(*c[2]));
    }
    if (n.is_type<g::block>()) return block(n);
    if (n.is_type<g::empty_statement>()) return std::make_unique<BlockStmt>(loc(n));
    if (n.is_type<g::if_statement>()) {
      auto s = std::make_unique<IfStmt>(loc(n));
      s->cond = expr(*c[0]);
      s->then_stmt = stmt(*c[1]);
      if (c.size() > 2) s->else_stmt = stmt(*c[2]);
      return s;
    }
    if (n.is_type<g::while_statement>()) {
      auto s = std::make_unique<WhileStmt>(loc(n));
      s->cond = expr(*c[0]);
      s->body = stmt(*c[1]);
      return s;
    }
    if (n.is_type<g::for_statement>()) {
      auto s = std::make_unique<ForStmt>(loc(n));
      for (size_t i = 0; i + 1 < c.size(); ++i) {
        ExprPtr part = expr(*c[i]->children[0]);
        if (c[i]->is_type<g::for_init>()) s->init = std::move(part);
        else if (c[i]->is_type<g::for_cond>()) s->cond = std::move(part);
        else s->step = std::move(part);
      }
      s->body = stmt(*c.back());
      return s;
    }
    if (n.is_type<g::foreach_statement>()) {
      if (const Node *histogram = foreach_histogram(n)) return histogram_foreach(n, *histogram);
      return foreach_statement(n);
    }
    if (n.is_type<g::delete_statement>())
      return std::make_unique<DeleteStmt>(loc(n), lvalue(*c[0], "the operand of delete"));
    if (n.is_type<g::try_statement>()) {
      auto t = std::make_unique<TryStmt>(loc(n));
      t->try_block = block(*c[0]);
      if (c.size() == 3) t->catch_name = text(*c[1]->children[0]);
      t->catch_block = block(*c.back());
      return t;
    }
    if (n.is_type<g::break_statement>()) return std::make_unique<JumpStmt>(StmtKind::Break, loc(n));
    if (n.is_type<g::continue_statement>()) return std::make_unique<JumpStmt>(StmtKind::Continue, loc(n));
    if (n.is_type<g::next_statement>()) return std::make_unique<JumpStmt>(StmtKind::Next, loc(n));
    // return_statement
    auto r = std::make_unique<ReturnStmt>(loc(n));
    if (!c.empty()) r->value = expr(*c[0]);
    return r;
  }

  // ------------------------------------------------------------ top level

  ProbePoint probe_point(const Node &n) {
    ProbePoint point;
    point.loc = loc(n);
    for (const auto &part : n.children) {
      if (part->is_type<g::optional_marker>()) {
        point.optional = true;
        continue;
      }
      if (part->is_type<g::sufficient_marker>()) {
        point.optional = point.sufficient = true;
        continue;
      }
      if (part->is_type<g::probe_condition>()) continue;  // see point_condition
      ProbePointComponent component;
      component.name = text(*part->children[0]);
      if (part->children.size() > 1) {
        const Node &arg = *part->children[1];
        if (arg.is_type<g::string_literal>()) {
          component.string_arg = string_value(arg);
        } else {  // probe_number: [negative_sign] number_text
          int64_t value = number(*arg.children.back());
          component.number_arg = arg.children.size() > 1 ? static_cast<int64_t>(0ULL - uint64_t(value)) : value;
        }
      }
      point.components.push_back(std::move(component));
    }
    return point;
  }

  // The `if (cond)` node of a probe point, or null.
  static const Node *point_condition(const Node &point) {
    const Node &last = *point.children.back();
    return last.is_type<g::probe_condition>() ? &last : nullptr;
  }

  // A probe, or an alias definition. A probe whose points carry their own
  // conditions becomes one probe per point (the body is built once for each
  // from the parse tree), so each keeps its own condition.
  void probe_declaration(const Node &n, Program &prog) {
    std::vector<const Node *> points;
    const Node *alias = nullptr;
    for (size_t i = 0; i + 1 < n.children.size(); ++i) {
      if (n.children[i]->is_type<g::alias_definition>()) alias = n.children[i].get();
      else points.push_back(n.children[i].get());
    }
    const Node &body = *n.children.back();
    if (alias) {
      prog.aliases.push_back(probe_alias(n, points, *alias, body));
      return;
    }
    bool conditional = std::any_of(points.begin(), points.end(), [](const Node *p) { return point_condition(*p); });
    if (!conditional) {
      auto p = std::make_unique<Probe>();
      p->loc = loc(n);
      for (const Node *point : points) p->points.push_back(probe_point(*point));
      p->body = block(body);
      prog.probes.push_back(std::move(p));
      return;
    }
    for (const Node *point : points) {
      auto p = std::make_unique<Probe>();
      p->loc = loc(n);
      p->points.push_back(probe_point(*point));
      if (const Node *cond = point_condition(*point)) p->condition = expr(*cond->children[0]);
      p->body = block(body);
      prog.probes.push_back(std::move(p));
    }
  }

  std::unique_ptr<ProbeAlias> probe_alias(const Node &n, const std::vector<const Node *> &names, const Node &definition,
                                          const Node &body) {
    auto alias = std::make_unique<ProbeAlias>();
    alias->loc = loc(n);
    for (const Node *name : names) {
      if (point_condition(*name)) fail(*point_condition(*name), "an alias name cannot have a condition");
      ProbePoint point = probe_point(*name);
      for (const auto &component : point.components)
        if (component.string_arg || component.number_arg)
          fail(*name, "an alias name cannot have arguments");
      if (point.optional) fail(*name, "an alias name cannot be optional");
      alias->names.push_back(std::move(point));
    }
    alias->epilogue = definition.children[0]->is_type<g::alias_epilogue>();
    const Node *condition = nullptr;
    for (size_t i = 1; i < definition.children.size(); ++i) {
      const Node &point = *definition.children[i];
      if (const Node *cond = point_condition(point)) {
        if (definition.children.size() > 2) fail(*cond, "a condition on one of several alias points is not supported");
        condition = cond;
      }
      alias->points.push_back(probe_point(point));
    }
    if (condition) alias->condition = expr(*condition->children[0]);
    alias->body = block(body);
    return alias;
  }

  static Type type_of_name(const Node &type_name) {
    return type_name.string_view() == "string" ? Type::String : Type::Long;
  }

  // function_declaration: name [: type] ( params ) block
  std::unique_ptr<Function> function(const Node &n) {
    auto f = std::make_unique<Function>();
    const auto &c = n.children;
    size_t i = 0;
    f->name = text(*c[i]);
    f->loc = loc(*c[i++]);
    if (c[i]->is_type<g::type_annotation>()) f->declared_result = type_of_name(*c[i++]->children[0]);
    for (const auto &param : c[i++]->children) {
      std::string name = text(*param->children[0]);
      if (std::find(f->params.begin(), f->params.end(), name) != f->params.end())
        throw CompileError(ErrorKind::Parse, "duplicate parameter name", loc(*param->children[0]),
                           "identifier '" + name + "'");
      f->params.push_back(name);
      f->declared_params.push_back(param->children.size() > 1 ? type_of_name(*param->children[1]->children[0])
                                                              : Type::Unknown);
    }
    f->body = block(*c[i]);
    return f;
  }

  // private global x / private function f() / private x, y: visible only in
  // this file.
  void private_declaration(const Node &n, Program &prog) {
    const Node &target = *n.children[0];
    if (target.is_type<g::function_declaration>()) {
      prog.functions.push_back(function(target));
      prog.functions.back()->private_to = &file_;
      return;
    }
    // `private global x, y` keeps its global_declaration node; the shorthand
    // `private x, y` leaves the variables directly under this one.
    globals(target.is_type<g::global_declaration>() ? target : n, prog, &file_);
  }

  void globals(const Node &declaration, Program &prog, const SourceFile *private_to = nullptr) {
    for (const auto &var : declaration.children) {
      const Node &name_node = *var->children[0];
      auto global = std::make_unique<Global>();
      global->name = text(name_node);
      global->decl = loc(name_node);
      global->private_to = private_to;
      auto same_name = std::find_if(prog.globals.begin(), prog.globals.end(),
                                    [&](const auto &g) { return g->name == global->name; });
      if (same_name != prog.globals.end())
        throw CompileError(ErrorKind::Semantic,
                           (*same_name)->private_to == private_to ? "duplicate global variable"
                                                                  : "global versus private variable declaration conflict",
                           global->decl, "identifier '" + global->name + "'");
      global->wrap = var->children.size() > 1 && var->children[1]->is_type<g::global_wrap>();
      const size_t next = global->wrap ? 2 : 1;  // the size or initialiser follows `%`
      if (var->children.size() > next) {
        const Node &tail = *var->children[next];
        if (tail.is_type<g::global_size>()) {
          if (!tail.children.empty()) {
            int64_t size = number(*tail.children[0]);
            if (size <= 0 || size > int64_t(UINT32_MAX)) fail(*tail.children[0], "invalid array size");
            global->max_entries = static_cast<uint32_t>(size);
          }
        } else {
          global->init = global_initialiser(tail);
        }
      }
      prog.globals.push_back(std::move(global));
    }
  }

  // global_init: `=` then a string literal or [-] number.
  ExprPtr global_initialiser(const Node &init) {
    const auto &c = init.children;
    const Node &first = *c[1];
    if (first.is_type<g::string_literal>()) return std::make_unique<StringExpr>(loc(first), string_value(first));
    if (first.is_type<g::global_negative>())
      return std::make_unique<NumberExpr>(loc(first), static_cast<int64_t>(0ULL - uint64_t(number(*c[2]))));
    return std::make_unique<NumberExpr>(loc(first), number(first));
  }
};

// The message of a grammar error, completed where the grammar cannot know it.
std::string grammar_error_message(const std::string &text, const pg::parse_error &error, size_t offset) {
  std::string message(error.message());
  if (message == g::error_message<g::at_unsupported>) {
    size_t end = offset + 1;
    while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_')) ++end;
    return text.substr(offset, end - offset) + " " + message;
  }
  return message;
}

}  // namespace

std::unique_ptr<Program> parse_script(const SourceFile &file) { return parse_script(file, ParseOptions{}); }

std::unique_ptr<Program> parse_script(const SourceFile &file, const ParseOptions &options) {
  // %( %) conditionals, @define macros and $1/@1 arguments are resolved
  // first; the grammar reads the result.
  PreprocessedSource source = preprocess(file, options.preprocessor);
  pg::memory_input<> in(source.text.data(), source.text.size(), file.name);
  std::unique_ptr<Node> root;
  try {
    root = pt::parse<g::script, selector, pg::nothing, g::error_control>(in);
  } catch (const pg::parse_error &error) {
    const size_t at = error.positions().front().byte;
    Location where = source.map.locate(at);
    std::string message = with_expansion_note(source, grammar_error_message(source.text, error, at), at);
    if (at >= source.text.size()) {
      // Nothing to show as "saw": say that the script ended too early.
      if (message.rfind("expected", 0) == 0) message = "unexpected end of file, " + message;
      throw CompileError(ErrorKind::Parse, message, where);
    }
    throw CompileError(ErrorKind::Parse, message, where, describe_token_at(source.text, at));
  }
  // The grammar commits to every construct with must<>, so it either succeeds or raises.
  if (!root) throw CompileError(ErrorKind::Parse, "syntax error", Location{&file, 1, 1});
  return AstBuilder(file, source).program(*root);
}

}  // namespace ntap
