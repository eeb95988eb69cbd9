// Parse tree -> AST (internal to the parser): the one class that converts
// the PEGTL parse tree of frontend/grammar.h into the ast:: nodes. Its
// methods live by construct: parser.cpp (the entry point and diagnostics),
// parse_expressions.cpp (literals and expressions), parse_statements.cpp,
// parse_declarations.cpp (probes, aliases, functions, globals).
#pragma once
#include <tao/pegtl/contrib/parse_tree.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/ast.h"
#include "frontend/grammar.h"
#include "frontend/preprocess.h"

namespace ntap::parsing {

namespace g = grammar;
namespace pt = tao::pegtl::parse_tree;
using Node = pt::node;
using namespace ast;

// "saw: ..." text for the token starting at `offset`, in stap's wording:
// identifier 'x', keyword 'if', number '12', string "a", operator '}'.
std::string describe_token_at(std::string_view text, size_t offset);

// An error inside a macro expansion is located at the macro's use; the note
// names the macro and where it was defined.
std::string with_expansion_note(const PreprocessedSource &source, const std::string &message, size_t offset);

// Refuses (CompileError "nested too deeply") a parse tree whose AST would be
// deeper than grammar::max_nesting (parse_nesting.cpp).
void check_nesting(const Node &root, const PreprocessedSource &source);

class AstBuilder {
 public:
  // `source` is the preprocessed text the parse tree was built from; its map
  // takes every node back to its place in `file`.
  AstBuilder(const SourceFile &file, const PreprocessedSource &source) : file_(file), source_(source) {}

  std::unique_ptr<Program> program(const Node &root);

 private:
  const SourceFile &file_;
  const PreprocessedSource &source_;

  Location loc(const Node &n) const { return source_.map.locate(n.m_begin.byte); }

  [[noreturn]] void fail(const Node &n, const std::string &message) const {
    throw CompileError(ErrorKind::Parse, with_expansion_note(source_, message, n.m_begin.byte), loc(n),
                       describe_token_at(source_.text, n.m_begin.byte));
  }

  static std::string text(const Node &n) { return n.string(); }

  // ---- literals (parse_expressions.cpp)
  int64_t number(const Node &n) const;
  void decode_string(const Node &body, std::string &out) const;
  [[noreturn]] void escape_error(const Node &body, size_t offset, const std::string &message) const;
  std::string string_value(const Node &literal) const;

  // ---- expressions (parse_expressions.cpp)
  static bool is_lvalue(const Expr &e) { return e.kind == ExprKind::Symbol || e.kind == ExprKind::Index; }
  ExprPtr lvalue(const Node &n, const char *what);
  // What an assignment or ++/-- may change: an lvalue or a target variable,
  // which parses as in stap; writing one is refused in elaboration
  // (passes/resolve_probes.cpp), where stap refuses it without guru mode.
  ExprPtr assignable(const Node &n, const char *what);
  void check_print_call(const Node &n, const std::string &name, const Node &args) const;
  static std::optional<BinaryOp> binary_op(const Node &op);
  static AssignOp assign_op(const Node &op);
  ExprPtr left_assoc(const Node &n);
  void check_regex(const Node &n, const Expr &pattern) const;
  int64_t literal_parameter(const Node &n, const std::string &op);
  ExprPtr stats_with_parameters(const Node &n, const std::string &name, StatsFn fn, size_t operands);
  ExprPtr at_operator(const Node &n);
  // ---- target variables, @cast, & and the @-operators ntap cannot provide (parse_targets.cpp)
  void target_components(const Node &n, size_t first, TargetVarExpr &target);
  ExprPtr target_var(const Node &n);
  ExprPtr cast_expr(const Node &n);
  ExprPtr address_of(const Node &n);
  std::unique_ptr<BlockStmt> probe_body(const Node &body);
  ExprPtr autocast(const Node &n, ExprPtr operand, const Node &members, size_t first);
  ExprPtr name_use(const Node &n, size_t parts);
  ExprPtr unavailable_at_operator(const Node &n, const std::string &name);
  static bool is_unavailable_at_operator(const std::string &name);
  ExprPtr call_or_symbol(const Node &n);
  ExprPtr expr(const Node &n);

  // ---- statements (parse_statements.cpp)
  std::unique_ptr<BlockStmt> block(const Node &n);
  static const Node *foreach_histogram(const Node &n);
  StmtPtr histogram_foreach(const Node &n, const Node &histogram);
  std::unique_ptr<ForeachStmt> foreach_statement(const Node &n);
  StmtPtr stmt(const Node &n);

  // ---- top level (parse_declarations.cpp)
  std::vector<ProbePoint> probe_points(const Node &n);  // brace alternatives expanded
  ProbePoint probe_point(const Node &n);  // a point without alternatives of whole points
  ProbePointComponent component(const Node &part);
  static const Node *point_condition(const Node &point);
  void probe_declaration(const Node &n, Program &prog);
  std::unique_ptr<ProbeAlias> probe_alias(const Node &n, const std::vector<const Node *> &names, const Node &definition,
                                          const Node &body, size_t only_point = 0);  // 0: every point
  static Type type_of_name(const Node &type_name);
  std::unique_ptr<Function> function(const Node &n);
  void private_declaration(const Node &n, Program &prog);
  void globals(const Node &declaration, Program &prog, const SourceFile *private_to = nullptr);
  ExprPtr global_initialiser(const Node &init);
};

}  // namespace ntap::parsing
