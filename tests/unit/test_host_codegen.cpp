// The host code generator: hand-built, already-checked programs are compiled
// with the JIT against a fake runtime that records every call, so each test
// sees exactly what the generated code asked the runtime to do.
#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "codegen/host/host_codegen.h"
#include "abi/layout.h"

using namespace ntap;
using namespace ntap::ast;

namespace {

// ------------------------------------------------------------ fake runtime

using Key = std::vector<std::string>;  // each key rendered as text

struct FakeRuntime {
  const Program *program = nullptr;
  std::map<std::pair<uint32_t, Key>, int64_t> longs;
  std::map<std::pair<uint32_t, Key>, std::string> strings;
  std::vector<std::string> printed;    // one rendered line per ntap_printf
  std::deque<std::string> arena;       // strings handed to generated code
  std::vector<std::string> calls;      // runtime calls of interest, in order
  int64_t failed_site = -1;
  bool fail_stats = false;             // ntap_stats_get fails at its site
  // foreach: the tuples the next iteration yields, and what begin received.
  std::vector<std::vector<int64_t>> foreach_tuples;
  std::vector<int64_t> begin_args;
  int open_iterators = 0;
  int exits = 0;
  int64_t actions_remaining = 1000000;  // MAXACTION budget of the handler
  int64_t nesting_depth = 0;            // MAXNESTING: calls in progress

  const char *keep(std::string s) { return arena.emplace_back(std::move(s)).c_str(); }
};

FakeRuntime &fake(ntap_rt *rt) { return *reinterpret_cast<FakeRuntime *>(rt); }

Key key_of(FakeRuntime &f, uint32_t gid, const ntap_value *keys) {
  Key key;
  if (!keys) return key;
  const Global &g = *f.program->globals.at(gid);
  for (size_t i = 0; i < g.key_types.size(); ++i)
    key.push_back(g.key_types[i] == Type::String ? std::string(keys[i].s) : std::to_string(keys[i].l));
  return key;
}

std::string render(FakeRuntime &f, uint32_t format_id, const ntap_value *args) {
  const FormatInfo &format = f.program->formats.at(format_id);
  std::string out = format.text;
  for (size_t i = 0; i < format.arg_types.size(); ++i)
    out += " [" + (format.arg_types[i] == Type::String ? std::string(args[i].s) : std::to_string(args[i].l)) + "]";
  return out;
}

struct FakeIter {
  FakeRuntime *rt;
  size_t next = 0;
};

int64_t fake_get_long(ntap_rt *rt, uint32_t gid, const ntap_value *keys) {
  auto &f = fake(rt);
  return f.longs[{gid, key_of(f, gid, keys)}];
}
const char *fake_get_string(ntap_rt *rt, uint32_t gid, const ntap_value *keys) {
  auto &f = fake(rt);
  return f.keep(f.strings[{gid, key_of(f, gid, keys)}]);
}
void fake_set_long(ntap_rt *rt, uint32_t gid, const ntap_value *keys, int64_t v, uint32_t site) {
  auto &f = fake(rt);
  f.calls.push_back("set_long " + std::to_string(gid));
  f.longs[{gid, key_of(f, gid, keys)}] = v;
}
void fake_set_string(ntap_rt *rt, uint32_t gid, const ntap_value *keys, const char *v, uint32_t site) {
  auto &f = fake(rt);
  f.strings[{gid, key_of(f, gid, keys)}] = v;
}
void fake_stats_add(ntap_rt *rt, uint32_t gid, const ntap_value *keys, int64_t v, uint32_t site) {
  auto &f = fake(rt);
  f.longs[{gid, key_of(f, gid, keys)}] += v;
  f.calls.push_back("stats_add " + std::to_string(v));
}
int64_t fake_stats_get(ntap_rt *rt, uint32_t gid, const ntap_value *keys, uint32_t fn, uint32_t site) {
  auto &f = fake(rt);
  f.calls.push_back("stats_get fn=" + std::to_string(fn) + " site=" + std::to_string(site));
  if (f.fail_stats) {
    f.failed_site = site;
    return 0;
  }
  return f.longs[{gid, key_of(f, gid, keys)}];
}
int64_t fake_exists(ntap_rt *rt, uint32_t gid, const ntap_value *keys, uint64_t wildcard_mask) {
  auto &f = fake(rt);
  return f.longs.count({gid, key_of(f, gid, keys)}) ? 7 : 0;  // any nonzero means yes
}
void fake_delete(ntap_rt *rt, uint32_t gid, const ntap_value *keys, uint64_t wildcard_mask) {
  fake(rt).calls.push_back(!keys ? "delete all" : wildcard_mask ? "delete matching" : "delete element");
}
ntap_iter *fake_foreach_begin(ntap_rt *rt, uint32_t gid, int32_t column, int32_t direction, uint32_t stat,
                              int64_t limit, const ntap_value *slice_keys, uint64_t wildcard_mask) {
  auto &f = fake(rt);
  f.begin_args = {gid, column, direction, stat, limit};
  ++f.open_iterators;
  f.calls.push_back("foreach_begin");
  return reinterpret_cast<ntap_iter *>(new FakeIter{&f});
}
int64_t fake_foreach_next(ntap_iter *it, ntap_value *keys_out) {
  auto *iter = reinterpret_cast<FakeIter *>(it);
  if (iter->next >= iter->rt->foreach_tuples.size()) return 0;
  const auto &tuple = iter->rt->foreach_tuples[iter->next++];
  for (size_t i = 0; i < tuple.size(); ++i) keys_out[i].l = tuple[i];
  return 1;
}
void fake_foreach_end(ntap_iter *it) {
  auto *iter = reinterpret_cast<FakeIter *>(it);
  --iter->rt->open_iterators;
  iter->rt->calls.push_back("foreach_end");
  delete iter;
}
void fake_printf(ntap_rt *rt, uint32_t format_id, const ntap_value *args) {
  auto &f = fake(rt);
  f.printed.push_back(render(f, format_id, args));
}
const char *fake_sprintf(ntap_rt *rt, uint32_t format_id, const ntap_value *args) {
  auto &f = fake(rt);
  return f.keep(render(f, format_id, args));
}
const char *fake_str_concat(ntap_rt *rt, const char *a, const char *b) {
  return fake(rt).keep(std::string(a) + b);
}
int64_t fake_str_compare(const char *a, const char *b) { return std::string(a).compare(b); }
int64_t fake_failed(ntap_rt *rt) { return fake(rt).failed_site >= 0; }
void fake_fail_at(ntap_rt *rt, uint32_t site) { fake(rt).failed_site = site; }
int64_t *fake_action_counter(ntap_rt *rt) { return &fake(rt).actions_remaining; }
int64_t *fake_nesting_depth(ntap_rt *rt) { return &fake(rt).nesting_depth; }
void fake_exit(ntap_rt *rt) { ++fake(rt).exits; }
int64_t fake_pid(ntap_rt *) { return 4242; }
const char *fake_symname(ntap_rt *rt, int64_t address) {
  return fake(rt).keep("sym_" + std::to_string(address));
}

int64_t fake_gettimeofday_s(ntap_rt *) { return 1700000000; }
const char *fake_ctime(ntap_rt *rt, int64_t t) { return fake(rt).keep("ctime_" + std::to_string(t)); }
const char *fake_symdata(ntap_rt *rt, int64_t a) { return fake(rt).keep("symdata_" + std::to_string(a)); }
const char *fake_drop_reason_name(ntap_rt *rt, int64_t r) { return fake(rt).keep("reason_" + std::to_string(r)); }

const ntap_symbol fake_symbols[] = {
    {"ntap_get_long", (void *)fake_get_long},
    {"ntap_get_string", (void *)fake_get_string},
    {"ntap_set_long", (void *)fake_set_long},
    {"ntap_set_string", (void *)fake_set_string},
    {"ntap_stats_add", (void *)fake_stats_add},
    {"ntap_stats_get", (void *)fake_stats_get},
    {"ntap_exists", (void *)fake_exists},
    {"ntap_delete", (void *)fake_delete},
    {"ntap_foreach_begin", (void *)fake_foreach_begin},
    {"ntap_foreach_next", (void *)fake_foreach_next},
    {"ntap_foreach_end", (void *)fake_foreach_end},
    {"ntap_printf", (void *)fake_printf},
    {"ntap_sprintf", (void *)fake_sprintf},
    {"ntap_str_concat", (void *)fake_str_concat},
    {"ntap_str_compare", (void *)fake_str_compare},
    {"ntap_failed", (void *)fake_failed},
    {"ntap_fail_at", (void *)fake_fail_at},
    {"ntap_action_counter", (void *)fake_action_counter},
    {"ntap_nesting_depth", (void *)fake_nesting_depth},
    {"ntap_fn_exit", (void *)fake_exit},
    {"ntap_fn_pid", (void *)fake_pid},
    {"ntap_fn_symname", (void *)fake_symname},
    {"ntap_fn_gettimeofday_s", (void *)fake_gettimeofday_s},
    {"ntap_fn_ctime", (void *)fake_ctime},
    {"ntap_fn_symdata", (void *)fake_symdata},
    {"ntap_fn_drop_reason_name", (void *)fake_drop_reason_name},
    {nullptr, nullptr},
};

// ------------------------------------------------------------ AST builders

Location at(uint32_t line, uint32_t col = 1) { return Location{nullptr, line, col}; }

template <typename T, typename... Args>
std::unique_ptr<T> node(Type type, Args &&...args) {
  auto e = std::make_unique<T>(at(1), std::forward<Args>(args)...);
  e->type = type;
  return e;
}

ExprPtr num(int64_t v) { return node<NumberExpr>(Type::Long, v); }
ExprPtr str(std::string s) { return node<StringExpr>(Type::String, std::move(s)); }
ExprPtr bin(BinaryOp op, ExprPtr a, ExprPtr b, Location loc = at(1)) {
  Type t = op == BinaryOp::Concat ? Type::String : Type::Long;
  auto e = node<BinaryExpr>(t, op, std::move(a), std::move(b));
  e->loc = loc;
  return e;
}
ExprPtr logical(LogicalOp op, ExprPtr a, ExprPtr b) { return node<LogicalExpr>(Type::Long, op, std::move(a), std::move(b)); }
ExprPtr unary(UnaryOp op, ExprPtr a) { return node<UnaryExpr>(Type::Long, op, std::move(a)); }
ExprPtr assign(ExprPtr lhs, ExprPtr rhs, AssignOp op = AssignOp::Set) {
  Type t = lhs->type;
  return node<AssignExpr>(t, op, std::move(lhs), std::move(rhs));
}
ExprPtr incdec(ExprPtr e, bool increment, bool prefix) {
  return node<IncDecExpr>(Type::Long, increment, prefix, std::move(e));
}
ExprPtr ternary(ExprPtr c, ExprPtr a, ExprPtr b) {
  Type t = a->type;
  return node<TernaryExpr>(t, std::move(c), std::move(a), std::move(b));
}
StmtPtr expr_stmt(ExprPtr e) { return std::make_unique<ExprStmt>(at(1), std::move(e)); }
std::unique_ptr<BlockStmt> block(std::vector<StmtPtr> stmts) {
  auto b = std::make_unique<BlockStmt>(at(1));
  b->stmts = std::move(stmts);
  return b;
}
template <typename... S>
std::vector<StmtPtr> stmts(S... s) {
  std::vector<StmtPtr> v;
  (v.push_back(std::move(s)), ...);
  return v;
}
StmtPtr if_stmt(ExprPtr cond, StmtPtr then_s, StmtPtr else_s = nullptr) {
  auto s = std::make_unique<IfStmt>(at(1));
  s->cond = std::move(cond);
  s->then_stmt = std::move(then_s);
  s->else_stmt = std::move(else_s);
  return s;
}
StmtPtr jump(StmtKind kind) { return std::make_unique<JumpStmt>(kind, at(1)); }

// A program with one user probe, assembled piece by piece.
struct Script {
  Program program;
  Probe *probe = nullptr;

  Script() {
    auto p = std::make_unique<Probe>();
    p->side = Side::User;
    p->id = 0;
    probe = p.get();
    program.probes.push_back(std::move(p));
  }
  Local *local(const std::string &name, Type type) {
    auto l = std::make_unique<Local>();
    l->name = name;
    l->type = type;
    l->index = static_cast<uint32_t>(probe->locals.size());
    probe->locals.push_back(std::move(l));
    return probe->locals.back().get();
  }
  Global *global(const std::string &name, Type value, std::vector<Type> keys = {}) {
    auto g = std::make_unique<Global>();
    g->name = name;
    g->value_type = value;
    g->key_types = std::move(keys);
    g->is_array = !g->key_types.empty();
    g->id = static_cast<uint32_t>(program.globals.size());
    program.globals.push_back(std::move(g));
    return program.globals.back().get();
  }
  ExprPtr var(Local *l) {
    auto e = node<SymbolExpr>(l->type, l->name);
    e->local = l;
    return e;
  }
  ExprPtr var(Global *g) {
    auto e = node<SymbolExpr>(g->value_type, g->name);
    e->global = g;
    return e;
  }
  ExprPtr elem(Global *g, std::vector<ExprPtr> keys) {
    auto e = node<IndexExpr>(g->value_type, g->name);
    e->global = g;
    e->keys = std::move(keys);
    return e;
  }
  // printf(text, args...): the format's conversions follow the argument types.
  ExprPtr output(const std::string &name, const std::string &text, std::vector<ExprPtr> args, bool literal_format) {
    FormatInfo format;
    format.text = text;
    for (auto &a : args) format.arg_types.push_back(a->type);
    program.formats.push_back(format);
    auto call = node<CallExpr>(name[0] == 's' ? Type::String : Type::Long, name);
    call->format_id = static_cast<int>(program.formats.size() - 1);
    if (literal_format) call->args.push_back(str(text));
    for (auto &a : args) call->args.push_back(std::move(a));
    return call;
  }
  template <typename... A>
  StmtPtr printf(const std::string &text, A... args) {
    std::vector<ExprPtr> v;
    (v.push_back(std::move(args)), ...);
    return expr_stmt(output("printf", text, std::move(v), true));
  }
  void body(std::vector<StmtPtr> s) { probe->body = block(std::move(s)); }

  // Compiles and runs the probe once against `rt`.
  std::unique_ptr<HostProgram> run(FakeRuntime &rt, bool keep_ir = false) {
    rt.program = &program;
    HostCodegenOptions options;
    options.keep_ir = keep_ir;
    auto compiled = compile_user_probes(program, Layout{}, options, fake_symbols);
    HostProgram::ProbeFn fn = compiled->probe_function(probe->id);
    REQUIRE(fn != nullptr);
    fn(reinterpret_cast<ntap_rt *>(&rt));
    return compiled;
  }
};

}  // namespace

TEST_CASE("host: long arithmetic wraps and shifts like stap", "[host_codegen]") {
  Script s;
  Local *x = s.local("x", Type::Long);
  Local *y = s.local("y", Type::Long);
  s.body(stmts(expr_stmt(assign(s.var(x), num(-7))), expr_stmt(assign(s.var(y), num(2))),
               s.printf("arith", bin(BinaryOp::Add, s.var(x), s.var(y)), bin(BinaryOp::Sub, s.var(x), s.var(y)),
                        bin(BinaryOp::Mul, s.var(x), s.var(y)), bin(BinaryOp::Div, s.var(x), s.var(y)),
                        bin(BinaryOp::Mod, s.var(x), s.var(y))),
               s.printf("bits", bin(BinaryOp::Shl, num(1), num(65)), bin(BinaryOp::Shr, num(-16), num(2)),
                        bin(BinaryOp::BitAnd, num(12), num(10)), bin(BinaryOp::BitOr, num(12), num(10)),
                        bin(BinaryOp::BitXor, num(12), num(10)), unary(UnaryOp::BitNot, num(0)),
                        unary(UnaryOp::Neg, s.var(x)), unary(UnaryOp::Not, num(5))),
               s.printf("edges", bin(BinaryOp::Add, num(INT64_MAX), num(1)),
                        bin(BinaryOp::Div, num(INT64_MIN), num(-1)), bin(BinaryOp::Mod, num(INT64_MIN), num(-1))),
               s.printf("cmp", bin(BinaryOp::Lt, s.var(x), s.var(y)), bin(BinaryOp::Ge, s.var(x), s.var(y)),
                        bin(BinaryOp::Eq, s.var(y), num(2)), bin(BinaryOp::Ne, s.var(y), num(2)))));
  FakeRuntime rt;
  s.run(rt);
  REQUIRE(rt.printed.size() == 4);
  CHECK(rt.printed[0] == "arith [-5] [-9] [-14] [-3] [-1]");
  CHECK(rt.printed[1] == "bits [2] [-4] [8] [14] [6] [-1] [7] [0]");
  CHECK(rt.printed[2] == "edges [" + std::to_string(INT64_MIN) + "] [" + std::to_string(INT64_MIN) + "] [0]");
  CHECK(rt.printed[3] == "cmp [1] [0] [1] [0]");
  CHECK(rt.failed_site == -1);
}

TEST_CASE("host: division by zero fails at the operator's site and leaves the probe", "[host_codegen]") {
  Script s;
  Local *zero = s.local("zero", Type::Long);
  s.body(stmts(s.printf("before"), s.printf("quotient", bin(BinaryOp::Mod, num(10), s.var(zero), at(3, 14))),
               s.printf("after")));
  FakeRuntime rt;
  auto compiled = s.run(rt);
  CHECK(rt.printed == std::vector<std::string>{"before"});
  REQUIRE(rt.failed_site >= 0);
  const RuntimeSite &site = compiled->sites().at(rt.failed_site);
  CHECK(site.message == "division by 0 near operator '%'");
  CHECK(site.loc.line == 3);
  CHECK(site.loc.col == 14);
}

TEST_CASE("host: compound assignment by zero names the compound operator", "[host_codegen]") {
  Script s;
  Local *x = s.local("x", Type::Long);
  auto a = assign(s.var(x), num(0), AssignOp::Div);
  a->loc = at(2, 5);
  s.body(stmts(expr_stmt(std::move(a))));
  FakeRuntime rt;
  auto compiled = s.run(rt);
  REQUIRE(rt.failed_site >= 0);
  CHECK(compiled->sites().at(rt.failed_site).message == "division by 0 near operator '/='");
}

TEST_CASE("host: loops, if/else, break, continue and short-circuit", "[host_codegen]") {
  Script s;
  Local *i = s.local("i", Type::Long);
  Local *sum = s.local("sum", Type::Long);
  Global *touched = s.global("touched", Type::Long);
  // for (i = 0; i < 10; i++) { if (i == 2) continue; if (i == 6) break; sum += i }
  auto loop = std::make_unique<ForStmt>(at(1));
  loop->init = assign(s.var(i), num(0));
  loop->cond = bin(BinaryOp::Lt, s.var(i), num(10));
  loop->step = incdec(s.var(i), true, false);
  loop->body = block(stmts(if_stmt(bin(BinaryOp::Eq, s.var(i), num(2)), jump(StmtKind::Continue)),
                           if_stmt(bin(BinaryOp::Eq, s.var(i), num(6)), jump(StmtKind::Break)),
                           expr_stmt(assign(s.var(sum), s.var(i), AssignOp::Add))));
  // while (sum < 100) sum *= 3
  auto w = std::make_unique<WhileStmt>(at(1));
  w->cond = bin(BinaryOp::Lt, s.var(sum), num(100));
  w->body = expr_stmt(assign(s.var(sum), num(3), AssignOp::Mul));
  s.body(stmts(std::move(loop), s.printf("for", s.var(i), s.var(sum)), std::move(w), s.printf("while", s.var(sum)),
               // 0 && (touched = 1) must not write; 1 || (touched = 1) neither.
               s.printf("logic", logical(LogicalOp::And, num(0), assign(s.var(touched), num(1))),
                        logical(LogicalOp::Or, num(1), assign(s.var(touched), num(1))),
                        logical(LogicalOp::And, num(3), num(4)), logical(LogicalOp::Or, num(0), num(0))),
               if_stmt(bin(BinaryOp::Gt, s.var(sum), num(1000)), s.printf("big"), s.printf("small")),
               s.printf("ternary", ternary(num(0), str("yes"), str("no")))));
  FakeRuntime rt;
  s.run(rt);
  CHECK(rt.printed == std::vector<std::string>{"for [6] [13]", "while [117]", "logic [0] [1] [1] [0]", "small",
                                               "ternary [no]"});
  CHECK(rt.calls.empty());  // no global was written
}

TEST_CASE("host: next leaves the probe at once", "[host_codegen]") {
  Script s;
  s.body(stmts(s.printf("one"), jump(StmtKind::Next), s.printf("two")));
  FakeRuntime rt;
  s.run(rt);
  CHECK(rt.printed == std::vector<std::string>{"one"});
}

TEST_CASE("host: globals go through the runtime, ++/-- have pre/post values", "[host_codegen]") {
  Script s;
  Global *counter = s.global("counter", Type::Long);
  Global *names = s.global("names", Type::String, {Type::Long, Type::String});
  Global *hits = s.global("hits", Type::Long, {Type::String});
  s.body(stmts(expr_stmt(assign(s.var(counter), num(5))),
               s.printf("inc", incdec(s.var(counter), true, false), incdec(s.var(counter), true, true),
                        incdec(s.var(counter), false, false), s.var(counter)),
               expr_stmt(assign(s.elem(names, [&] {
                                  std::vector<ExprPtr> k;
                                  k.push_back(num(1));
                                  k.push_back(str("a"));
                                  return k;
                                }()),
                                str("first"))),
               expr_stmt(assign(s.elem(hits, [&] {
                                  std::vector<ExprPtr> k;
                                  k.push_back(str("x"));
                                  return k;
                                }()),
                                num(40), AssignOp::Add))));
  FakeRuntime rt;
  rt.longs[{2, {"x"}}] = 2;
  s.run(rt);
  CHECK(rt.printed == std::vector<std::string>{"inc [5] [7] [7] [6]"});
  CHECK(rt.longs[{0, {}}] == 6);
  CHECK(rt.strings[{1, {"1", "a"}}] == "first");
  CHECK(rt.longs[{2, {"x"}}] == 42);
}

TEST_CASE("host: strings concatenate, compare and sprintf through the runtime", "[host_codegen]") {
  Script s;
  Local *text = s.local("text", Type::String);
  Local *empty = s.local("empty", Type::String);
  s.body(stmts(expr_stmt(assign(s.var(text), bin(BinaryOp::Concat, str("ab"), str("cd")))),
               expr_stmt(assign(s.var(text), str("!"), AssignOp::Concat)),
               s.printf("str", s.var(text), s.var(empty), s.output("sprintf", "n=%d", [] {
                 std::vector<ExprPtr> v;
                 v.push_back(num(3));
                 return v;
               }(), true)),
               s.printf("cmp", bin(BinaryOp::Lt, str("abc"), str("abd")), bin(BinaryOp::Eq, s.var(empty), str("")),
                        bin(BinaryOp::Gt, str("b"), str("a")))));
  FakeRuntime rt;
  s.run(rt);
  CHECK(rt.printed == std::vector<std::string>{"str [abcd!] [] [n=%d [3]]", "cmp [1] [1] [1]"});
}

TEST_CASE("host: println passes every argument as a value", "[host_codegen]") {
  Script s;
  std::vector<ExprPtr> args;
  args.push_back(num(1));
  args.push_back(str("a"));
  s.body(stmts(expr_stmt(s.output("println", "%d%s\\n", std::move(args), false))));
  FakeRuntime rt;
  s.run(rt);
  CHECK(rt.printed == std::vector<std::string>{"%d%s\\n [1] [a]"});
}

namespace {
// foreach ([a, b] in arr- limit 5) { body }
std::unique_ptr<ForeachStmt> foreach_over(Script &s, Global *arr, Local *a, Local *b, StmtPtr body) {
  auto f = std::make_unique<ForeachStmt>(at(1));
  f->key_names = {a->name, b->name};
  f->key_locals = {a, b};
  f->array_name = arr->name;
  f->global = arr;
  f->sort_column = 0;
  f->sort_direction = -1;
  f->limit = num(5);
  f->body = std::move(body);
  return f;
}
}  // namespace

TEST_CASE("host: foreach follows the iterator protocol", "[host_codegen]") {
  Script s;
  Global *counts = s.global("counts", Type::Stats, {Type::Long, Type::Long});
  Local *a = s.local("a", Type::Long);
  Local *b = s.local("b", Type::Long);

  SECTION("every tuple, value through @count, then end") {
    std::vector<ExprPtr> keys;
    keys.push_back(s.var(a));
    keys.push_back(s.var(b));
    auto count = node<StatsOpExpr>(Type::Long, StatsFn::Count, s.elem(counts, std::move(keys)));
    s.body(stmts(foreach_over(s, counts, a, b, s.printf("row", s.var(a), s.var(b), std::move(count))),
                 std::make_unique<DeleteStmt>(at(1), s.var(counts))));
    FakeRuntime rt;
    rt.foreach_tuples = {{1, 2}, {3, 4}};
    rt.longs[{0, {"1", "2"}}] = 10;
    rt.longs[{0, {"3", "4"}}] = 30;
    s.run(rt);
    CHECK(rt.begin_args == std::vector<int64_t>{0, 0, -1, 0, 5});
    CHECK(rt.printed == std::vector<std::string>{"row [1] [2] [10]", "row [3] [4] [30]"});
    CHECK(rt.calls.back() == "delete all");
    CHECK(rt.open_iterators == 0);
  }

  SECTION("break ends the iterator once and continues after the loop") {
    s.body(stmts(foreach_over(s, counts, a, b, block(stmts(s.printf("row", s.var(a)), jump(StmtKind::Break)))),
                 s.printf("after")));
    FakeRuntime rt;
    rt.foreach_tuples = {{1, 2}, {3, 4}};
    s.run(rt);
    CHECK(rt.printed == std::vector<std::string>{"row [1]", "after"});
    CHECK(rt.open_iterators == 0);
    CHECK(std::count(rt.calls.begin(), rt.calls.end(), "foreach_end") == 1);
  }

  SECTION("next inside nested loops ends every open iterator") {
    auto inner = foreach_over(s, counts, b, a, block(stmts(s.printf("inner", s.var(b)), jump(StmtKind::Next))));
    s.body(stmts(foreach_over(s, counts, a, b, std::move(inner)), s.printf("unreached")));
    FakeRuntime rt;
    rt.foreach_tuples = {{1, 2}};
    s.run(rt);
    CHECK(rt.printed == std::vector<std::string>{"inner [1]"});
    CHECK(rt.open_iterators == 0);
  }

  SECTION("a failing extractor ends the iterator and leaves the probe") {
    std::vector<ExprPtr> keys;
    keys.push_back(s.var(a));
    keys.push_back(s.var(b));
    auto avg = node<StatsOpExpr>(Type::Long, StatsFn::Avg, s.elem(counts, std::move(keys)));
    avg->loc = at(9, 3);
    s.body(stmts(foreach_over(s, counts, a, b, s.printf("avg", std::move(avg))), s.printf("unreached")));
    FakeRuntime rt;
    rt.foreach_tuples = {{1, 2}};
    rt.fail_stats = true;
    auto compiled = s.run(rt);
    CHECK(rt.printed.empty());
    CHECK(rt.open_iterators == 0);
    REQUIRE(rt.failed_site >= 0);
    CHECK(compiled->sites().at(rt.failed_site).message == "empty aggregate near operator '@avg'");
    CHECK(compiled->sites().at(rt.failed_site).loc.line == 9);
    CHECK(rt.calls.front() == "foreach_begin");
    CHECK(rt.calls.at(1) == "stats_get fn=" + std::to_string(int(StatsFn::Avg)) + " site=" +
                                std::to_string(rt.failed_site));
  }
}

namespace {
ExprPtr builtin_call(Type type, const std::string &name, ExprPtr arg = nullptr) {
  auto call = node<CallExpr>(type, name);
  if (arg) call->args.push_back(std::move(arg));
  return call;
}
}  // namespace

// dropwatch.ntp's report:
//   printf("\n%s\n", ctime(gettimeofday_s()))
//   foreach ([l, r] in locations-)
//     printf("%d packets dropped at %s (%s)\n", @count(locations[l, r]), symdata(l), drop_reason_name(r))
//   delete locations
TEST_CASE("host: dropwatch's timer probe", "[host_codegen]") {
  Script s;
  Global *locations = s.global("locations", Type::Stats, {Type::Long, Type::Long});
  Local *l = s.local("l", Type::Long);
  Local *r = s.local("r", Type::Long);
  std::vector<ExprPtr> keys;
  keys.push_back(s.var(l));
  keys.push_back(s.var(r));
  auto count = node<StatsOpExpr>(Type::Long, StatsFn::Count, s.elem(locations, std::move(keys)));
  auto report = s.printf("%d packets dropped at %s (%s)\n", std::move(count),
                         builtin_call(Type::String, "symdata", s.var(l)),
                         builtin_call(Type::String, "drop_reason_name", s.var(r)));
  auto loop = foreach_over(s, locations, l, r, std::move(report));
  loop->limit = nullptr;
  s.body(stmts(s.printf("\n%s\n", builtin_call(Type::String, "ctime", builtin_call(Type::Long, "gettimeofday_s"))),
               std::move(loop), std::make_unique<DeleteStmt>(at(1), s.var(locations))));
  FakeRuntime rt;
  rt.foreach_tuples = {{100, 3}, {200, 12}};
  rt.longs[{0, {"100", "3"}}] = 5;
  rt.longs[{0, {"200", "12"}}] = 2;
  s.run(rt);
  CHECK(rt.begin_args == std::vector<int64_t>{0, 0, -1, int64_t(StatsFn::Count), -1});
  CHECK(rt.printed == std::vector<std::string>{
                          "\n%s\n [ctime_1700000000]",
                          "%d packets dropped at %s (%s)\n [5] [symdata_100] [reason_3]",
                          "%d packets dropped at %s (%s)\n [2] [symdata_200] [reason_12]",
                      });
  CHECK(rt.calls.back() == "delete all");
  CHECK(rt.open_iterators == 0);
}

TEST_CASE("host: foreach value form reads the element", "[host_codegen]") {
  Script s;
  Global *names = s.global("names", Type::Long, {Type::Long, Type::Long});
  Local *a = s.local("a", Type::Long);
  Local *b = s.local("b", Type::Long);
  Local *v = s.local("v", Type::Long);
  auto f = foreach_over(s, names, a, b, s.printf("value", s.var(v)));
  f->value_name = "v";
  f->value_local = v;
  f->limit = nullptr;
  s.body(stmts(std::move(f)));
  FakeRuntime rt;
  rt.foreach_tuples = {{5, 6}};
  rt.longs[{0, {"5", "6"}}] = 99;
  s.run(rt);
  CHECK(rt.begin_args.back() == -1);  // no limit
  CHECK(rt.printed == std::vector<std::string>{"value [99]"});
}

TEST_CASE("host: <<<, in, delete of an element and builtins", "[host_codegen]") {
  Script s;
  Global *agg = s.global("agg", Type::Stats, {Type::Long});
  auto one_key = [](int64_t k) {
    std::vector<ExprPtr> v;
    v.push_back(num(k));
    return v;
  };
  auto in = node<InArrayExpr>(Type::Long, "agg");
  in->global = agg;
  in->keys = one_key(1);
  auto out = node<InArrayExpr>(Type::Long, "agg");
  out->global = agg;
  out->keys = one_key(2);
  auto pid = node<CallExpr>(Type::Long, "pid");
  auto sym = node<CallExpr>(Type::String, "symname");
  sym->args.push_back(num(16));
  s.body(stmts(std::make_unique<StatsAddStmt>(at(1), s.elem(agg, one_key(1)), num(3)),
               s.printf("in", std::move(in), std::move(out), std::move(pid), std::move(sym)),
               std::make_unique<DeleteStmt>(at(1), s.elem(agg, one_key(1))),
               expr_stmt(node<CallExpr>(Type::Long, "exit"))));
  FakeRuntime rt;
  s.run(rt);
  CHECK(rt.printed == std::vector<std::string>{"in [1] [0] [4242] [sym_16]"});
  CHECK(rt.calls == std::vector<std::string>{"stats_add 3", "delete element"});
  CHECK(rt.exits == 1);
}

TEST_CASE("host: unknown builtins and target variables are compile errors", "[host_codegen]") {
  Script s;
  SECTION("builtin") {
    auto call = node<CallExpr>(Type::Long, "no_such_builtin");
    call->loc = at(4, 2);
    s.body(stmts(expr_stmt(std::move(call))));
  }
  SECTION("builtin the runtime does not provide") {
    s.body(stmts(expr_stmt(node<CallExpr>(Type::String, "execname"))));
  }
  SECTION("target variable") {
    s.body(stmts(expr_stmt(node<TargetVarExpr>(Type::Long, "skb"))));
  }
  FakeRuntime rt;
  rt.program = &s.program;
  CHECK_THROWS_AS(compile_user_probes(s.program, Layout{}, HostCodegenOptions{}, fake_symbols), CompileError);
}

TEST_CASE("host: IR text is kept on request and kernel probes get no function", "[host_codegen]") {
  Script s;
  s.body(stmts(s.printf("hello")));
  auto kernel = std::make_unique<Probe>();
  kernel->side = Side::Kernel;
  kernel->id = 1;
  kernel->body = block({});
  s.program.probes.push_back(std::move(kernel));
  FakeRuntime rt;
  auto compiled = s.run(rt, true);
  CHECK(compiled->ir().find("define void @probe_0(ptr") != std::string::npos);
  CHECK(compiled->ir().find("ntap_printf") != std::string::npos);
  CHECK(compiled->probe_function(1) == nullptr);
  CHECK(rt.printed == std::vector<std::string>{"hello"});
}

TEST_CASE("host: a program without user probes compiles to nothing", "[host_codegen]") {
  Program program;
  auto kernel = std::make_unique<Probe>();
  kernel->side = Side::Kernel;
  kernel->body = block({});
  program.probes.push_back(std::move(kernel));
  auto compiled = compile_user_probes(program, Layout{}, HostCodegenOptions{}, fake_symbols);
  CHECK(compiled->probe_function(0) == nullptr);
  CHECK(compiled->sites().empty());
  CHECK(compiled->ir().empty());
}

TEST_CASE("host: a loop that exhausts MAXACTION fails and leaves the probe", "[host_codegen]") {
  Script s;
  Global *n = s.global("n", Type::Long);
  // while (1) n++; printf("after")
  auto loop = std::make_unique<WhileStmt>(at(2, 3));
  loop->cond = num(1);
  loop->body = expr_stmt(incdec(s.var(n), true, false));
  s.body(stmts(std::move(loop), s.printf("after")));
  FakeRuntime rt;
  rt.actions_remaining = 50;
  auto compiled = s.run(rt);
  // stap's accounting: 1 to enter the loop, then 2 per iteration (the
  // iteration and `n++`), checked after the body: the 25th iteration
  // brings the budget to -1.
  CHECK(rt.longs[{n->id, {}}] == 25);
  CHECK(rt.printed.empty());
  REQUIRE(rt.failed_site >= 0);
  CHECK(compiled->sites().at(rt.failed_site).message == "MAXACTION exceeded");
}

TEST_CASE("host: straight-line statements within MAXACTION run to the end", "[host_codegen]") {
  Script s;
  s.body(stmts(s.printf("one"), s.printf("two"), s.printf("three")));
  FakeRuntime rt;
  rt.actions_remaining = 4;
  s.run(rt);
  CHECK(rt.printed == std::vector<std::string>{"one", "two", "three"});
  CHECK(rt.failed_site == -1);
  CHECK(rt.actions_remaining == 1);
}
