// @entry(expr): stap evaluates expr when the function is entered and hands
// its value to the .return probe. ntap does what stap's translator does: a
// companion entry probe stores the value in a global keyed by the thread,
// which the return probe reads (the value of the thread's latest entry, so
// a recursive function sees its innermost call's).
#include "passes/entry_values.h"

#include <fmt/format.h>

#include "frontend/walk.h"
#include "kernel/providers/provider.h"

namespace ntap {
namespace {

using namespace ast;

constexpr const char *kEntryOperator = "@entry";

bool is_entry_call(const Expr &e) {
  return e.kind == ExprKind::Call && ast::cast<ast::CallExpr>(e).name == kEntryOperator;
}

[[noreturn]] void only_in_return_probes(const Location &loc) {
  throw CompileError(ErrorKind::Semantic, "@entry is only valid in .return probes", loc, "operator '@entry'");
}

ExprPtr thread_slot(const Location &loc, const std::string &global) {
  auto index = std::make_unique<IndexExpr>(loc, global);
  index->keys.push_back(std::make_unique<CallExpr>(loc, "tid"));
  return index;
}

// The entry probes of the functions `returns` are the return probes of: the
// provider resolves the same function as a .function probe.
std::vector<ResolvedProbe> entries_of(const std::vector<ResolvedProbe> &returns, const Location &at) {
  std::vector<ResolvedProbe> entries;
  for (const ResolvedProbe &rp : returns) {
    if (rp.kind != ProbeKind::Uprobe || !rp.retprobe || !rp.provider) only_in_return_probes(at);
    ProbePoint point;
    point.loc = at;
    point.components.push_back({"process", rp.binary, std::nullopt});
    point.components.push_back({"function", rp.name, std::nullopt});
    for (ResolvedProbe &entry : rp.provider->resolve(point)) {
      if (entry.entry != rp.entry) continue;  // an alias resolving elsewhere
      entry.provider = rp.provider;
      entry.pid = rp.pid;
      entry.point = rp.point;
      entries.push_back(std::move(entry));
    }
  }
  return entries;
}

}  // namespace

std::unique_ptr<Probe> split_entry_values(Program &program, Probe &probe, size_t probe_index) {
  // Only process probes save values at entry; kernel.function's fexit sees
  // the parameters' entry values itself, and every other probe's @entry is
  // reported by the target resolver (passes/resolve_probes.cpp).
  for (const ResolvedProbe &rp : probe.resolved)
    if (rp.kind != ProbeKind::Uprobe) return nullptr;
  auto body = std::make_unique<BlockStmt>(probe.loc);
  size_t count = 0;
  walk_exprs(*probe.body, [&](ExprPtr &slot) {
    if (!slot || !is_entry_call(*slot)) return;
    auto &call = ast::cast<ast::CallExpr>(*slot);
    if (call.args.size() != 1)
      throw CompileError(ErrorKind::Semantic, "@entry takes one expression", call.loc, "operator '@entry'");
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
  entry->resolved = entries_of(probe.resolved, body->stmts.front()->loc);
  entry->body = std::move(body);
  return entry;
}

void reject_entry_in_functions(Program &program) {
  for (auto &function : program.functions)
    walk_exprs(*function->body, [](ExprPtr &e) {
      if (e && is_entry_call(*e)) only_in_return_probes(e->loc);
    });
}

}  // namespace ntap
