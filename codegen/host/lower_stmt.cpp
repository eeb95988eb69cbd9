// Statements of user probes → IR: control flow, foreach, delete, <<<.
#include <algorithm>

#include <fmt/format.h>

#include "codegen/branches.h"
#include "codegen/host/lowering.h"

namespace ntap::host {
namespace {

// The global and key tuple a `delete` or `<<<` target names.
struct GlobalTarget {
  const ast::Global *global = nullptr;
  const std::vector<ast::ExprPtr> *keys = nullptr;  // null: the whole array / a scalar
  const ast::Local *local = nullptr;                // `delete x` of a local
};

GlobalTarget global_target(const ast::Expr &e, const char *what) {
  GlobalTarget target;
  if (e.kind == ast::ExprKind::Symbol) {
    const auto &sym = ast::cast<ast::SymbolExpr>(e);
    target.global = sym.global;
    target.local = sym.local;
  } else if (e.kind == ast::ExprKind::Index) {
    const auto &index = ast::cast<ast::IndexExpr>(e);
    target.global = index.global;
    target.keys = &index.keys;
  }
  if (!target.global && !target.local)
    throw CompileError(ErrorKind::Codegen, fmt::format("{} needs a variable or an array element", what), e.loc);
  return target;
}

}  // namespace

void ProbeLowering::stmt(const ast::Stmt &s) {
  switch (s.kind) {
    case ast::StmtKind::Block:
      for (const auto &child : ast::cast<ast::BlockStmt>(s).stmts) stmt(*child);
      return;

    case ast::StmtKind::Expr:
      expr(*ast::cast<ast::ExprStmt>(s).expr);
      record_actions(1, s.loc);
      return;

    case ast::StmtKind::If: {
      const auto &st = ast::cast<ast::IfStmt>(s);
      record_actions(1, s.loc, true);
      std::function<void()> else_arm;
      if (st.else_stmt)
        else_arm = [&] {
          stmt(*st.else_stmt);
          record_actions(0, st.else_stmt->loc, true);
        };
      codegen::if_else(builder_, condition(*st.cond),
                       [&] {
                         stmt(*st.then_stmt);
                         record_actions(0, st.then_stmt->loc, true);
                       },
                       else_arm);
      return;
    }

    case ast::StmtKind::While: {
      const auto &st = ast::cast<ast::WhileStmt>(s);
      record_actions(1, s.loc, true);  // entering the loop
      loop({"while", s.loc, [&] { return condition(*st.cond); }, {}, {}, {}, st.body.get()});
      return;
    }

    case ast::StmtKind::For: {
      const auto &st = ast::cast<ast::ForStmt>(s);
      if (st.init) expr(*st.init);
      record_actions(1, s.loc, true);  // entering the loop
      LoopParts parts{"for", s.loc, {}, {}, {}, {}, st.body.get()};
      if (st.cond) parts.condition = [&] { return condition(*st.cond); };
      if (st.step) parts.step = [&] { expr(*st.step); };
      loop(parts);
      return;
    }

    case ast::StmtKind::Foreach:
      foreach_loop(ast::cast<ast::ForeachStmt>(s));
      return;

    case ast::StmtKind::Try:
      try_stmt(ast::cast<ast::TryStmt>(s));
      return;

    case ast::StmtKind::Delete: {
      const auto &st = ast::cast<ast::DeleteStmt>(s);
      GlobalTarget target = global_target(*st.target, "delete");
      if (target.local) {  // a local scalar goes back to 0 / ""
        builder_.CreateStore(zero_value(target.local->type, s.loc), local_slot(*target.local, s.loc));
        record_actions(1, s.loc);
        return;
      }
      llvm::Value *keys = target.keys ? key_array(*target.keys) : null_keys();
      const uint64_t wildcards = target.keys ? wildcard_mask(*target.keys) : 0;
      builder_.CreateCall(runtime("ntap_delete", s.loc),
                          {rt_, builder_.getInt32(target.global->id), keys, builder_.getInt64(wildcards)});
      record_actions(1, s.loc);
      return;
    }

    case ast::StmtKind::StatsAdd: {
      const auto &st = ast::cast<ast::StatsAddStmt>(s);
      GlobalTarget target = global_target(*st.target, "<<<");
      if (!target.global)
        throw CompileError(ErrorKind::Codegen, "<<< needs a global aggregate", st.target->loc);
      llvm::Value *keys = target.keys ? key_array(*target.keys) : null_keys();
      llvm::Value *value = expr(*st.value);
      call_writer("ntap_stats_add", {rt_, builder_.getInt32(target.global->id), keys, value},
                  overflow_site(*target.global, target.keys != nullptr, st.target->loc), s.loc);
      record_actions(1, s.loc);  // an expression statement in stap
      return;
    }

    case ast::StmtKind::Break:
    case ast::StmtKind::Continue: {
      bool is_break = s.kind == ast::StmtKind::Break;
      if (loops.empty())
        throw CompileError(ErrorKind::Codegen, fmt::format("'{}' outside a loop", is_break ? "break" : "continue"),
                           s.loc);
      record_actions(1, s.loc, true);
      // A foreach's break target ends its own iterator; nothing else is open
      // between here and the innermost loop.
      builder_.CreateBr(is_break ? loops.back().break_target : loops.back().continue_target);
      continue_in_dead_block();
      return;
    }

    case ast::StmtKind::Return:
      return_stmt(ast::cast<ast::ReturnStmt>(s));  // counts itself once the value is computed
      continue_in_dead_block();
      return;
    case ast::StmtKind::Next:
      record_actions(1, s.loc, true);
      next_stmt();
      continue_in_dead_block();
      return;
  }
  throw CompileError(ErrorKind::Codegen, "unsupported statement in a user probe", s.loc);
}

// foreach: begin on a snapshot, fetch key tuples until the runtime says done,
// and always end the iterator — on normal exit and break here, on
// next/return/errors through leave_probe().
void ProbeLowering::foreach_loop(const ast::ForeachStmt &st) {
  const ast::Global *global = st.global;
  if (!global) throw CompileError(ErrorKind::Codegen, fmt::format("unresolved array '{}'", st.array_name), st.loc);
  size_t key_count = std::max(global->key_types.size(), st.key_locals.size());
  if (st.key_locals.size() != st.key_names.size())
    throw CompileError(ErrorKind::Codegen, "foreach keys were not resolved", st.loc);

  llvm::Value *limit = st.limit ? expr(*st.limit) : builder_.getInt64(-1);
  std::vector<llvm::Value *> begin_args = {rt_, builder_.getInt32(global->id), builder_.getInt32(st.sort_column),
                                           builder_.getInt32(st.sort_direction),
                                           builder_.getInt32(static_cast<uint32_t>(st.sort_stat)), limit};
  // arr[*, 5]: the runtime filters the snapshot; no slice: every element.
  begin_args.push_back(st.slice.empty() ? null_keys() : key_array(st.slice));
  begin_args.push_back(builder_.getInt64(wildcard_mask(st.slice)));
  // Entering the loop costs one action, checked before the snapshot is taken
  // (stap checks just after; nothing observable happens in between).
  record_actions(1, st.loc, true);
  llvm::Value *iter = builder_.CreateCall(runtime("ntap_foreach_begin", st.loc), begin_args);
  llvm::AllocaInst *iter_slot = entry_alloca(ptr(), "iter_slot");
  builder_.CreateStore(iter, iter_slot);

  auto *keys_type = llvm::ArrayType::get(i64(), std::max<size_t>(key_count, 1));
  llvm::AllocaInst *keys = entry_alloca(keys_type, "foreach_keys");

  auto next_element = [&] {
    llvm::Value *more = builder_.CreateCall(runtime("ntap_foreach_next", st.loc), {iter, keys});
    return builder_.CreateICmpNE(more, builder_.getInt64(0));
  };
  auto enter = [&] {
    open_iterators.push_back(iter_slot);
    for (size_t i = 0; i < st.key_locals.size(); ++i) {
      const ast::Local &local = *st.key_locals[i];
      ast::Type type = local.type != ast::Type::Unknown ? local.type
                       : i < global->key_types.size()  ? global->key_types[i]
                                                       : ast::Type::Long;
      llvm::Value *key = builder_.CreateLoad(value_type(type, st.loc),
                                             builder_.CreateConstInBoundsGEP2_32(keys_type, keys, 0, i));
      builder_.CreateStore(key, local_slot(local, st.loc));
    }
    if (st.value_local) {
      llvm::Value *value;
      if (global->value_type == ast::Type::Stats) {
        uint32_t site =
            add_site(st.loc, fmt::format("empty aggregate near operator '{}'", ast::stats_fn_name(st.sort_stat)));
        value = builder_.CreateCall(runtime("ntap_stats_get", st.loc),
                                    {rt_, builder_.getInt32(global->id), keys,
                                     builder_.getInt32(static_cast<uint32_t>(st.sort_stat)), builder_.getInt32(site)});
        check_failed();
      } else {
        value = read_global(*global, keys, global->value_type, st.loc);
      }
      builder_.CreateStore(value, local_slot(*st.value_local, st.loc));
    }
  };
  loop({"foreach", st.loc, next_element, enter, [&] { open_iterators.pop_back(); }, {}, st.body.get()});

  builder_.CreateCall(runtime("ntap_foreach_end", st.loc), {iter});
}

void ProbeLowering::loop(const LoopParts &parts) {
  const std::string name = parts.name;
  llvm::BasicBlock *test = new_block((name + "_test").c_str());
  llvm::BasicBlock *body = new_block((name + "_body").c_str());
  llvm::BasicBlock *next = new_block((name + "_next").c_str());
  llvm::BasicBlock *exit = new_block((name + "_end").c_str());
  builder_.CreateBr(test);
  builder_.SetInsertPoint(test);
  record_actions(1, parts.loc);  // each iteration, checked after the body
  if (parts.condition)
    builder_.CreateCondBr(parts.condition(), body, exit);
  else
    builder_.CreateBr(body);
  builder_.SetInsertPoint(body);
  if (parts.enter) parts.enter();
  loops.push_back({exit, next});
  stmt(*parts.body);
  record_actions(0, parts.body->loc, true);
  loops.pop_back();
  if (parts.leave) parts.leave();
  builder_.CreateBr(next);
  builder_.SetInsertPoint(next);
  if (parts.step) parts.step();
  builder_.CreateBr(test);
  builder_.SetInsertPoint(exit);
}

}  // namespace ntap::host
