// -p1: the AST printed back as a script (see printer.h).
//
// Parentheses follow the grammar's precedence levels (grammar.h): an operand
// is parenthesised only when its own level binds less tightly than the
// position it is printed in, so `(a + b) * c` keeps its parentheses and
// `a + b * c` gets none.
#include "frontend/printer.h"

#include "frontend/preprocess_lexer.h"

#include <cstdio>
#include <sstream>
#include <stdexcept>

namespace ntap {
namespace {

using namespace ast;

// Precedence levels, lowest to highest, as in grammar.h.
enum Level : int {
  kAssign = 1,
  kTernary,
  kLogicalOr,
  kLogicalAnd,
  kBitOr,
  kBitXor,
  kBitAnd,
  kIn,
  kComparison,
  kShift,
  kConcat,
  kAdditive,
  kMultiplicative,
  kUnary,
  kPostfix,
  kPrimary,
};

int binary_level(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: case BinaryOp::Sub: return kAdditive;
    case BinaryOp::Mul: case BinaryOp::Div: case BinaryOp::Mod: return kMultiplicative;
    case BinaryOp::Shl: case BinaryOp::Shr: case BinaryOp::Ushr: return kShift;
    case BinaryOp::BitAnd: return kBitAnd;
    case BinaryOp::BitOr: return kBitOr;
    case BinaryOp::BitXor: return kBitXor;
    case BinaryOp::Lt: case BinaryOp::Le: case BinaryOp::Gt:
    case BinaryOp::Ge: case BinaryOp::Eq: case BinaryOp::Ne: return kComparison;
    case BinaryOp::Concat: return kConcat;
    case BinaryOp::RegexMatch: case BinaryOp::RegexNoMatch: return kComparison;
  }
  return kComparison;
}

int level_of(const Expr &e) {
  switch (e.kind) {
    case ExprKind::Assign: return kAssign;
    case ExprKind::Ternary: return kTernary;
    case ExprKind::Logical: return cast<LogicalExpr>(e).op == LogicalOp::Or ? kLogicalOr : kLogicalAnd;
    case ExprKind::Binary: return binary_level(cast<BinaryExpr>(e).op);
    case ExprKind::InArray: return kIn;
    case ExprKind::Unary: return kUnary;
    case ExprKind::IncDec: return cast<IncDecExpr>(e).prefix ? kUnary : kPostfix;
    default: return kPrimary;
  }
}

// A string literal with the escapes the parser decodes (the preprocessor
// writes @N arguments back the same way).
std::string quoted(const std::string &text) { return pp::quoted_string_literal(text); }

// A negative literal (0xffffffffffffffff parses to -1) is printed in hex: a
// leading '-' would read back as a negation.
std::string number_text(int64_t value) {
  if (value >= 0) return std::to_string(value);
  char hex[24];
  std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(value));
  return hex;
}

// A literal parameter of @hist_linear/@variance, where the parser accepts a
// negated number.
std::string parameter_text(int64_t value) {
  if (value >= 0) return std::to_string(value);
  return "-" + std::to_string(0ULL - static_cast<unsigned long long>(value));
}

class Printer {
 public:
  Printer(std::ostream &out, bool parenthesize_all) : out_(out), parenthesize_all_(parenthesize_all) {}

  void program(const Program &p) {
    bool first = true;
    auto separate = [&] {
      if (!first) out_ << '\n';
      first = false;
    };
    for (const auto &g : p.globals) {
      if (g->from_tapset) continue;
      separate();
      global(*g);
    }
    for (const auto &f : p.functions) {
      if (f->from_tapset) continue;
      separate();
      function(*f);
    }
    for (const auto &a : p.aliases) {
      if (a->from_tapset) continue;
      separate();
      alias(*a);
    }
    for (const auto &probe_ptr : p.probes) {
      separate();
      probe(*probe_ptr);
    }
  }

  // `a <<< b <<< v` as written, when `b` is the parser's lowering of it
  // (parse_statements.cpp); "" for any other block.
  std::string chained_aggregate(const BlockStmt &b) {
    auto is_value = [](const Expr &e) {
      return e.kind == ExprKind::Symbol && cast<SymbolExpr>(e).name == kChainedAggregateValue;
    };
    if (b.stmts.size() < 3 || b.stmts[0]->kind != StmtKind::Expr) return "";
    const Expr &first = *cast<ExprStmt>(*b.stmts[0]).expr;
    if (first.kind != ExprKind::Assign || !is_value(*cast<AssignExpr>(first).lhs)) return "";
    std::string text;
    for (size_t i = b.stmts.size() - 1; i >= 1; --i) {
      if (b.stmts[i]->kind != StmtKind::StatsAdd) return "";
      const auto &add = cast<StatsAddStmt>(*b.stmts[i]);
      if (!is_value(*add.value)) return "";
      text += expr(*add.target) + " <<< ";
    }
    return text + expr(*cast<AssignExpr>(first).rhs);
  }

  void stmt(const Stmt &s) {
    switch (s.kind) {
      case StmtKind::Block: {
        const auto &b = cast<BlockStmt>(s);
        if (const std::string chain = chained_aggregate(b); !chain.empty()) {
          line(chain + ";");
          return;
        }
        line("{");
        ++depth_;
        for (const auto &child : b.stmts) stmt(*child);
        --depth_;
        line("}");
        return;
      }
      case StmtKind::Expr: line(expr(*cast<ExprStmt>(s).expr) + ";"); return;
      case StmtKind::If: {
        const auto &i = cast<IfStmt>(s);
        line("if (" + expr(*i.cond) + ")");
        nested(*i.then_stmt);
        if (i.else_stmt) {
          line("else");
          nested(*i.else_stmt);
        }
        return;
      }
      case StmtKind::While: {
        const auto &w = cast<WhileStmt>(s);
        line("while (" + expr(*w.cond) + ")");
        nested(*w.body);
        return;
      }
      case StmtKind::For: {
        const auto &f = cast<ForStmt>(s);
        auto part = [&](const ExprPtr &e) { return e ? expr(*e) : std::string(); };
        std::string head = "for (" + part(f.init) + "; " + part(f.cond) + "; " + part(f.step) + ")";
        line(head);
        nested(*f.body);
        return;
      }
      case StmtKind::Foreach: foreach_stmt(cast<ForeachStmt>(s)); return;
      case StmtKind::Delete: line("delete " + expr(*cast<DeleteStmt>(s).target) + ";"); return;
      case StmtKind::StatsAdd: {
        const auto &a = cast<StatsAddStmt>(s);
        line(expr(*a.target) + " <<< " + expr(*a.value) + ";");
        return;
      }
      case StmtKind::Break: line("break;"); return;
      case StmtKind::Continue: line("continue;"); return;
      case StmtKind::Next: line("next;"); return;
      case StmtKind::Return: {
        const auto &r = cast<ReturnStmt>(s);
        line(r.value ? "return " + expr(*r.value) + ";" : "return;");
        return;
      }
      case StmtKind::Try: {
        const auto &t = cast<TryStmt>(s);
        line("try");
        stmt(*t.try_block);
        line(t.catch_name ? "catch (" + *t.catch_name + ")" : "catch");
        stmt(*t.catch_block);
        return;
      }
    }
    throw std::logic_error("printer: unknown statement kind");
  }

  // The text of `e` printed where an operand of level `min_level` is
  // expected: parenthesised when it binds less tightly.
  std::string operand(const Expr &e, int min_level) {
    std::string text = expr(e);
    const bool needed = level_of(e) < min_level || (parenthesize_all_ && level_of(e) < kPrimary);
    return needed ? "(" + text + ")" : text;
  }

  std::string expr(const Expr &e) {
    switch (e.kind) {
      case ExprKind::Number: return number_text(cast<NumberExpr>(e).value);
      case ExprKind::String: return quoted(cast<StringExpr>(e).value);
      case ExprKind::Symbol: return cast<SymbolExpr>(e).name;
      case ExprKind::Index: {
        const auto &i = cast<IndexExpr>(e);
        return i.name + "[" + list(i.keys, kAssign) + "]";
      }
      case ExprKind::TargetVar: return target(cast<TargetVarExpr>(e));
      case ExprKind::Unary: return unary(cast<UnaryExpr>(e));
      case ExprKind::Binary: {
        const auto &b = cast<BinaryExpr>(e);
        const int level = binary_level(b.op);
        return operand(*b.lhs, level) + " " + binary_op_text(b.op) + " " + operand(*b.rhs, level + 1);
      }
      case ExprKind::Logical: {
        const auto &l = cast<LogicalExpr>(e);
        const int level = level_of(e);
        const char *op = l.op == LogicalOp::And ? " && " : " || ";
        return operand(*l.lhs, level) + op + operand(*l.rhs, level + 1);
      }
      case ExprKind::Ternary: {
        const auto &t = cast<TernaryExpr>(e);
        return operand(*t.cond, kLogicalOr) + " ? " + operand(*t.then_expr, kAssign) + " : " +
               operand(*t.else_expr, kAssign);
      }
      case ExprKind::Assign: {
        const auto &a = cast<AssignExpr>(e);
        return operand(*a.lhs, kPrimary) + " " + assign_op_text(a.op) + " " + operand(*a.rhs, kAssign);
      }
      case ExprKind::IncDec: {
        const auto &i = cast<IncDecExpr>(e);
        const char *op = i.increment ? "++" : "--";
        return i.prefix ? op + operand(*i.operand, kPrimary) : operand(*i.operand, kPrimary) + op;
      }
      case ExprKind::Call: {
        const auto &c = cast<CallExpr>(e);
        return c.name + "(" + list(c.args, kAssign) + ")";
      }
      case ExprKind::StatsOp: {
        const auto &s = cast<StatsOpExpr>(e);
        std::string text = std::string(stats_fn_name(s.fn)) + "(" + expr(*s.operand);
        for (int64_t p : s.params) text += ", " + parameter_text(p);
        text += ")";
        if (s.bucket) text += "[" + expr(*s.bucket) + "]";
        return text;
      }
      case ExprKind::InArray: {
        const auto &i = cast<InArrayExpr>(e);
        std::string keys = list(i.keys, kComparison);
        return (i.keys.size() == 1 ? keys : "[" + keys + "]") + " in " + i.name;
      }
      case ExprKind::Defined: return "@defined(" + expr(*cast<DefinedExpr>(e).operand) + ")";
      case ExprKind::Unresolved: return cast<UnresolvedExpr>(e).text;
    }
    throw std::logic_error("printer: unknown expression kind");
  }

 private:
  std::ostream &out_;
  bool parenthesize_all_;
  int depth_ = 0;

  void line(const std::string &text) { out_ << std::string(depth_ * 4, ' ') << text << '\n'; }

  // The body of if/while/for/foreach: a block at the same depth, any other
  // statement indented one more level.
  void nested(const Stmt &s) {
    if (s.kind == StmtKind::Block) {
      stmt(s);
      return;
    }
    ++depth_;
    stmt(s);
    --depth_;
  }

  std::string target(const TargetVarExpr &t) {
    std::string text = t.address_of ? "&" : "";
    if (t.autocast) {
      text += "(" + expr(*t.cast_operand) + ")";
    } else if (t.is_cast()) {
      text += "@cast(" + expr(*t.cast_operand) + ", " + quoted(t.cast_type);
      if (!t.cast_module.empty()) text += ", " + quoted(t.cast_module);
      text += ")";
    } else {
      text += "$" + t.name;
    }
    for (const auto &c : t.components) text += c.index ? "[" + expr(*c.index) + "]" : "->" + c.field;
    return text + std::string(t.pretty, '$');
  }

  std::string list(const std::vector<ExprPtr> &items, int min_level) {
    std::string text;
    for (size_t i = 0; i < items.size(); ++i)
      text += (i ? ", " : "") + (items[i] ? operand(*items[i], min_level) : std::string("*"));  // null: `*`
    return text;
  }

  std::string unary(const UnaryExpr &u) {
    const char *op = u.op == UnaryOp::Neg ? "-" : u.op == UnaryOp::Plus ? "+" : u.op == UnaryOp::Not ? "!" : "~";
    std::string inner = operand(*u.operand, kUnary);
    // `- -x` and `+ +x` must not become the operators -- and ++, nor `! ~x` the operator !~.
    const bool joins = !inner.empty() && (((*op == '-' || *op == '+') && (inner[0] == '-' || inner[0] == '+')) ||
                                          (*op == '!' && inner[0] == '~'));
    if (joins) return op + (" " + inner);
    return op + inner;
  }

  static const char *sort_marker(int direction) { return direction > 0 ? "+" : direction < 0 ? "-" : ""; }

  void foreach_stmt(const ForeachStmt &f) {
    std::string head = "foreach (";
    if (f.value_name) head += *f.value_name + (f.sort_column == 0 ? sort_marker(f.sort_direction) : "") + " = ";
    std::string keys;
    for (size_t i = 0; i < f.key_names.size(); ++i) {
      keys += (i ? ", " : "") + f.key_names[i];
      if (f.sort_column == static_cast<int>(i) + 1) keys += sort_marker(f.sort_direction);
    }
    head += f.key_names.size() == 1 && !f.value_name ? keys : "[" + keys + "]";
    head += " in ";
    head += f.array_name;
    if (!f.slice.empty()) head += "[" + list(f.slice, kAssign) + "]";
    // stap's suffix form `arr[*]@sum-` (a statistic other than the default @count).
    if (f.sort_stat != StatsFn::Count && f.sort_direction != 0 && f.sort_column == 0)
      head += stats_fn_name(f.sort_stat);
    if (f.sort_column == 0 && !f.value_name) head += sort_marker(f.sort_direction);
    if (f.limit) head += " limit " + expr(*f.limit);
    line(head + ")");
    nested(*f.body);
  }

  static std::string point_text(const ProbePoint &point) {
    std::string text = point.str();
    // str() marks any optional point with '?'; '!' also makes it sufficient.
    if (point.sufficient && !text.empty() && text.back() == '?') text.back() = '!';
    return text;
  }

  static std::string points_text(const std::vector<ProbePoint> &points) {
    std::string text;
    for (size_t i = 0; i < points.size(); ++i) text += (i ? ", " : "") + point_text(points[i]);
    return text;
  }

  void global(const Global &g) {
    std::string text = (g.private_to ? "private global " : "global ") + g.name;
    if (g.wrap) text += "%";
    if (g.max_entries) text += "[" + std::to_string(g.max_entries) + "]";
    if (g.init) {
      text += " = ";
      if (g.init->kind == ExprKind::Number) text += parameter_text(cast<NumberExpr>(*g.init).value);
      else text += expr(*g.init);
    }
    line(text);
  }

  void function(const Function &f) {
    std::string text = (f.private_to ? "private function " : "function ") + f.name;
    if (f.declared_result != Type::Unknown) text += std::string(":") + type_name(f.declared_result);
    text += " (";
    for (size_t i = 0; i < f.params.size(); ++i) {
      text += (i ? ", " : "") + f.params[i];
      if (i < f.declared_params.size() && f.declared_params[i] != Type::Unknown)
        text += std::string(":") + type_name(f.declared_params[i]);
    }
    line(text + ")");
    stmt(*f.body);
  }

  void alias(const ProbeAlias &a) {
    std::string text = "probe " + points_text(a.names) + (a.epilogue ? " += " : " = ") + points_text(a.points);
    if (a.condition) text += " if (" + expr(*a.condition) + ")";
    line(text);
    stmt(*a.body);
  }

  void probe(const Probe &p) {
    std::string text = "probe " + points_text(p.points);
    if (p.condition) text += " if (" + expr(*p.condition) + ")";
    line(text);
    stmt(*p.body);
  }
};

}  // namespace

void print_program(const Program &program, std::ostream &out, const PrintOptions &options) {
  Printer(out, options.parenthesize_all).program(program);
}

std::string print_program(const Program &program) {
  std::ostringstream out;
  print_program(program, out, {});
  return out.str();
}

std::string print_expr(const Expr &expr) {
  std::ostringstream unused;
  return Printer(unused, false).expr(expr);
}

std::string print_stmt(const Stmt &stmt) {
  std::ostringstream out;
  Printer(out, false).stmt(stmt);
  return out.str();
}

}  // namespace ntap
