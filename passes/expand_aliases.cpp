// Probe aliases and probe-point forms that need no provider:
//
//   * `{a,b}` alternatives in a component or a string argument expand to one
//     point each: kernel.trace("{kfree_skb,consume_skb}"), timer.{ms,s}(1);
//   * a point naming an alias (`probe myalias`, `probe myalias.suffix`, or a
//     wildcard like `probe myalias.*` / `probe my**`) becomes the alias's
//     points (with the suffix appended); a wildcard is also kept for probe
//     resolution, which matches it against the providers' points. The alias
//     body runs before the user's body (`=`, a prologue) or after it (`+=`,
//     an epilogue). Locals are shared, so a prologue can set variables the
//     user's body reads;
//   * `probe P if (cond)` runs the body only while cond holds: the body gets
//     `if (!(cond)) next` in front, so cond is evaluated on the probe's side;
//   * `never` points are dropped (a probe with only those never runs).
//
// A probe mixing alias and plain points is split: each alias expansion gets
// its own copy of the body, since the bodies around it differ.
#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>

#include "frontend/clone.h"
#include "frontend/parser.h"
#include "frontend/walk.h"
#include "passes/passes.h"

namespace ntap {
namespace {

using namespace ast;

constexpr int kMaxAliasDepth = 32;

// ------------------------------------------------------------ {a,b} alternatives

// Expands the first {x,y} group in `text` (groups nest: `{a,{b,c}}` is a, b,
// c), then the rest, recursively; no group: {text}.
std::vector<std::string> expand_brace_text(const std::string &text) {
  size_t open = text.find('{');
  if (open == std::string::npos) return {text};
  // The group's matching `}` and its top-level commas.
  std::vector<size_t> cuts{open};
  size_t close = std::string::npos;
  int depth = 0;
  for (size_t i = open; i < text.size() && close == std::string::npos; ++i) {
    if (text[i] == '{') ++depth;
    else if (text[i] == '}' && --depth == 0) close = i;
    else if (text[i] == ',' && depth == 1) cuts.push_back(i);
  }
  if (close == std::string::npos) return {text};
  cuts.push_back(close);
  std::vector<std::string> out;
  const std::string head = text.substr(0, open), tail = text.substr(close + 1);
  for (size_t c = 0; c + 1 < cuts.size(); ++c) {
    std::string choice = text.substr(cuts[c] + 1, cuts[c + 1] - cuts[c] - 1);
    for (auto &rest : expand_brace_text(head + choice + tail)) out.push_back(std::move(rest));
  }
  return out;
}

std::vector<ProbePoint> expand_braces(const ProbePoint &point) {
  std::vector<ProbePoint> done{point};
  done.front().components.clear();
  for (const ProbePointComponent &component : point.components) {
    std::vector<ProbePointComponent> choices;
    for (auto &name : expand_brace_text(component.name)) {
      ProbePointComponent c = component;
      c.name = name;
      if (!component.string_arg) {
        choices.push_back(std::move(c));
        continue;
      }
      for (auto &arg : expand_brace_text(*component.string_arg)) {
        c.string_arg = arg;
        choices.push_back(c);
      }
    }
    std::vector<ProbePoint> next;
    for (const ProbePoint &prefix : done)
      for (const ProbePointComponent &c : choices) {
        next.push_back(prefix);
        next.back().components.push_back(c);
      }
    done = std::move(next);
  }
  return done;
}

// ------------------------------------------------------------ alias matching

bool has_wildcard(const std::string &name) { return name.find('*') != std::string::npos; }

// Whether `pattern` (a point written in a probe) starts with alias name
// `name`; sets `suffix_at` to the index of its first component after the name.
bool match_prefix(const std::vector<ProbePointComponent> &pattern, size_t pi, const std::vector<ProbePointComponent> &name,
                  size_t ni, size_t &suffix_at) {
  if (ni == name.size()) {
    suffix_at = pi;
    return true;
  }
  if (pi == pattern.size()) return false;
  const ProbePointComponent &p = pattern[pi];
  if (p.string_arg || p.number_arg) return false;
  if (p.name.find("**") != std::string::npos) {
    // `**` may span dots: the component matches one or more name components
    // joined back together (fnmatch's `*` crosses dots without FNM_PATHNAME).
    std::string glob = p.name;
    for (size_t at; (at = glob.find("**")) != std::string::npos;) glob.erase(at, 1);
    std::string joined;
    for (size_t take = 1; ni + take <= name.size(); ++take) {
      joined += (take > 1 ? "." : "") + name[ni + take - 1].name;
      if (::fnmatch(glob.c_str(), joined.c_str(), 0) == 0 && match_prefix(pattern, pi + 1, name, ni + take, suffix_at))
        return true;
    }
    return false;
  }
  if (::fnmatch(p.name.c_str(), name[ni].name.c_str(), 0) != 0) return false;
  return match_prefix(pattern, pi + 1, name, ni + 1, suffix_at);
}

// One concrete point a written point expands to, with the aliases it went
// through (outermost first).
struct Expansion {
  ProbePoint point;
  std::vector<const ProbeAlias *> chain;
  std::string alias_point;  // the outermost alias as the script named it (pn())
};

class AliasExpander {
 public:
  explicit AliasExpander(const Program &program) : program_(program) {}

  std::vector<Expansion> expand(const ProbePoint &written) {
    std::vector<Expansion> out;
    for (const ProbePoint &point : expand_braces(written)) expand_point(point, {}, 0, out);
    return out;
  }

 private:
  void expand_point(const ProbePoint &point, std::vector<const ProbeAlias *> chain, int depth,
                    std::vector<Expansion> &out, const std::string &alias_point = "") {
    if (depth > kMaxAliasDepth)
      throw CompileError(ErrorKind::Probe, "probe alias expansion is too deep (does an alias refer to itself?)",
                         point.loc, fmt::format("probe point '{}'", point.str()));
    bool matched = false;
    // The longest alias names that match win, as in stap's tree of probe
    // point components: `syscall.openat.return` is that alias, not the
    // alias `syscall.openat` with `.return` appended to its points.
    size_t longest = 0;
    for (const auto &alias : program_.aliases)
      for (const ProbePoint &name : alias->names) {
        size_t suffix_at = 0;
        if (match_prefix(point.components, 0, name.components, 0, suffix_at)) longest = std::max(longest, suffix_at);
      }
    for (const auto &alias : program_.aliases) {
      for (const ProbePoint &name : alias->names) {
        size_t suffix_at = 0;
        if (!match_prefix(point.components, 0, name.components, 0, suffix_at) || suffix_at < longest) continue;
        matched = true;
        std::vector<const ProbeAlias *> longer = chain;
        longer.push_back(alias.get());
        for (const ProbePoint &target : alias->points) {
          for (ProbePoint concrete : expand_braces(target)) {
            concrete.components.insert(concrete.components.end(), point.components.begin() + suffix_at,
                                       point.components.end());
            concrete.optional = concrete.optional || point.optional;
            concrete.sufficient = concrete.sufficient || point.sufficient;
            // Errors about the concrete point are reported where it was used.
            concrete.loc = point.loc;
            expand_point(concrete, longer, depth + 1, out, alias_point.empty() ? named_as(name, point, suffix_at)
                                                                              : alias_point);
          }
        }
        break;  // one alias name of a multi-name alias is enough
      }
    }
    bool wildcard = false;
    for (const auto &c : point.components) wildcard |= has_wildcard(c.name);
    if (matched && !wildcard) return;
    // A wildcard also stands for the providers' points it matches (probe
    // resolution expands it); after matching aliases, those are optional.
    ProbePoint rest = point;
    rest.optional = rest.optional || matched;
    out.push_back({std::move(rest), std::move(chain), alias_point});
  }

  // The alias `name` as a written point named it: its own components (any
  // wildcard resolved) and the written suffix after them.
  static std::string named_as(const ProbePoint &name, const ProbePoint &written, size_t suffix_at) {
    ProbePoint named = name;
    named.components.insert(named.components.end(), written.components.begin() + suffix_at, written.components.end());
    named.optional = named.sufficient = false;
    return named.str();
  }

  const Program &program_;
};

// ------------------------------------------------------------ probe bodies

// `if (!(cond)) next` in front of `body`.
// A probe condition is evaluated apart from any probe body (stap re-checks
// it whenever a global it reads changes): it may only read globals, never
// write a variable or call a function. Reported once per written condition.
void check_condition(ExprPtr &condition, const Program &program, Diagnostics &diagnostics) {
  walk_exprs(condition, [&](ExprPtr &e) {
    if (e->kind == ExprKind::Assign || e->kind == ExprKind::IncDec)
      diagnostics.report(CompileError(ErrorKind::Semantic, "probe condition must not modify any variables", e->loc));
    else if (e->kind == ExprKind::Call)
      diagnostics.report(CompileError(ErrorKind::Semantic, "probe condition must not reference function", e->loc,
                                      fmt::format("identifier '{}'", cast<CallExpr>(*e).name)));
    else if (auto *sym = dyn_cast<SymbolExpr>(*e); sym && !program.find_global(sym->name, sym->loc.file))
      diagnostics.report(CompileError(ErrorKind::Semantic, "probe condition must not reference undeclared global",
                                      e->loc, fmt::format("identifier '{}'", sym->name)));
  });
}

void guard_with_condition(BlockStmt &body, const Expr &condition) {
  auto guard = std::make_unique<IfStmt>(condition.loc);
  guard->cond = std::make_unique<UnaryExpr>(condition.loc, UnaryOp::Not, clone_expr(condition));
  guard->then_stmt = std::make_unique<JumpStmt>(StmtKind::Next, condition.loc);
  body.stmts.insert(body.stmts.begin(), std::move(guard));
}

// The user's body wrapped by each alias of `chain` (outermost first):
// prologues in front, epilogues after, inner aliases outside outer ones.
std::unique_ptr<BlockStmt> wrapped_body(const BlockStmt &user, const std::vector<const ProbeAlias *> &chain) {
  auto body = clone_block(user);
  for (const ProbeAlias *alias : chain) {
    auto outer = std::make_unique<BlockStmt>(body->loc);
    auto alias_body = clone_block(*alias->body);
    if (alias->epilogue) {
      outer->stmts.push_back(std::move(body));
      outer->stmts.push_back(std::move(alias_body));
    } else {
      outer->stmts.push_back(std::move(alias_body));
      outer->stmts.push_back(std::move(body));
    }
    if (alias->condition) guard_with_condition(*outer, *alias->condition);
    body = std::move(outer);
  }
  return body;
}

bool is_never(const ProbePoint &point) {
  return point.components.size() == 1 && point.components[0].name == "never" && !point.components[0].string_arg &&
         !point.components[0].number_arg;
}

// The probes one written probe becomes.
std::vector<std::unique_ptr<Probe>> expand_probe(Probe &probe, AliasExpander &expander, bool &saw_never) {
  std::vector<std::unique_ptr<Probe>> out;
  auto plain = std::make_unique<Probe>();
  plain->loc = probe.loc;
  std::vector<const ProbeAlias *> last_chain;  // the aliases of out.back()
  for (const ProbePoint &written : probe.points) {
    for (Expansion &e : expander.expand(written)) {
      if (is_never(e.point)) {
        saw_never = true;
        continue;
      }
      if (e.chain.empty()) {
        plain->points.push_back(std::move(e.point));
        continue;
      }
      // The points of one alias share a probe (their bodies are the same),
      // so that `!` among them stops at the first that resolves.
      if (!out.empty() && last_chain == e.chain && out.back()->alias_point == e.alias_point) {
        out.back()->points.push_back(std::move(e.point));
        continue;
      }
      auto aliased = std::make_unique<Probe>();
      aliased->loc = probe.loc;
      aliased->alias_point = e.alias_point;
      aliased->points.push_back(std::move(e.point));
      aliased->body = wrapped_body(*probe.body, e.chain);
      out.push_back(std::move(aliased));
      last_chain = std::move(e.chain);
    }
  }
  if (!plain->points.empty()) {
    plain->body = out.empty() ? std::move(probe.body) : clone_block(*probe.body);
    out.insert(out.begin(), std::move(plain));
  }
  if (probe.condition)
    for (auto &p : out) guard_with_condition(*p->body, *probe.condition);
  return out;
}

}  // namespace

void expand_aliases(PassContext &ctx) {
  Program &program = ctx.program;
  // An alias name is what a probe point matches against, not a pattern:
  // stap refuses a `*` component when it registers the alias, used or not.
  for (const auto &alias : program.aliases)
    for (const ProbePoint &name : alias->names)
      for (const ProbePointComponent &c : name.components)
        if (c.name == "*" || c.name == "**")
          ctx.diagnostics.report(CompileError(ErrorKind::Semantic, "invalid use of wildcard probe point component",
                                              name.loc, fmt::format("probe alias '{}'", name.str())));
  for (auto &probe : program.probes)
    if (probe->condition) check_condition(probe->condition, program, ctx.diagnostics);
  for (auto &alias : program.aliases)
    if (alias->condition) check_condition(alias->condition, program, ctx.diagnostics);
  AliasExpander expander(program);
  std::vector<std::unique_ptr<Probe>> expanded;
  // Probe by probe: an error in one is reported and the others are still expanded.
  for (auto &probe : program.probes)
    ctx.diagnostics.guard([&] {
      for (auto &p : expand_probe(*probe, expander, program.has_never)) expanded.push_back(std::move(p));
    });
  program.probes = std::move(expanded);
  for (uint32_t i = 0; i < program.probes.size(); ++i) program.probes[i]->id = i;
}

}  // namespace ntap
