#include "passes/pretty_print.h"

#include <utility>

#include "frontend/clone.h"
#include "kernel/btf.h"

namespace ntap {

using namespace ast;

namespace {

constexpr size_t kValuesPerCall = 12;  // bpf_snprintf's MAX_BPRINTF_VARARGS
// `$$` prints nested structs and arrays this deep at the most (the string
// limit ends it well before that in practice).
constexpr int kDeepest = 8;

}  // namespace

PrettyPrinter::PrettyPrinter(const Btf &types, ResolveTarget resolve, uint32_t string_limit, Location loc)
    : types_(types), resolve_(std::move(resolve)), limit_(string_limit ? string_limit - 1 : 0), loc_(loc) {}

// Once the text is sure to reach the string limit, what follows would be
// cut off: it is not added.
void PrettyPrinter::text(const std::string &literal) {
  if (full()) return;
  for (char c : literal) format_ += c == '%' ? std::string("%%") : std::string(1, c);
  literal_ += literal;
  min_length_ += literal.size();
}

void PrettyPrinter::conversion(const char *spec, ExprPtr value, size_t min_length) {
  if (full()) return;
  if (args_.size() == kValuesPerCall) flush();
  format_ += spec;
  args_.push_back(std::move(value));
  min_length_ += min_length;
}

void PrettyPrinter::flush() {
  if (format_.empty()) return;
  ExprPtr chunk;
  if (args_.empty()) {
    chunk = std::make_unique<StringExpr>(loc_, literal_);
  } else {
    auto call = std::make_unique<CallExpr>(loc_, "sprintf");
    call->args.push_back(std::make_unique<StringExpr>(loc_, format_));
    for (ExprPtr &arg : args_) call->args.push_back(std::move(arg));
    chunk = std::move(call);
  }
  result_ = result_ ? std::make_unique<BinaryExpr>(loc_, BinaryOp::Concat, std::move(result_), std::move(chunk))
                    : std::move(chunk);
  format_.clear();
  literal_.clear();
  args_.clear();
}

ExprPtr PrettyPrinter::finish() {
  flush();
  return result_ ? std::move(result_) : std::make_unique<StringExpr>(loc_, "");
}

std::unique_ptr<TargetVarExpr> PrettyPrinter::at(const Path &path) {
  ExprPtr copy = clone_expr(*root_);
  cast<TargetVarExpr>(*copy);  // checked before ownership moves to the narrower pointer
  auto var = std::unique_ptr<TargetVarExpr>(static_cast<TargetVarExpr *>(copy.release()));
  var->pretty = 0;
  var->address_of = false;
  var->resolved = false;
  for (const Step &step : path)
    var->components.push_back(
        TargetComponent{step.field, step.field.empty() ? std::make_unique<NumberExpr>(loc_, step.index) : nullptr});
  return var;
}

bool PrettyPrinter::value_of(const TargetVarExpr &var, int depth) {
  root_ = &var;
  // The value itself (a scalar, a pointer to a struct), or else the object
  // at the end of the path (`$skb->headers$`, an embedded struct).
  std::unique_ptr<TargetVarExpr> whole = at({});
  if (!resolve_(*whole)) {
    whole->address_of = true;
    if (!resolve_(*whole)) return false;
  }
  const btf::ValueShape shape = types_.value_shape(whole->btf_type_id);
  if (shape.kind == btf::ValueShape::Pointer &&
      types_.value_shape(shape.pointee).kind == btf::ValueShape::Composite) {
    members({}, shape.pointee, depth > 1 ? kDeepest : 0);  // `->member` follows the pointer
  } else if (whole->address_of && shape.kind == btf::ValueShape::Composite) {
    members({}, whole->btf_type_id, depth > 1 ? kDeepest : 0);
  } else {
    value({}, whole->btf_type_id, depth > 1 ? kDeepest : 1);
  }
  return true;
}

void PrettyPrinter::members(const Path &path, uint32_t type_id, int depth) {
  text("{");
  bool first = true;
  for (const btf::NamedMember &member : types_.named_members(type_id)) {
    if (full()) return;
    text((first ? "." : ", .") + member.name + "=");
    first = false;
    Path inner = path;
    inner.push_back({member.name});
    value(inner, member.type_id, depth);
  }
  text("}");
}

void PrettyPrinter::value(const Path &path, uint32_t type_id, int depth) {
  if (full()) return;
  const btf::ValueShape shape = types_.value_shape(type_id);
  switch (shape.kind) {
    case btf::ValueShape::Composite:
      if (depth == 0) return text("{...}");
      return members(path, type_id, depth - 1);
    case btf::ValueShape::Array: {
      if (depth == 0) return text("[...]");
      text("[");
      for (uint32_t i = 0; i < shape.count && !full(); ++i) {
        if (i) text(", ");
        Path element = path;
        element.push_back({"", i});
        value(element, shape.element, depth - 1);
      }
      return text("]");
    }
    default:
      break;
  }
  std::unique_ptr<TargetVarExpr> var = at(path);
  if (shape.kind == btf::ValueShape::Other || !resolve_(*var)) return text("?");
  switch (shape.kind) {
    case btf::ValueShape::Integer:
      return conversion(shape.is_signed ? "%d" : "%u", std::move(var), 1);
    case btf::ValueShape::Pointer:
      return conversion("0x%x", std::move(var), 3);
    case btf::ValueShape::String:
    case btf::ValueShape::CharArray: {
      // The text at the pointer (an array is its address): bpf_snprintf reads
      // it where it is, and an unreadable address prints as "".
      auto read = std::make_unique<CallExpr>(loc_, "kernel_string_at");
      read->args.push_back(std::move(var));
      return conversion("\"%s\"", std::move(read), 2);
    }
    default:
      return text("?");
  }
}

}  // namespace ntap
