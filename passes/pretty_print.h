// $var$ and $var$$: stap's pretty-printed dump of a target variable, built as
// a string expression before anything else sees the probe body (part of
// resolve_probes).
//
// A struct or union prints as {.member=value, ...} (the members of anonymous
// members in their place), integers in decimal, pointers as 0x addresses,
// char arrays and char pointers as their text between double quotes, a value
// that cannot be read as "?". With one `$` nested structs and arrays print
// as {...} and [...]; with `$$` they are printed too. The expression is
// sprintf calls of at most 12 values each (bpf_snprintf's limit) joined by
// `.`; members stop once the text is sure to reach MAXSTRINGLEN, where the
// string is cut in any case.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "frontend/ast.h"
#include "kernel/btf.h"

namespace ntap {

// Resolves a target variable the printer made (a member of the dumped one):
// false when it cannot be read here.
using ResolveTarget = std::function<bool(ast::TargetVarExpr &)>;

class PrettyPrinter {
 public:
  // `types` is the BTF the values' types come from; `string_limit` is
  // MAXSTRINGLEN; generated nodes carry `loc`.
  PrettyPrinter(const Btf &types, ResolveTarget resolve, uint32_t string_limit, Location loc);

  void text(const std::string &literal);
  // Appends `var` (its pretty suffix ignored) as var$ (depth 1) or var$$
  // (depth 2) prints it. False, appending nothing, when var cannot be read.
  bool value_of(const ast::TargetVarExpr &var, int depth);
  // The string expression of everything appended.
  ast::ExprPtr finish();

 private:
  struct Step {
    std::string field;  // empty: a subscript
    int64_t index = 0;
  };
  using Path = std::vector<Step>;
  std::unique_ptr<ast::TargetVarExpr> at(const Path &path);
  void value(const Path &path, uint32_t type_id, int depth);
  void members(const Path &path, uint32_t type_id, int depth);
  void conversion(const char *spec, ast::ExprPtr value, size_t min_length);
  void flush();
  bool full() const { return min_length_ >= limit_; }

  const Btf &types_;
  ResolveTarget resolve_;
  size_t limit_;
  Location loc_;
  const ast::TargetVarExpr *root_ = nullptr;
  std::string format_, literal_;  // the sprintf being filled, and its text without values
  std::vector<ast::ExprPtr> args_;
  ast::ExprPtr result_;           // the finished sprintf calls, joined with `.`
  size_t min_length_ = 0;         // the fewest bytes the text can take
};

}  // namespace ntap
