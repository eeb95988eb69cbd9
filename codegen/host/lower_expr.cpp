// Expressions of user probes → IR.
#include <fmt/format.h>

#include "codegen/branches.h"
#include "codegen/host/lowering.h"

namespace ntap::host {
namespace {

using ast::ExprKind;

[[noreturn]] void unsupported(const Location &loc, const std::string &what) {
  throw CompileError(ErrorKind::Codegen, what, loc);
}

const ast::Global &resolved_global(const ast::Global *g, const std::string &name, const Location &loc) {
  if (!g) unsupported(loc, fmt::format("unresolved global '{}'", name));
  return *g;
}

ast::BinaryOp arith_op_of(ast::AssignOp op) {
  switch (op) {
    case ast::AssignOp::Add: return ast::BinaryOp::Add;
    case ast::AssignOp::Sub: return ast::BinaryOp::Sub;
    case ast::AssignOp::Mul: return ast::BinaryOp::Mul;
    case ast::AssignOp::Div: return ast::BinaryOp::Div;
    case ast::AssignOp::Mod: return ast::BinaryOp::Mod;
    case ast::AssignOp::Shl: return ast::BinaryOp::Shl;
    case ast::AssignOp::Shr: return ast::BinaryOp::Shr;
    case ast::AssignOp::BitAnd: return ast::BinaryOp::BitAnd;
    case ast::AssignOp::BitOr: return ast::BinaryOp::BitOr;
    case ast::AssignOp::BitXor: return ast::BinaryOp::BitXor;
    case ast::AssignOp::Concat: return ast::BinaryOp::Concat;
    case ast::AssignOp::Set: break;
  }
  return ast::BinaryOp::Add;  // unreachable: Set is handled by the caller
}

bool is_comparison(ast::BinaryOp op) {
  using enum ast::BinaryOp;
  return op == Lt || op == Le || op == Gt || op == Ge || op == Eq || op == Ne;
}

llvm::CmpInst::Predicate signed_predicate(ast::BinaryOp op) {
  using enum ast::BinaryOp;
  switch (op) {
    case Lt: return llvm::CmpInst::ICMP_SLT;
    case Le: return llvm::CmpInst::ICMP_SLE;
    case Gt: return llvm::CmpInst::ICMP_SGT;
    case Ge: return llvm::CmpInst::ICMP_SGE;
    case Eq: return llvm::CmpInst::ICMP_EQ;
    default: return llvm::CmpInst::ICMP_NE;
  }
}

}  // namespace

// Long arithmetic with stap's semantics: wraparound, shift counts masked to
// 0..63, `>>` arithmetic, and division/modulo by zero a run-time error.
llvm::Value *lower_arith(ProbeLowering &l, ast::BinaryOp op, llvm::Value *lhs, llvm::Value *rhs,
                         const Location &loc, const char *op_text) {
  auto &b = l.builder();
  using enum ast::BinaryOp;
  switch (op) {
    case Add: return b.CreateAdd(lhs, rhs);
    case Sub: return b.CreateSub(lhs, rhs);
    case Mul: return b.CreateMul(lhs, rhs);
    case Shl: return b.CreateShl(lhs, b.CreateAnd(rhs, 63));
    case Shr: return b.CreateAShr(lhs, b.CreateAnd(rhs, 63));
    case Ushr: return b.CreateLShr(lhs, b.CreateAnd(rhs, 63));
    case BitAnd: return b.CreateAnd(lhs, rhs);
    case BitOr: return b.CreateOr(lhs, rhs);
    case BitXor: return b.CreateXor(lhs, rhs);
    case Concat: return b.CreateCall(l.runtime("ntap_str_concat", loc), {l.rt(), lhs, rhs});
    case Div:
    case Mod: {
      uint32_t site = l.add_site(loc, fmt::format("division by 0 near operator '{}'", op_text));
      l.fail_if(b.CreateICmpEQ(rhs, b.getInt64(0)), site);
      // INT64_MIN / -1 traps on x86; -1 is computed as a negation instead.
      llvm::Value *minus_one = b.CreateICmpEQ(rhs, b.getInt64(-1));
      llvm::Value *divisor = b.CreateSelect(minus_one, b.getInt64(1), rhs);
      if (op == Div) return b.CreateSelect(minus_one, b.CreateSub(b.getInt64(0), lhs), b.CreateSDiv(lhs, divisor));
      return b.CreateSelect(minus_one, b.getInt64(0), b.CreateSRem(lhs, divisor));
    }
    default: break;
  }
  throw CompileError(ErrorKind::Codegen, fmt::format("operator '{}' is not arithmetic", op_text), loc);
}

llvm::Value *ProbeLowering::key_array(const std::vector<ast::ExprPtr> &keys) {
  if (keys.empty()) return null_keys();
  std::vector<llvm::Value *> values;
  for (const auto &k : keys) values.push_back(k ? expr(*k) : builder_.getInt64(0));  // null: `*`, see wildcard_mask
  auto *array_type = llvm::ArrayType::get(i64(), keys.size());
  llvm::AllocaInst *array = entry_alloca(array_type, "keys");
  for (size_t i = 0; i < values.size(); ++i)
    builder_.CreateStore(values[i], builder_.CreateConstInBoundsGEP2_32(array_type, array, 0, i));
  return array;
}

llvm::Value *ProbeLowering::read_global(const ast::Global &global, llvm::Value *keys, ast::Type type,
                                        const Location &loc) {
  llvm::Value *gid = builder_.getInt32(global.id);
  if (type == ast::Type::String) return builder_.CreateCall(runtime("ntap_get_string", loc), {rt_, gid, keys});
  if (type == ast::Type::Stats)
    throw CompileError(ErrorKind::Codegen,
                       fmt::format("aggregate '{}' can only be read with @count, @sum, @min, @max or @avg", global.name),
                       loc);
  return builder_.CreateCall(runtime("ntap_get_long", loc), {rt_, gid, keys});
}

LValue ProbeLowering::lvalue(const ast::Expr &e) {
  LValue place;
  place.type = e.type;
  place.loc = e.loc;
  if (e.kind == ExprKind::Symbol) {
    const auto &sym = ast::cast<ast::SymbolExpr>(e);
    if (sym.local) {
      place.kind = LValue::Kind::Local;
      place.type = sym.local->type != ast::Type::Unknown ? sym.local->type : e.type;
      place.local_slot = local_slot(*sym.local, e.loc);
      return place;
    }
    place.kind = LValue::Kind::GlobalScalar;
    place.global = &resolved_global(sym.global, sym.name, e.loc);
    place.keys = null_keys();
    return place;
  }
  if (e.kind == ExprKind::Index) {
    const auto &index = ast::cast<ast::IndexExpr>(e);
    place.kind = LValue::Kind::GlobalElement;
    place.global = &resolved_global(index.global, index.name, e.loc);
    place.keys = key_array(index.keys);
    return place;
  }
  unsupported(e.loc, "only variables and array elements can be assigned");
}

llvm::Value *ProbeLowering::read(const LValue &place, const Location &loc) {
  if (place.kind == LValue::Kind::Local)
    return builder_.CreateLoad(value_type(place.type, loc), place.local_slot);
  return read_global(*place.global, place.keys, place.type, loc);
}

void ProbeLowering::write(const LValue &place, llvm::Value *value) {
  if (place.kind == LValue::Kind::Local) {
    builder_.CreateStore(value, place.local_slot);
    return;
  }
  llvm::Value *gid = builder_.getInt32(place.global->id);
  const char *setter = place.type == ast::Type::String ? "ntap_set_string" : "ntap_set_long";
  const bool element = place.kind == LValue::Kind::GlobalElement;
  call_writer(setter, {rt_, gid, place.keys, value}, overflow_site(*place.global, element, place.loc), place.loc);
}

// The aggregate a statistics operator reads: its global and key array (null
// for a scalar).
std::pair<const ast::Global *, llvm::Value *> ProbeLowering::stats_target(const ast::StatsOpExpr &op) {
  const ast::Expr &target = *op.operand;
  if (target.kind == ExprKind::Symbol) {
    const auto &sym = ast::cast<ast::SymbolExpr>(target);
    return {&resolved_global(sym.global, sym.name, target.loc), null_keys()};
  }
  if (target.kind == ExprKind::Index) {
    const auto &index = ast::cast<ast::IndexExpr>(target);
    const ast::Global *global = &resolved_global(index.global, index.name, target.loc);
    return {global, key_array(index.keys)};
  }
  unsupported(target.loc, fmt::format("{} needs an aggregate variable or element", ast::stats_fn_name(op.fn)));
}

// print(@hist_log(x)) / println(...) alone: the histogram goes to the output
// as data, so --format json can show its buckets.
void ProbeLowering::print_histogram(const ast::StatsOpExpr &op, bool newline) {
  auto [global, keys] = stats_target(op);
  uint32_t site = add_site(op.loc, "aggregate element not found");
  builder_.CreateCall(runtime("ntap_print_histogram", op.loc), {rt_, builder_.getInt32(global->id), keys,
                                                               builder_.getInt64(newline), builder_.getInt32(site)});
  check_failed();
}

// print(@hist_log(x)) among other values gets the table as a string;
// @hist_log(x)[i] one count.
llvm::Value *ProbeLowering::histogram(const ast::StatsOpExpr &op, const ast::Global &global, llvm::Value *keys) {
  llvm::Value *gid = builder_.getInt32(global.id);
  llvm::Value *value;
  if (op.bucket) {
    llvm::Value *bucket = expr(*op.bucket);
    uint32_t site = add_site(op.bucket->loc, "histogram index out of range");
    value = builder_.CreateCall(runtime("ntap_stats_bucket", op.loc), {rt_, gid, keys, bucket, builder_.getInt32(site)});
  } else {
    uint32_t site = add_site(op.loc, "aggregate element not found");
    value = builder_.CreateCall(runtime("ntap_stats_histogram", op.loc), {rt_, gid, keys, builder_.getInt32(site)});
  }
  check_failed();
  return value;
}

llvm::Value *ProbeLowering::condition(const ast::Expr &e) {
  if (e.type == ast::Type::String)
    unsupported(e.loc, "a string cannot be used as a condition; compare it with == \"\"");
  return builder_.CreateICmpNE(expr(e), builder_.getInt64(0));
}

llvm::Value *ProbeLowering::expr(const ast::Expr &e) {
  switch (e.kind) {
    case ExprKind::Number: return builder_.getInt64(ast::cast<ast::NumberExpr>(e).value);
    case ExprKind::String: {  // a string value holds at most MAXSTRINGLEN - 1 bytes, as in stap
      const std::string &text = ast::cast<ast::StringExpr>(e).value;
      return string_constant(text.substr(0, module_.max_string_bytes));
    }
    case ExprKind::Symbol:
    case ExprKind::Index: return read(lvalue(e), e.loc);

    case ExprKind::Unary: {
      const auto &u = ast::cast<ast::UnaryExpr>(e);
      llvm::Value *v = expr(*u.operand);
      switch (u.op) {
        case ast::UnaryOp::Neg: return builder_.CreateSub(builder_.getInt64(0), v);
        case ast::UnaryOp::Plus: return v;
        case ast::UnaryOp::Not: return builder_.CreateZExt(builder_.CreateICmpEQ(v, builder_.getInt64(0)), i64());
        case ast::UnaryOp::BitNot: return builder_.CreateNot(v);
      }
      break;
    }

    case ExprKind::Binary: {
      const auto &bin = ast::cast<ast::BinaryExpr>(e);
      llvm::Value *lhs = expr(*bin.lhs);
      llvm::Value *rhs = expr(*bin.rhs);
      if (ast::is_regex_op(bin.op)) {
        llvm::Value *matched = builder_.CreateCall(runtime("ntap_regex_match", e.loc), {rt_, lhs, rhs});
        return bin.op == ast::BinaryOp::RegexMatch ? matched : builder_.CreateXor(matched, builder_.getInt64(1));
      }
      if (!is_comparison(bin.op)) return lower_arith(*this, bin.op, lhs, rhs, e.loc, ast::binary_op_text(bin.op));
      if (bin.lhs->type == ast::Type::String) {
        lhs = builder_.CreateCall(runtime("ntap_str_compare", e.loc), {lhs, rhs});
        rhs = builder_.getInt64(0);
      }
      return builder_.CreateZExt(builder_.CreateICmp(signed_predicate(bin.op), lhs, rhs), i64());
    }

    case ExprKind::Logical: {
      // Short-circuit: the right side runs only when the left does not decide.
      const auto &lg = ast::cast<ast::LogicalExpr>(e);
      llvm::Value *result = codegen::short_circuit(builder_, lg.op == ast::LogicalOp::And, condition(*lg.lhs),
                                                   [&] { return condition(*lg.rhs); });
      return builder_.CreateZExt(result, i64());
    }

    case ExprKind::Ternary: {
      const auto &t = ast::cast<ast::TernaryExpr>(e);
      return codegen::conditional_value(builder_, condition(*t.cond), [&] { return expr(*t.then_expr); },
                                        [&] { return expr(*t.else_expr); });
    }

    case ExprKind::Assign: {
      const auto &a = ast::cast<ast::AssignExpr>(e);
      LValue place = lvalue(*a.lhs);
      llvm::Value *value = expr(*a.rhs);
      if (a.op != ast::AssignOp::Set)
        value = lower_arith(*this, arith_op_of(a.op), read(place, e.loc), value, e.loc, ast::assign_op_text(a.op));
      write(place, value);
      return value;
    }

    case ExprKind::IncDec: {
      const auto &inc = ast::cast<ast::IncDecExpr>(e);
      LValue place = lvalue(*inc.operand);
      llvm::Value *old_value = read(place, e.loc);
      llvm::Value *new_value = builder_.CreateAdd(old_value, builder_.getInt64(inc.increment ? 1 : -1));
      write(place, new_value);
      return inc.prefix ? new_value : old_value;
    }

    case ExprKind::Call: return call(ast::cast<ast::CallExpr>(e));

    case ExprKind::StatsOp: {
      const auto &op = ast::cast<ast::StatsOpExpr>(e);
      auto [global, keys] = stats_target(op);
      if (ast::is_histogram(op.fn)) return histogram(op, *global, keys);
      uint32_t site = add_site(e.loc, fmt::format("empty aggregate near operator '{}'", ast::stats_fn_name(op.fn)));
      llvm::Value *value =
          builder_.CreateCall(runtime("ntap_stats_get", e.loc),
                              {rt_, builder_.getInt32(global->id), keys,
                               builder_.getInt32(static_cast<uint32_t>(op.fn)), builder_.getInt32(site)});
      check_failed();
      return value;
    }

    case ExprKind::InArray: {
      const auto &in = ast::cast<ast::InArrayExpr>(e);
      const ast::Global &global = resolved_global(in.global, in.name, e.loc);
      llvm::Value *keys = key_array(in.keys);
      llvm::Value *found = builder_.CreateCall(
          runtime("ntap_exists", e.loc),
          {rt_, builder_.getInt32(global.id), keys, builder_.getInt64(wildcard_mask(in.keys))});
      return builder_.CreateZExt(builder_.CreateICmpNE(found, builder_.getInt64(0)), i64());
    }

    case ExprKind::TargetVar:
      if (ast::cast<ast::TargetVarExpr>(e).is_cast())
        unsupported(e.loc, "@cast reads kernel memory, which user probes (begin, end, timer) cannot do; "
                           "use it in a kernel probe");
      unsupported(e.loc, fmt::format("target variable '${}' is not available in user probes (begin, end, timer)",
                                     ast::cast<ast::TargetVarExpr>(e).name));
    case ExprKind::Defined:
      unsupported(e.loc, "@defined was not resolved before code generation");
    case ExprKind::Unresolved:
      unsupported(e.loc, ast::cast<ast::UnresolvedExpr>(e).error.message());
  }
  unsupported(e.loc, "unsupported expression in a user probe");
}

}  // namespace ntap::host
