// stap's autocast: `x->f`, `(expr)->f` and `f()->f` read members of a value
// whose kernel type is not written but known from where the value came
// from: a target variable, an @cast or another member read, an assignment
// of one, or a local or function result only ever given values of one type.
//
// Part of probe resolution (resolve_probes.cpp), which meets expressions in
// source order with their operands resolved: it tells this scope about each
// assignment, and asks it to resolve each autocast.
#pragma once
#include <map>
#include <optional>
#include <string>

#include "frontend/ast.h"
#include "kernel/btf.h"

namespace ntap {

// The kernel type a value carries: a value of type `type_id` (a pointer, say),
// or the address of an object of that type (an array, &$x->member).
struct KernelValueType {
  uint32_t type_id = 0;
  btf::AccessStart start = btf::AccessStart::Value;
  std::string origin;  // TargetVarExpr::type_origin
  bool operator==(const KernelValueType &) const = default;
};

// What the script's functions return, when every `return` gives a value of
// one kernel type (by function name).
using FunctionResultTypes = std::map<const ast::Function *, KernelValueType>;

// The types the locals of one probe or function body carry.
class AutocastScope {
 public:
  AutocastScope(const Btf &types, const ast::Program &program, const FunctionResultTypes &results)
      : types_(types), program_(program), results_(results) {}

  // The kernel type of `e`'s value, if it carries one.
  std::optional<KernelValueType> type_of(const ast::Expr &e) const;
  // Whether the script (or a tapset file it uses) defines a function `name`.
  bool program_has_function(const std::string &name) const;
  // `x = value` (operands resolved): x carries value's type from here on;
  // a local given values of different types carries none.
  void assigned(const ast::AssignExpr &assign);
  // Fills in an autocast's steps from its operand's type (operand resolved).
  // Throws CompileError when the operand carries no type or has no such member;
  // with `only_probing` (under @defined) returns false instead.
  bool resolve(ast::TargetVarExpr &var, bool only_probing = false) const;

 private:
  const Btf &types_;
  const ast::Program &program_;
  const FunctionResultTypes &results_;
  // nullopt: assigned values of different types (or untyped ones).
  std::map<std::string, std::optional<KernelValueType>> locals_;
};

// The end of resolving an @cast or autocast: `var` takes `access`'s steps; an
// error is a CompileError located at `var` naming `near`, or with
// `only_probing` (under @defined) false: a member that does not exist, or
// one that cannot be read as a value (a struct without `&`), as in stap.
bool finish_cast_access(ast::TargetVarExpr &var, btf::AccessResult &&access, bool only_probing,
                        const std::string &near);

// Scans a resolved function body's `return` statements: the kernel type they
// all give, if they do.
std::optional<KernelValueType> function_result_type(const ast::Function &function, const AutocastScope &scope);

}  // namespace ntap
