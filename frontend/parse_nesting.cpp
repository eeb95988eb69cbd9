// The nesting limit on the parse tree: every recursive walk over the AST
// (the builder, the printer, the passes, code generation) goes one level
// deeper per AST level, so no AST deeper than grammar::max_nesting may exist.
//
// The grammar already refuses deeply nested constructs while parsing, but a
// left-associative chain (`a + b + c + ...`) is parsed as one flat list and
// built as a left-nested tree, as deep as the chain is long: its first operand
// sits one level below each of its operators. Checking here, before the AST
// is built, also keeps the builder from ever holding (and, on an error,
// recursively destroying) a tree too deep to free.
#include "frontend/ast_builder.h"

namespace ntap::parsing {

namespace {

// The precedence levels AstBuilder::left_assoc folds into binary trees.
bool is_left_assoc_chain(const Node &n) {
  return n.children.size() > 1 &&
         (n.is_type<g::multiplicative>() || n.is_type<g::additive>() || n.is_type<g::concatenation>() ||
          n.is_type<g::shift>() || n.is_type<g::comparison>() || n.is_type<g::bit_and>() ||
          n.is_type<g::bit_xor>() || n.is_type<g::bit_or>() || n.is_type<g::logical_and>() ||
          n.is_type<g::logical_or>());
}

class NestingCheck {
 public:
  explicit NestingCheck(const PreprocessedSource &source) : source_(source) {}

  // `depth` is the node's AST depth (at most max_nesting, so this recursion
  // is bounded too).
  void check(const Node &n, size_t depth) const {
    if (!is_left_assoc_chain(n)) {
      for (const auto &child : n.children) descend(*child, depth + 1);
      return;
    }
    // children: operand (operator operand)*; the i-th operator's node is at
    // depth + (operators - i) and its right operand one below it.
    const auto &c = n.children;
    const size_t operators = (c.size() - 1) / 2;
    if (depth + operators > grammar::max_nesting) {
      // The first operator that does not fit.
      const size_t allowed = grammar::max_nesting >= depth ? grammar::max_nesting - depth : 0;
      refuse(*c[std::min(2 * allowed + 1, c.size() - 2)]);
    }
    descend(*c[0], depth + operators + 1);
    for (size_t i = 1; i <= operators; ++i) descend(*c[2 * i], depth + operators - i + 2);
  }

 private:
  const PreprocessedSource &source_;

  void descend(const Node &n, size_t depth) const {
    if (depth > grammar::max_nesting) refuse(n);
    check(n, depth);
  }

  [[noreturn]] void refuse(const Node &n) const {
    const size_t at = n.m_begin.byte;
    throw CompileError(ErrorKind::Parse, with_expansion_note(source_, grammar::nested_too_deeply, at),
                       source_.map.locate(at), describe_token_at(source_.text, at));
  }
};

}  // namespace

void check_nesting(const Node &root, const PreprocessedSource &source) { NestingCheck(source).check(root, 0); }

}  // namespace ntap::parsing
