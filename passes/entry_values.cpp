// @entry(expr): stap evaluates expr when the function is entered and hands
// its value to the .return probe. ntap does what stap's translator does: a
// companion entry probe (a uprobe for a uretprobe, fentry for fexit, a
// kprobe for a kretprobe) stores the value in a global keyed by the
// thread, which the return probe reads (the value of the thread's latest
// entry, so a recursive function sees its innermost call's).
#include "passes/entry_values.h"

#include <fmt/format.h>

#include "frontend/walk.h"
#include "kernel/providers/provider.h"
#include "passes/unresolved.h"

namespace ntap {
namespace {

using namespace ast;

constexpr const char *kEntryOperator = "@entry";

bool is_entry_call(const Expr &e) {
  return e.kind == ExprKind::Call && ast::cast<ast::CallExpr>(e).name == kEntryOperator;
}

ExprPtr thread_slot(const Location &loc, const std::string &global) {
  auto index = std::make_unique<IndexExpr>(loc, global);
  index->keys.push_back(std::make_unique<CallExpr>(loc, "tid"));
  return index;
}

// Whether @entry's operand is a bare parameter ($skb, not $skb->len or
// $$parms): what an fexit program reads from entry itself.
bool is_parameter(const Expr &operand) {
  auto *var = dyn_cast<TargetVarExpr>(operand);
  return var && !var->is_cast() && var->components.empty() && !var->pretty && !var->address_of &&
         var->name != "return" && !var->name.empty() && var->name.front() != '$';
}

bool is_fexit(const ResolvedProbe &rp) { return rp.section.rfind("fexit/", 0) == 0; }

}  // namespace

std::unique_ptr<Probe> split_entry_values(Program &program, Probe &probe, size_t probe_index) {
  const CallExpr *first = nullptr;
  walk_exprs(*probe.body, [&](ExprPtr &slot) {
    if (!first && slot && is_entry_call(*slot)) first = &ast::cast<ast::CallExpr>(*slot);
  });
  if (!first) return nullptr;
  // Each point's provider names the probes at its function's entry. A point
  // with none is no function's return: the target resolver reports the
  // operator there (or reads it, for a tracepoint that stands for a call's
  // return, passes/resolve_probes.cpp).
  std::vector<ResolvedProbe> entries;
  bool every_fexit = true;
  for (const ResolvedProbe &rp : probe.resolved) {
    std::vector<ResolvedProbe> of = rp.provider ? rp.provider->entry_probes(rp, first->loc) : std::vector<ResolvedProbe>{};
    if (of.empty()) return nullptr;
    every_fexit = every_fexit && is_fexit(rp);
    for (ResolvedProbe &entry : of) entries.push_back(std::move(entry));
  }
  auto body = std::make_unique<BlockStmt>(probe.loc);
  size_t count = 0;
  walk_exprs(*probe.body, [&](ExprPtr &slot) {
    if (!slot || !is_entry_call(*slot)) return;
    auto &call = ast::cast<ast::CallExpr>(*slot);
    if (call.args.size() != 1)
      throw CompileError(ErrorKind::Semantic, "@entry takes one expression", call.loc, "operator '@entry'");
    // fexit reads a parameter's value from entry: no store needed.
    if (every_fexit && is_parameter(*call.args[0])) return;
    const std::string name = fmt::format("__entry_{}_{}", probe_index, count++);
    auto global = std::make_unique<Global>();
    global->name = name;
    global->decl = call.loc;
    program.globals.push_back(std::move(global));
    auto store =
        std::make_unique<AssignExpr>(call.loc, AssignOp::Set, thread_slot(call.loc, name), std::move(call.args[0]));
    body->stmts.push_back(std::make_unique<ExprStmt>(call.loc, std::move(store)));
    slot = thread_slot(call.loc, name);
  });
  if (count == 0) return nullptr;
  auto entry = std::make_unique<Probe>();
  entry->loc = probe.loc;
  entry->points = probe.points;
  entry->resolved = std::move(entries);
  entry->body = std::move(body);
  return entry;
}

void reject_entry_in_functions(Program &program) {
  for (auto &function : program.functions)
    walk_exprs(*function->body, [](ExprPtr &e) {
      if (e && is_entry_call(*e))
        keep_error(e, CompileError(ErrorKind::Semantic, "@entry is only valid in .return probes", e->loc,
                                   "operator '@entry'"));
    });
}

}  // namespace ntap
