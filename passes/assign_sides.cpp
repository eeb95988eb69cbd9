// Sides: each probe runs either in the kernel (a BPF program) or in the ntap
// process (begin, end, timers). This pass records which side every global is
// read, written and deleted on — the layout decides from that where globals
// live and which need double buffering — and rejects what a side cannot do.
//
// A script function is checked (and later compiled) for every side it is
// called from. BPF cannot recurse: a call cycle reached from a kernel probe is
// an error naming the cycle.
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <set>

#include "frontend/builtins.h"
#include "passes/passes.h"
#include "frontend/walk.h"
#include "kernel/providers/provider.h"
#include "kernel/providers/user_providers.h"

namespace ntap {
namespace {

using namespace ast;

Global *global_of(const Expr &e) {
  if (e.kind == ExprKind::Symbol) return cast<SymbolExpr>(e).global;
  if (e.kind == ExprKind::Index) return cast<IndexExpr>(e).global;
  if (e.kind == ExprKind::InArray) return cast<InArrayExpr>(e).global;
  return nullptr;
}

bool is_output_call(const Expr &e) {
  if (e.kind != ExprKind::Call) return false;
  const auto &call = cast<CallExpr>(e);
  return call.builtin && call.builtin->flags & Builtin::Variadic;
}

class SideAnalysis {
 public:
  // `calls`: the functions being analysed for the kernel, outermost first.
  SideAnalysis(BlockStmt &body, bool kernel, std::vector<const Function *> &calls)
      : body_(body), kernel_(kernel), calls_(calls) {}

  void run() {
    walk_stmts(body_, [&](Stmt &s) { visit_stmt(s); });
  }

 private:
  // `as_value`: the value is used, not only updated in place (n++, n += 1).
  void read(Global *g, bool as_value = true) {
    if (!g) return;
    (kernel_ ? g->read_in_kernel : g->read_in_user) = true;
    if (as_value) g->read_as_value = true;
  }
  void write(Global *g) {
    if (!g) return;
    (kernel_ ? g->written_in_kernel : g->written_in_user) = true;
  }

  void visit_stmt(Stmt &s) {
    switch (s.kind) {
      case StmtKind::Delete: {
        Global *g = global_of(*cast<DeleteStmt>(s).target);
        write(g);
        if (g && !kernel_) g->deleted_in_user = true;
        break;
      }
      case StmtKind::StatsAdd: write(global_of(*cast<StatsAddStmt>(s).target)); break;
      case StmtKind::Foreach: read(cast<ForeachStmt>(s).global); break;
      default: break;
    }
    // A kernel probe walks a map with bpf_for_each_map_elem
    // (codegen/bpf/map_walk.cpp), which visits elements in hash order; a
    // program cannot hold them all to sort them.
    if (kernel_ && s.kind == StmtKind::Foreach && cast<ForeachStmt>(s).sort_direction != 0)
      throw CompileError(ErrorKind::Semantic,
                         "a sorted foreach is not supported in kernel probes: BPF walks a map in hash order "
                         "and a program cannot hold its elements to sort them; drop the '+'/'-' or move the "
                         "loop into a timer or end probe",
                         s.loc, "");
    // `n++;` and `n += 1;` as statements only update n; as a value
    // (`if (n++ == 0)`) they read it too.
    update_only_ = s.kind == StmtKind::Expr ? cast<ExprStmt>(s).expr.get() : nullptr;
    for_each_expr(s, [&](ExprPtr &e) { visit_expr(*e, s.kind == StmtKind::Delete || s.kind == StmtKind::StatsAdd); });
  }

  // `target_of_stmt`: the expression is the lvalue of a delete or <<<
  // (already counted as a write there).
  void visit_expr(Expr &e, bool target_of_stmt = false, bool output_arg = false) {
    switch (e.kind) {
      case ExprKind::Symbol:
      case ExprKind::Index:
      case ExprKind::InArray:
        if (!target_of_stmt) read(global_of(e));
        break;
      case ExprKind::Assign: {
        auto &a = cast<AssignExpr>(e);
        write(global_of(*a.lhs));
        if (a.op != AssignOp::Set) read(global_of(*a.lhs), &e != update_only_);
        if (a.lhs->kind == ExprKind::Index)
          for (auto &k : cast<IndexExpr>(*a.lhs).keys) visit_expr(*k);
        visit_expr(*a.rhs);
        return;
      }
      case ExprKind::IncDec: {
        auto &update = ast::cast<ast::IncDecExpr>(e);
        Global *g = global_of(*update.operand);
        read(g, &e != update_only_);
        write(g);
        // Keys of a[k]++ are ordinary reads; the element itself is updated.
        if (update.operand->kind == ExprKind::Index)
          for (auto &k : ast::cast<ast::IndexExpr>(*update.operand).keys) visit_expr(*k);
        return;
      }
      case ExprKind::Call: {
        auto &call = cast<CallExpr>(e);
        if (call.function) {
          enter_function(call);
          for (auto &arg : call.args) visit_expr(*arg);
          return;
        }
        check_builtin(call, output_arg);
        // sprint_stack(backtrace()) carries backtrace()'s stack id too.
        bool output = is_output_call(call) || (output_arg && (call.builtin->flags & Builtin::Deferred));
        for (auto &arg : call.args) visit_expr(*arg, false, output);
        return;
      }
      case ExprKind::TargetVar:
        if (!kernel_ && cast<TargetVarExpr>(e).is_cast())
          throw CompileError(ErrorKind::Semantic,
                             "@cast reads kernel memory, which end, error and procfs probes (run in the ntap process) cannot do; "
                             "use it in a kernel probe",
                             e.loc, "operator '@cast'");
        break;
      default: break;
    }
    // Keys of a delete/<<< target are ordinary reads.
    for_each_child(e, [&](ExprPtr &c) { visit_expr(*c); });
  }

  void enter_function(const CallExpr &call) {
    Function &f = *call.function;
    if (!kernel_) {
      if (f.called_in_user) return;
      f.called_in_user = true;
      SideAnalysis(*f.body, false, calls_).run();
      return;
    }
    auto on_stack = std::find(calls_.begin(), calls_.end(), &f);
    if (on_stack != calls_.end()) {
      std::string cycle;
      for (auto it = on_stack; it != calls_.end(); ++it) cycle += (*it)->name + " -> ";
      throw CompileError(ErrorKind::Semantic,
                         fmt::format("recursive function calls are not possible in kernel probes (BPF cannot "
                                     "recurse): {}{}",
                                     cycle, f.name),
                         call.loc, fmt::format("identifier '{}'", call.name));
    }
    if (f.called_in_kernel) return;  // checked before, without cycles
    calls_.push_back(&f);
    SideAnalysis(*f.body, true, calls_).run();
    calls_.pop_back();
    f.called_in_kernel = true;
  }

  void check_builtin(const CallExpr &call, bool output_arg) {
    const Builtin &b = *call.builtin;
    if (!kernel_) {
      if (!(b.flags & Builtin::User))
        throw CompileError(ErrorKind::Semantic, fmt::format("function {} is only available in kernel probes", call.name),
                           call.loc, fmt::format("identifier '{}'", call.name));
      return;
    }
    if (!(b.flags & Builtin::Kernel))
      throw CompileError(ErrorKind::Semantic,
                         fmt::format("function {} is not available in kernel probes; use it in a timer, begin or end probe",
                                     call.name),
                         call.loc, fmt::format("identifier '{}'", call.name));
    // Deferred builtins (symname, ctime...) need user space to render their
    // result: in the kernel they are carried as a number inside an output
    // record, so they may only appear directly as print/printf arguments.
    if ((b.flags & Builtin::Deferred) && !output_arg)
      throw CompileError(ErrorKind::Semantic,
                         fmt::format("in kernel probes, {}() can only be used as a printf/print argument "
                                     "(its text is produced in user space); store its argument instead",
                                     call.name),
                         call.loc, fmt::format("identifier '{}'", call.name));
  }

  BlockStmt &body_;
  bool kernel_;
  const Expr *update_only_ = nullptr;  // the expression statement being visited
  std::vector<const Function *> &calls_;
};

// stap prints, after the end probes, every global the script writes but
// whose value it never uses: `=`, `<<<`, `n++` and `n += 1` all count as
// writes only, so a counter that is only incremented is shown. A tapset's
// globals are not the script's, and stap shows none of them (ipmib's
// InReceives, counted by every ipmib.InReceives probe, is shown only when
// the script prints it).
void mark_globals_to_display(Program &program) {
  for (auto &g : program.globals) {
    const bool written = g->written_in_kernel || g->written_in_user;
    g->display_at_exit = written && !g->read_as_value && !g->from_tapset;
  }
}

// Where a body (with the functions it calls) needs the kernel: a read of
// kernel memory (@cast) or a builtin only kernel probes offer. Null if nowhere;
// for a need inside a called function, the call in `body`.
const Expr *kernel_need(BlockStmt &body, std::set<const Function *> &seen) {
  const Expr *found = nullptr;
  std::function<void(Expr &)> visit = [&](Expr &e) {
    if (found) return;
    if (e.kind == ExprKind::TargetVar && ast::cast<ast::TargetVarExpr>(e).is_cast()) {
      found = &e;
      return;
    }
    if (e.kind == ExprKind::Call) {
      auto &call = ast::cast<ast::CallExpr>(e);
      const bool kernel_only =
          call.builtin && (call.builtin->flags & Builtin::Kernel) && !(call.builtin->flags & Builtin::User);
      if (kernel_only || (call.function && seen.insert(call.function).second && kernel_need(*call.function->body, seen))) {
        found = &e;
        return;
      }
    }
    for_each_child(e, [&](ExprPtr &c) { visit(*c); });
  };
  walk_stmts(body, [&](Stmt &s) { for_each_expr(s, [&](ExprPtr &e) { visit(*e); }); });
  return found;
}

// stap runs every probe in the kernel, so its interval timers may read kernel
// memory: a timer whose body does so becomes a kernel timer
// (docs/architecture.md, decision 15); other timers stay in the ntap process,
// where they may sort and read every global.
// What makes a probe whose points are all of `kind` need the kernel, or null.
const Expr *kernel_need_of(Probe &probe, ProbeKind kind) {
  if (probe.resolved.empty()) return nullptr;
  for (const ResolvedProbe &rp : probe.resolved)
    if (rp.kind != kind) return nullptr;
  std::set<const Function *> seen;
  return kernel_need(*probe.body, seen);
}

void move_kernel_timers(Probe &probe, const KernelInfo &kernel) {
  const Expr *need = kernel_need_of(probe, ProbeKind::Timer);
  if (!need) return;
  for (ResolvedProbe &rp : probe.resolved) {
    if (rp.jitter != 0)
      throw CompileError(ErrorKind::Semantic,
                         rp.name + " reads kernel memory, so it runs in the kernel on a perf event, which fires at a "
                                   "fixed period: drop the .randomize",
                         need->loc, "");
    rp = kernel_timer_probe(rp, kernel.providers());
  }
}

// The same for begin probes: stap runs them in the kernel, so one may read
// kernel memory (`@cast(...)->member`, kernel_string); ntap runs such a begin
// once in the kernel (docs/architecture.md, decision 19). end and error
// probes stay in the ntap process: they run after the kernel's arrays have
// been drained into it.
void move_kernel_begins(Probe &probe, const KernelInfo &kernel) {
  if (!kernel_need_of(probe, ProbeKind::Begin)) return;
  for (ResolvedProbe &rp : probe.resolved) rp = kernel_begin_probe(rp, kernel.providers());
}

Side side_of(const Probe &probe) {
  Side side = Side::Unknown;
  for (const ResolvedProbe &rp : probe.resolved) {
    Side s = rp.provider->side();
    if (side != Side::Unknown && s != side)
      throw CompileError(ErrorKind::Semantic,
                         "a probe cannot mix kernel probe points and begin/end/timer probe points; "
                         "write two probes",
                         probe.loc, "");
    side = s;
  }
  return side;
}

}  // namespace

void assign_sides(PassContext &ctx) {
  // Probe by probe: an error in one is reported and the others are still checked.
  for (auto &probe : ctx.program.probes) {
    ctx.diagnostics.guard([&] {
      move_kernel_timers(*probe, ctx.kernel);
      move_kernel_begins(*probe, ctx.kernel);
      probe->side = side_of(*probe);
      std::vector<const Function *> calls;
      SideAnalysis(*probe->body, probe->side == Side::Kernel, calls).run();
    });
  }
  mark_globals_to_display(ctx.program);
}

}  // namespace ntap
