// Names of AST enumerations, probe-point printing and program lookups.
#include "frontend/ast.h"

namespace ntap::ast {

const char *kind_name(ExprKind k) {
  switch (k) {
    case ExprKind::Number: return "Number";
    case ExprKind::String: return "String";
    case ExprKind::Symbol: return "Symbol";
    case ExprKind::Index: return "Index";
    case ExprKind::TargetVar: return "TargetVar";
    case ExprKind::Unary: return "Unary";
    case ExprKind::Binary: return "Binary";
    case ExprKind::Logical: return "Logical";
    case ExprKind::Ternary: return "Ternary";
    case ExprKind::Assign: return "Assign";
    case ExprKind::IncDec: return "IncDec";
    case ExprKind::Call: return "Call";
    case ExprKind::StatsOp: return "StatsOp";
    case ExprKind::InArray: return "InArray";
    case ExprKind::Defined: return "Defined";
    case ExprKind::Unresolved: return "Unresolved";
  }
  return "unknown expression";
}

const char *kind_name(StmtKind k) {
  switch (k) {
    case StmtKind::Block: return "Block";
    case StmtKind::Expr: return "Expr";
    case StmtKind::If: return "If";
    case StmtKind::While: return "While";
    case StmtKind::For: return "For";
    case StmtKind::Foreach: return "Foreach";
    case StmtKind::Delete: return "Delete";
    case StmtKind::StatsAdd: return "StatsAdd";
    case StmtKind::Break: return "Break";
    case StmtKind::Continue: return "Continue";
    case StmtKind::Next: return "Next";
    case StmtKind::Return: return "Return";
    case StmtKind::Try: return "Try";
  }
  return "unknown statement";
}

BadCast::BadCast(const char *node_kind, const char *wanted)
    : std::logic_error(std::string("internal error: AST node of kind ") + node_kind + " used as " + wanted) {}

const char *type_name(Type t) {
  switch (t) {
    case Type::Unknown: return "unknown";
    case Type::Long: return "long";
    case Type::String: return "string";
    case Type::Stats: return "stats";
  }
  return "unknown";
}

const char *binary_op_text(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return "+";
    case BinaryOp::Sub: return "-";
    case BinaryOp::Mul: return "*";
    case BinaryOp::Div: return "/";
    case BinaryOp::Mod: return "%";
    case BinaryOp::Shl: return "<<";
    case BinaryOp::Shr: return ">>";
    case BinaryOp::BitAnd: return "&";
    case BinaryOp::BitOr: return "|";
    case BinaryOp::BitXor: return "^";
    case BinaryOp::Lt: return "<";
    case BinaryOp::Le: return "<=";
    case BinaryOp::Gt: return ">";
    case BinaryOp::Ge: return ">=";
    case BinaryOp::Eq: return "==";
    case BinaryOp::Ne: return "!=";
    case BinaryOp::Concat: return ".";
    case BinaryOp::Ushr: return ">>>";
    case BinaryOp::RegexMatch: return "=~";
    case BinaryOp::RegexNoMatch: return "!~";
  }
  return "?";
}

const char *assign_op_text(AssignOp op) {
  switch (op) {
    case AssignOp::Set: return "=";
    case AssignOp::Add: return "+=";
    case AssignOp::Sub: return "-=";
    case AssignOp::Mul: return "*=";
    case AssignOp::Div: return "/=";
    case AssignOp::Mod: return "%=";
    case AssignOp::Shl: return "<<=";
    case AssignOp::Shr: return ">>=";
    case AssignOp::BitAnd: return "&=";
    case AssignOp::BitOr: return "|=";
    case AssignOp::BitXor: return "^=";
    case AssignOp::Concat: return ".=";
  }
  return "?";
}

// The language spelling of the extractor, as used in messages and output.
const char *stats_fn_name(StatsFn fn) {
  switch (fn) {
    case StatsFn::Count: return "@count";
    case StatsFn::Sum: return "@sum";
    case StatsFn::Min: return "@min";
    case StatsFn::Max: return "@max";
    case StatsFn::Avg: return "@avg";
    case StatsFn::Variance: return "@variance";
    case StatsFn::HistLog: return "@hist_log";
    case StatsFn::HistLinear: return "@hist_linear";
  }
  return "@?";
}

namespace {
void append_quoted(std::string &out, const std::string &text) {
  out += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}
}  // namespace

std::string ProbePoint::str() const {
  std::string out;
  for (size_t i = 0; i < components.size(); ++i) {
    const ProbePointComponent &c = components[i];
    if (i) out += '.';
    out += c.name;
    if (c.string_arg) {
      out += '(';
      append_quoted(out, *c.string_arg);
      out += ')';
    } else if (c.number_arg) {
      out += '(' + std::to_string(*c.number_arg) + ')';
    }
  }
  if (optional) out += '?';
  return out;
}

Global *Program::find_global(const std::string &name, const SourceFile *from) const {
  Global *visible = nullptr;
  for (const auto &g : globals) {
    if (g->name != name) continue;
    if (g->private_to && g->private_to == from) return g.get();
    if (!g->private_to) visible = g.get();
  }
  return visible;
}

}  // namespace ntap::ast

namespace ntap::ast {

std::string target_text(const TargetVarExpr &var) {
  std::string text = var.address_of ? "&" : "";
  if (var.autocast)
    text += "(...)";
  else if (var.is_cast())
    text += "@cast(..., \"" + var.cast_type + "\")";
  else
    text += "$" + var.name;
  for (const TargetComponent &c : var.components) text += c.is_subscript() ? std::string("[...]") : "->" + c.field;
  return text + std::string(var.pretty, '$');
}

}  // namespace ntap::ast
