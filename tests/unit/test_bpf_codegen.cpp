// The BPF code generator: hand-built checked programs are compiled and the
// ELF is inspected with libbpf (and loaded into the kernel when root).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <memory>

#include "codegen/bpf/bpf_codegen.h"
#include "frontend/builtins.h"
#include "runtime/maps.h"

using namespace ntap;
using namespace ntap::ast;

namespace {

using BuiltinEntry = ntap::Builtin;  // ast.h also forward-declares a Builtin

// Builtin entries as the frontend's table describes them (only the fields
// the code generator reads matter here).
const BuiltinEntry kPrintf{"printf", Type::Long, {Type::String},
                      BuiltinEntry::Variadic | BuiltinEntry::Format | BuiltinEntry::Kernel | BuiltinEntry::User | BuiltinEntry::NoReturnValue};
const BuiltinEntry kSymname{"symname", Type::String, {Type::Long}, BuiltinEntry::Kernel | BuiltinEntry::User | BuiltinEntry::Deferred};
const BuiltinEntry kExecname{"execname", Type::String, {}, BuiltinEntry::Kernel | BuiltinEntry::User};
const BuiltinEntry kPid{"pid", Type::Long, {}, BuiltinEntry::Kernel | BuiltinEntry::User};
const BuiltinEntry kExit{"exit", Type::Long, {}, BuiltinEntry::Kernel | BuiltinEntry::User | BuiltinEntry::NoReturnValue};

Location at(uint32_t line, uint32_t col = 1) { return Location{nullptr, line, col}; }

template <typename T, typename... Args>
std::unique_ptr<T> make(Type type, Args &&...args) {
  auto node = std::make_unique<T>(std::forward<Args>(args)...);
  node->type = type;
  return node;
}

ExprPtr number(int64_t v) { return make<NumberExpr>(Type::Long, at(1), v); }
ExprPtr string(const std::string &s) { return make<StringExpr>(Type::String, at(1), s); }

ExprPtr target(const std::string &name, int arg, uint32_t size = 8, bool is_signed = false) {
  auto var = make<TargetVarExpr>(Type::Long, at(2), name);
  var->resolved = true;
  var->arg_index = arg;
  if (size < 8 || is_signed) var->steps.push_back({TargetStep::Op::Narrow, size, is_signed, 0});
  return var;
}

ExprPtr call(const BuiltinEntry &b, std::vector<ExprPtr> args, Type type, int format_id = -1) {
  auto c = make<CallExpr>(type, at(3), std::string(b.name));
  // The cast keeps the test independent of how ast.h names the builtin type.
  c->builtin = reinterpret_cast<decltype(c->builtin)>(&b);
  c->args = std::move(args);
  c->format_id = format_id;
  return c;
}

StmtPtr expr_stmt(ExprPtr e) { return std::make_unique<ExprStmt>(at(4), std::move(e)); }

// A program with one kernel.trace("kfree_skb") probe and the layout the
// layout pass would give it: globals (status words first), then maps.
struct TestScript {
  Program program;
  Layout layout;
  Probe *probe = nullptr;
  uint32_t next_offset = 32;

  TestScript() {
    auto p = std::make_unique<Probe>();
    p->loc = at(1);
    p->side = Side::Kernel;
    p->body = std::make_unique<BlockStmt>(at(1));
    ResolvedProbe rp;
    rp.kind = ProbeKind::Tracepoint;
    rp.name = "skb:kfree_skb";
    rp.section = "tp_btf/kfree_skb";
    p->resolved.push_back(rp);
    probe = p.get();
    program.probes.push_back(std::move(p));
    layout.ringbuf_lost_offset = 0;
    layout.exit_request_offset = 8;
    layout.realtime_offset_offset = 16;
    layout.globals_size = 24;
  }

  uint32_t word() {
    uint32_t offset = layout.globals_size;
    layout.globals_size += 8;
    return offset;
  }

  Global &global(const std::string &name, Type value, std::vector<Type> keys) {
    auto g = std::make_unique<Global>();
    g->name = name;
    g->value_type = value;
    g->is_array = !keys.empty();
    g->key_types = keys;
    g->id = program.globals.size();
    g->read_in_kernel = g->written_in_kernel = true;
    GlobalLayout gl;
    gl.global = g.get();
    gl.placement = Placement::Kernel;
    uint32_t string_len = layout.options.max_string_len;
    if (value == Type::Stats || g->is_array) {
      gl.is_map = true;
      gl.max_entries = layout.options.max_map_entries;
      for (Type k : keys) {
        uint32_t size = k == Type::String ? string_len : 8;
        gl.key_fields.push_back(KeyField{k, gl.key_size, size});
        gl.key_size += size;
      }
      if (keys.empty()) gl.key_size = 8;
      gl.value_size = value == Type::Stats ? sizeof(StatsValue) : value == Type::String ? string_len : 8;
      gl.overflow_offset = word();
      if (value == Type::Stats) {
        gl.per_cpu = gl.double_buffered = true;
        gl.generation_offset = word();
        gl.map_names = {"g_" + name + "_0", "g_" + name + "_1"};
      } else {
        gl.map_names = {"g_" + name};
      }
    } else {
      gl.scalar_size = value == Type::String ? string_len : 8;
      gl.scalar_offset = layout.globals_size;
      layout.globals_size += gl.scalar_size;
    }
    layout.globals.push_back(gl);
    program.globals.push_back(std::move(g));
    return *program.globals.back();
  }

  Local &local(const std::string &name, Type type) {
    auto l = std::make_unique<Local>();
    l->name = name;
    l->type = type;
    l->index = probe->locals.size();
    probe->locals.push_back(std::move(l));
    return *probe->locals.back();
  }

  void add(StmtPtr s) { probe->body->stmts.push_back(std::move(s)); }

  int format(const std::string &text, std::vector<Type> args) {
    program.formats.push_back(FormatInfo{text, at(3), std::move(args)});
    return program.formats.size() - 1;
  }
};

ExprPtr symbol(Local &l) {
  auto s = make<SymbolExpr>(l.type, at(5), l.name);
  s->local = &l;
  return s;
}

ExprPtr symbol(Global &g) {
  auto s = make<SymbolExpr>(g.value_type, at(5), g.name);
  s->global = &g;
  return s;
}

ExprPtr element(Global &g, std::vector<ExprPtr> keys) {
  auto e = make<IndexExpr>(g.value_type, at(6), g.name);
  e->global = &g;
  e->keys = std::move(keys);
  return e;
}

template <typename... E>
std::vector<ExprPtr> list(E... e) {
  std::vector<ExprPtr> v;
  (v.push_back(std::move(e)), ...);
  return v;
}

// locations[$location, $reason] <<< 1, as dropwatch does.
void add_dropwatch_body(TestScript &s) {
  Global &locations = s.global("locations", Type::Stats, {Type::Long, Type::Long});
  s.add(std::make_unique<StatsAddStmt>(at(7), element(locations, list(target("location", 1), target("reason", 2, 4))),
                                       number(1)));
}

struct ObjectCloser {
  void operator()(bpf_object *o) const { bpf_object__close(o); }
};
using ObjectPtr = std::unique_ptr<bpf_object, ObjectCloser>;

ObjectPtr open_object(const BpfObject &object, size_t unit = 0) {
  REQUIRE(unit < object.units.size());
  bpf_object_open_opts opts{};
  opts.sz = sizeof(opts);
  opts.object_name = "ntap";
  const std::vector<char> &elf = object.units[unit].elf;
  bpf_object *obj = bpf_object__open_mem(elf.data(), elf.size(), &opts);
  REQUIRE(libbpf_get_error(obj) == 0);
  return ObjectPtr(obj);
}

}  // namespace

TEST_CASE("dropwatch's kernel probe compiles to a BTF-defined object", "[bpf_codegen]") {
  TestScript s;
  add_dropwatch_body(s);
  BpfObject object = compile_kernel_probes(s.program, s.layout, {});
  REQUIRE(object.units.size() == 1);
  REQUIRE(object.programs.size() == 1);
  CHECK(object.programs[0].function_name == "probe_0_0");
  CHECK(object.records.empty());

  ObjectPtr obj = open_object(object);
  bpf_program *prog = bpf_object__find_program_by_name(obj.get(), "probe_0_0");
  REQUIRE(prog);
  CHECK(std::string(bpf_program__section_name(prog)) == "tp_btf/kfree_skb");

  bpf_map *globals = bpf_object__find_map_by_name(obj.get(), "globals");
  REQUIRE(globals);
  CHECK(bpf_map__type(globals) == BPF_MAP_TYPE_ARRAY);
  CHECK(bpf_map__value_size(globals) == s.layout.globals_size);
  CHECK(bpf_map__max_entries(globals) == 1);
  CHECK((bpf_map__map_flags(globals) & BPF_F_MMAPABLE) != 0);

  // dropwatch's kernel probe sends no records: no ring buffer to create and map.
  CHECK(bpf_object__find_map_by_name(obj.get(), "events") == nullptr);

  for (const char *name : {"g_locations_0", "g_locations_1"}) {
    bpf_map *m = bpf_object__find_map_by_name(obj.get(), name);
    REQUIRE(m);
    CHECK(bpf_map__type(m) == BPF_MAP_TYPE_PERCPU_HASH);
    CHECK(bpf_map__key_size(m) == 16);
    CHECK(bpf_map__value_size(m) == sizeof(StatsValue));
    CHECK(bpf_map__max_entries(m) == s.layout.options.max_map_entries);
  }
}

TEST_CASE("a script with no kernel probes gives an empty object", "[bpf_codegen]") {
  TestScript s;
  s.probe->side = Side::User;
  BpfObject object = compile_kernel_probes(s.program, s.layout, {});
  CHECK(object.units.empty());
  CHECK(object.programs.empty());
}

// printf("%s %d %s\n", execname(), pid() / n, symname($location)) plus
// arrays, string globals and exit().
static void add_mixed_body(TestScript &s) {
  Global &counts = s.global("counts", Type::Long, {Type::String, Type::Long});
  Global &last = s.global("last", Type::String, {});
  Local &n = s.local("n", Type::Long);
  s.add(expr_stmt(make<AssignExpr>(Type::Long, at(8), AssignOp::Set, symbol(n), target("reason", 2, 4))));
  auto sum = make<AssignExpr>(Type::Long, at(9), AssignOp::Add,
                              element(counts, list(call(kExecname, {}, Type::String), number(7))), number(2));
  s.add(expr_stmt(std::move(sum)));
  s.add(expr_stmt(make<IncDecExpr>(Type::Long, at(10), true, false, element(counts, list(string("x"), symbol(n))))));
  s.add(expr_stmt(make<AssignExpr>(Type::String, at(11), AssignOp::Set, symbol(last), string("kfree"))));
  auto quotient = make<BinaryExpr>(Type::Long, at(12, 30), BinaryOp::Div, call(kPid, {}, Type::Long), symbol(n));
  int fmt = s.format("%s %d %s %s\n", {Type::String, Type::Long, Type::String, Type::String});
  s.add(expr_stmt(call(kPrintf,
                       list(string("%s %d %s %s\n"), call(kExecname, {}, Type::String), std::move(quotient),
                            call(kSymname, list(target("location", 1)), Type::String), symbol(last)),
                       Type::Long, fmt)));
  auto cond = std::make_unique<IfStmt>(at(13));
  auto in = make<InArrayExpr>(Type::Long, at(13), "counts");
  in->global = &counts;
  in->keys = list(string("x"), number(1));
  cond->cond = make<LogicalExpr>(Type::Long, at(13), LogicalOp::And, std::move(in),
                                 make<BinaryExpr>(Type::Long, at(13), BinaryOp::Gt, symbol(n), number(3)));
  cond->then_stmt = expr_stmt(call(kExit, {}, Type::Long));
  cond->else_stmt = std::make_unique<DeleteStmt>(at(14), element(counts, list(string("x"), number(1))));
  s.add(std::move(cond));
}

TEST_CASE("output records, error sites and mixed constructs", "[bpf_codegen]") {
  TestScript s;
  add_mixed_body(s);
  BpfCodegenOptions options;
  options.keep_ir = true;
  BpfObject object = compile_kernel_probes(s.program, s.layout, options);
  REQUIRE(object.records.size() == 1);
  const RecordFormat &format = object.records[0];
  CHECK(format.format_id == 0);
  REQUIRE(format.args.size() == 4);
  uint32_t string_slot = s.layout.options.max_string_len;
  CHECK(format.args[0].kind == RecordArg::Kind::String);
  CHECK(format.args[0].size == string_slot);
  CHECK(format.args[1].kind == RecordArg::Kind::Long);
  CHECK(format.args[1].offset == string_slot);
  CHECK(format.args[2].kind == RecordArg::Kind::Long);
  CHECK(format.args[2].render == RenderFn::Symname);
  CHECK(format.args[3].kind == RecordArg::Kind::String);
  CHECK(format.payload_size == 2 * string_slot + 16);

  REQUIRE(object.error_sites.size() == 1);
  CHECK(object.error_sites[0].message == "division by 0 near operator '/'");
  CHECK(object.error_sites[0].loc.line == 12);
  CHECK(object.ir.find("tp_btf/kfree_skb") != std::string::npos);

ObjectPtr obj = open_object(object);
  // This probe prints: the object has the ring buffer.
  bpf_map *events = bpf_object__find_map_by_name(obj.get(), "events");
  REQUIRE(events);
  CHECK(bpf_map__type(events) == BPF_MAP_TYPE_RINGBUF);
  CHECK(bpf_map__max_entries(events) == s.layout.options.ringbuf_size);
  bpf_map *counts = bpf_object__find_map_by_name(obj.get(), "g_counts");
  REQUIRE(counts);
  CHECK(bpf_map__type(counts) == BPF_MAP_TYPE_HASH);
  CHECK(bpf_map__key_size(counts) == s.layout.options.max_string_len + 8);
  CHECK(bpf_map__value_size(counts) == 8);
}

// A program using a per-CPU frame claims its nesting level by an atomic
// fetch-or on the level's bit (one try per level) and gives it back by an
// atomic and: a preempted uprobe program may finish after one that started
// later on its CPU, which a depth counter loaded and stored back gets wrong.
TEST_CASE("a frame's nesting level is claimed and given back atomically", "[bpf_codegen]") {
  auto atomics = [](const BpfObject &object, int32_t op) {
    ObjectPtr obj = open_object(object);
    bpf_program *prog = bpf_object__find_program_by_name(obj.get(), "probe_0_0");
    REQUIRE(prog);
    int count = 0;
    const bpf_insn *insns = bpf_program__insns(prog);
    for (size_t i = 0; i < bpf_program__insn_cnt(prog); ++i)
      if (insns[i].code == (BPF_STX | BPF_ATOMIC | BPF_DW) && insns[i].imm == op) ++count;
    return count;
  };
  TestScript mixed;
  add_mixed_body(mixed);  // string locals: a frame
  BpfObject framed = compile_kernel_probes(mixed.program, mixed.layout, {});
  CHECK(atomics(framed, BPF_OR | BPF_FETCH) == static_cast<int>(Layout::kNestingLevels));
  CHECK(atomics(framed, BPF_AND) >= 1);
  TestScript dropwatch;
  add_dropwatch_body(dropwatch);  // no frame: no claim
  BpfObject plain = compile_kernel_probes(dropwatch.program, dropwatch.layout, {});
  CHECK(atomics(plain, BPF_OR | BPF_FETCH) == 0);
}

TEST_CASE("wildcard probes get one program each, with records naming their probe point", "[bpf_codegen]") {
  TestScript s;
  int fmt = s.format("%d\n", {Type::Long});
  s.add(expr_stmt(call(kPrintf, list(string("%d\n"), target("location", 1)), Type::Long, fmt)));
  ResolvedProbe second = s.probe->resolved[0];
  second.name = "skb:consume_skb";
  second.section = "tp_btf/consume_skb";
  second.point = "kernel.trace(\"skb:consume_skb\")";
  s.probe->resolved.push_back(second);
  BpfObject object = compile_kernel_probes(s.program, s.layout, {});
  REQUIRE(object.programs.size() == 2);
  CHECK(object.programs[1].function_name == "probe_0_1");
  REQUIRE(object.records.size() == 2);
  CHECK(object.records[0].probe_point == s.probe->resolved[0].point);
  CHECK(object.records[1].probe_point == second.point);
  ObjectPtr obj = open_object(object);
  bpf_program *prog = bpf_object__find_program_by_name(obj.get(), "probe_0_1");
  REQUIRE(prog);
  CHECK(std::string(bpf_program__section_name(prog)) == "tp_btf/consume_skb");
}

TEST_CASE("unsupported constructs in kernel probes are compile errors", "[bpf_codegen]") {
  TestScript s;
  SECTION("deleting an element of a double-buffered statistic") {
    Global &hits = s.global("hits", Type::Stats, {Type::Long});
    s.add(std::make_unique<StatsAddStmt>(at(20), element(hits, list(number(1))), number(1)));
    s.add(std::make_unique<DeleteStmt>(at(21, 3), element(hits, list(number(1)))));
  }
  SECTION("printing a whole histogram") {
    Global &hits = s.global("hits", Type::Stats, {});
    s.layout.globals[hits.id].double_buffered = false;
    s.layout.globals[hits.id].map_names = {"g_hits"};
    s.add(expr_stmt(make<StatsOpExpr>(Type::String, at(21, 3), StatsFn::HistLog, symbol(hits))));
  }
  SECTION("deleting a whole double-buffered statistics array") {
    Global &hits = s.global("hits", Type::Stats, {Type::Long});
    s.add(std::make_unique<StatsAddStmt>(at(20), element(hits, list(number(1))), number(1)));
    s.add(std::make_unique<DeleteStmt>(at(21, 3), symbol(hits)));
  }
  try {
    compile_kernel_probes(s.program, s.layout, {});
    FAIL("expected a CompileError");
  } catch (const CompileError &e) {
    CHECK(e.kind() == ErrorKind::Codegen);
    CHECK(e.location().line == 21);
    CHECK(e.location().col == 3);
  }
}

TEST_CASE("generated programs pass the kernel verifier", "[bpf_codegen][root][host]") {
  if (geteuid() != 0) {
    WARN("not root: skipping the kernel load");
    return;
  }
  TestScript s;
  add_dropwatch_body(s);
  add_mixed_body(s);
  BpfObject object = compile_kernel_probes(s.program, s.layout, {});
  ObjectPtr obj = open_object(object);
  int err = bpf_object__load(obj.get());
  REQUIRE(err == 0);
  bpf_program *prog = bpf_object__find_program_by_name(obj.get(), "probe_0_0");
  REQUIRE(prog);
  bpf_link *link = bpf_program__attach(prog);
  REQUIRE(libbpf_get_error(link) == 0);
  bpf_link__destroy(link);
}

// raw_tp programs can be run by the kernel on a made-up context
// (BPF_PROG_TEST_RUN), so run-time semantics are checked without traffic.
TEST_CASE("arithmetic, arrays and aggregates behave as in stap when run", "[bpf_codegen][root][host]") {
  if (geteuid() != 0) {
    WARN("not root: skipping the kernel test run");
    return;
  }
  TestScript s;
  s.probe->resolved[0].section = "raw_tp/kfree_skb";
  auto arg = [](int i) {
    return target(i ? "b" : "a", i, 8, true);
  };
  auto set = [&](Global &g, ExprPtr v) {
    s.add(expr_stmt(make<AssignExpr>(Type::Long, at(40), AssignOp::Set, symbol(g), std::move(v))));
  };
  auto bin = [](BinaryOp op, ExprPtr l, ExprPtr r) {
    return make<BinaryExpr>(Type::Long, at(41, 7), op, std::move(l), std::move(r));
  };
  Global &q = s.global("q", Type::Long, {});
  Global &r = s.global("r", Type::Long, {});
  Global &sh = s.global("sh", Type::Long, {});
  Global &both = s.global("both", Type::Long, {});
  Global &a = s.global("a", Type::Long, {Type::Long});
  Global &h = s.global("h", Type::Stats, {});
  GlobalLayout &h_layout = s.layout.globals[h.id];
  h_layout.double_buffered = false;
  h_layout.map_names = {"g_h"};
  Local &n = s.local("n", Type::Long);

  set(sh, bin(BinaryOp::Shl, number(1), number(65)));
  s.add(expr_stmt(make<AssignExpr>(Type::Long, at(42), AssignOp::Set, symbol(n), arg(0))));
  s.add(expr_stmt(make<AssignExpr>(Type::Long, at(42), AssignOp::Add, symbol(n), number(10))));
  set(both, make<LogicalExpr>(Type::Long, at(43), LogicalOp::And, bin(BinaryOp::Gt, symbol(n), number(2)),
                              bin(BinaryOp::Eq, arg(1), number(2))));
  s.add(expr_stmt(make<AssignExpr>(Type::Long, at(44), AssignOp::Add, element(a, list(number(4))), number(5))));
  s.add(expr_stmt(make<IncDecExpr>(Type::Long, at(45), true, true, element(a, list(number(4))))));
  s.add(std::make_unique<StatsAddStmt>(at(46), symbol(h), arg(0)));
  s.add(std::make_unique<StatsAddStmt>(at(46), symbol(h), number(3)));
  set(q, bin(BinaryOp::Div, arg(0), arg(1)));  // fails when b == 0: nothing after runs
  set(r, bin(BinaryOp::Mod, arg(0), arg(1)));

  BpfObject object = compile_kernel_probes(s.program, s.layout, {});
  ObjectPtr obj = open_object(object);
  REQUIRE(bpf_object__load(obj.get()) == 0);
  int prog = bpf_program__fd(bpf_object__find_program_by_name(obj.get(), "probe_0_0"));
  int globals = bpf_map__fd(bpf_object__find_map_by_name(obj.get(), "globals"));
  auto run = [&](int64_t a_value, int64_t b_value) {
    uint64_t ctx[2] = {uint64_t(a_value), uint64_t(b_value)};
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.ctx_in = ctx;
    opts.ctx_size_in = sizeof(ctx);
    REQUIRE(bpf_prog_test_run_opts(prog, &opts) == 0);
  };
  auto word = [&](const Global &g) {
    std::vector<char> value(s.layout.globals_size);
    uint32_t zero = 0;
    REQUIRE(bpf_map_lookup_elem(globals, &zero, value.data()) == 0);
    int64_t v;
    std::memcpy(&v, value.data() + s.layout.globals[g.id].scalar_offset, 8);
    return v;
  };

  run(-7, 2);
  CHECK(word(q) == -3);
  CHECK(word(r) == -1);
  CHECK(word(sh) == 2);
  CHECK(word(both) == 1);
  int64_t key = 4, element_value = 0;
  REQUIRE(bpf_map_lookup_elem(bpf_map__fd(bpf_object__find_map_by_name(obj.get(), "g_a")), &key, &element_value) == 0);
  CHECK(element_value == 6);

  run(7, 0);  // division by zero: an Error record, q keeps its value
  CHECK(word(q) == -3);
  REQUIRE(object.error_sites.size() == 2);
  CHECK(object.error_sites[0].message == "division by 0 near operator '/'");
  CHECK(object.error_sites[1].message == "division by 0 near operator '%'");
  std::vector<RecordHeader> seen;
  auto collect = [](void *ctx, void *data, size_t) {
    static_cast<std::vector<RecordHeader> *>(ctx)->push_back(*static_cast<RecordHeader *>(data));
    return 0;
  };
  ring_buffer *rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj.get(), "events")), collect,
                                     &seen, nullptr);
  REQUIRE(rb);
  ring_buffer__consume(rb);
  ring_buffer__free(rb);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].kind == RecordKind::Error);
  CHECK(seen[0].id == 0);

  // h <<< a; h <<< 3, run twice (a = -7 then 7), merged over CPUs.
  int stats = bpf_map__fd(bpf_object__find_map_by_name(obj.get(), "g_h"));
  std::vector<StatsValue> per_cpu(libbpf_num_possible_cpus());
  int64_t zero_key = 0;
  REQUIRE(bpf_map_lookup_elem(stats, &zero_key, per_cpu.data()) == 0);
  StatsValue total{0, 0, INT64_MAX, INT64_MIN, 0, 0, 0, 0};
  for (const StatsValue &v : per_cpu) {
    if (!v.count) continue;
    total.count += v.count;
    total.sum += v.sum;
    total.min = std::min(total.min, v.min);
    total.max = std::max(total.max, v.max);
    total.sum_sq += v.sum_sq;
  }
  CHECK(total.count == 4);
  CHECK(total.sum == 6);
  CHECK(total.min == -7);
  CHECK(total.max == 7);
  CHECK(total.sum_sq == 49 + 9 + 49 + 9);
}

namespace {

// dropwatch's body on `count` concrete probes (as a wildcard would expand),
// plus an array no kernel probe touches.
TestScript many_programs(size_t count) {
  TestScript s;
  add_dropwatch_body(s);
  s.global("untouched", Type::Long, {Type::Long});
  s.probe->resolved.resize(count, s.probe->resolved.front());
  return s;
}

BpfCodegenOptions small_units() {
  BpfCodegenOptions options;
  options.programs_per_unit = 8;
  options.single_unit_programs = 4;
  return options;
}

std::vector<std::string> map_names(bpf_object *obj) {
  std::vector<std::string> names;
  bpf_map *map;
  bpf_object__for_each_map(map, obj) names.push_back(bpf_map__name(map));
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("many programs are spread over several objects; the first declares every map", "[bpf_codegen][units]") {
  TestScript s = many_programs(20);
  BpfObject object = compile_kernel_probes(s.program, s.layout, small_units());
  REQUIRE(object.units.size() == 3);
  REQUIRE(object.programs.size() == 20);
  std::vector<size_t> per_unit(3);
  for (size_t i = 0; i < object.programs.size(); ++i) {
    CHECK(object.programs[i].function_name == "probe_0_" + std::to_string(i));
    if (i) CHECK(object.programs[i].unit >= object.programs[i - 1].unit);
    ++per_unit.at(object.programs[i].unit);
  }
  CHECK(per_unit == std::vector<size_t>{6, 7, 7});

  ObjectPtr first = open_object(object, 0);
  CHECK(map_names(first.get()) ==
        std::vector<std::string>{"g_locations_0", "g_locations_1", "g_untouched", "globals"});
  for (size_t u = 1; u < 3; ++u) {
    ObjectPtr later = open_object(object, u);
    // Only what its programs use: no ring buffer (dropwatch's probe does not
    // print), no array nobody touches.
    CHECK(map_names(later.get()) == std::vector<std::string>{"g_locations_0", "g_locations_1", "globals"});
    for (size_t i = 0; i < object.programs.size(); ++i)
      CHECK((bpf_object__find_program_by_name(later.get(), object.programs[i].function_name.c_str()) != nullptr) ==
            (object.programs[i].unit == u));
  }
}

TEST_CASE("a few programs stay in one object", "[bpf_codegen][units]") {
  TestScript s = many_programs(4);
  BpfObject object = compile_kernel_probes(s.program, s.layout, small_units());
  CHECK(object.units.size() == 1);
}

TEST_CASE("objects emitted on several threads are the same in every run", "[bpf_codegen][units]") {
  TestScript s = many_programs(20);
  BpfCodegenOptions options = small_units();
  options.threads = 3;
  BpfObject a = compile_kernel_probes(s.program, s.layout, options);
  BpfObject b = compile_kernel_probes(s.program, s.layout, options);
  options.threads = 1;
  BpfObject c = compile_kernel_probes(s.program, s.layout, options);
  REQUIRE(a.units.size() == 3);
  REQUIRE(b.units.size() == 3);
  REQUIRE(c.units.size() == 3);
  for (size_t u = 0; u < 3; ++u) {
    CHECK(a.units[u].elf == b.units[u].elf);
    CHECK(a.units[u].elf == c.units[u].elf);
  }
}

TEST_CASE("later objects load against the first object's maps", "[bpf_codegen][units][root][host]") {
  if (geteuid() != 0) {
    WARN("not root: skipping the kernel load");
    return;
  }
  TestScript s = many_programs(12);
  BpfObject object = compile_kernel_probes(s.program, s.layout, small_units());
  REQUIRE(object.units.size() == 2);
  ObjectPtr first = open_object(object, 0);
  REQUIRE(bpf_object__load(first.get()) == 0);
  ObjectPtr second = open_object(object, 1);
  bpf_map *map;
  bpf_object__for_each_map(map, second.get()) {
    bpf_map *owner = bpf_object__find_map_by_name(first.get(), bpf_map__name(map));
    REQUIRE(owner);
    REQUIRE(bpf_map__reuse_fd(map, bpf_map__fd(owner)) == 0);
  }
  REQUIRE(bpf_object__load(second.get()) == 0);
  bpf_map_info first_info{}, second_info{};
  uint32_t len = sizeof first_info;
  REQUIRE(bpf_obj_get_info_by_fd(bpf_map__fd(bpf_object__find_map_by_name(first.get(), "g_locations_0")),
                                 &first_info, &len) == 0);
  len = sizeof second_info;
  REQUIRE(bpf_obj_get_info_by_fd(bpf_map__fd(bpf_object__find_map_by_name(second.get(), "g_locations_0")),
                                 &second_info, &len) == 0);
  CHECK(first_info.id == second_info.id);
}

TEST_CASE("a kernel-probe loop that never ends is bounded by MAXACTION and passes the verifier",
          "[bpf_codegen][loops][root][host]") {
  TestScript s;
  auto loop = std::make_unique<WhileStmt>(at(21, 3));
  loop->cond = number(1);
  loop->body = std::make_unique<BlockStmt>(at(21));
  s.add(std::move(loop));
  BpfObject object = compile_kernel_probes(s.program, s.layout, {});
  REQUIRE(object.error_sites.size() == 1);
  CHECK(object.error_sites[0].message.rfind("MAXACTION exceeded", 0) == 0);
  CHECK(object.error_sites[0].loc.line == 21);
  if (geteuid() != 0) {
    WARN("not root: skipping the kernel load");
    return;
  }
  ObjectPtr obj = open_object(object);
  CHECK(bpf_object__load(obj.get()) == 0);
}

// Per-CPU states are written from user space (one CPU could not make several
// in a test run), then a program reads them with every extractor: each must
// equal what the runtime's merge gives for the same bytes.
TEST_CASE("kernel probes read statistics merged over every CPU as user space does", "[bpf_codegen][root][host]") {
  if (geteuid() != 0) {
    WARN("not root: skipping the kernel test run");
    return;
  }
  TestScript s;
  s.probe->resolved[0].section = "raw_tp/kfree_skb";
  auto one_map = [&](Global &g) {
    GlobalLayout &layout = s.layout.globals[g.id];
    layout.double_buffered = false;
    layout.map_names = {"g_" + g.name};
    layout.tracks_variance = true;
    layout.variance_shift = 2;
  };
  Global &h = s.global("h", Type::Stats, {});
  one_map(h);
  Global &by_key = s.global("by_key", Type::Stats, {Type::Long});
  one_map(by_key);
  const StatsFn extractors[] = {StatsFn::Count, StatsFn::Sum, StatsFn::Min, StatsFn::Max, StatsFn::Avg, StatsFn::Variance};
  std::vector<Global *> results;
  for (StatsFn fn : extractors) {
    Global &result = s.global(std::string("r") + std::to_string(results.size()), Type::Long, {});
    results.push_back(&result);
    s.add(expr_stmt(make<AssignExpr>(Type::Long, at(50), AssignOp::Set, symbol(result),
                                     make<StatsOpExpr>(Type::Long, at(51), fn, symbol(h)))));
  }
  Global &missing_count = s.global("missing_count", Type::Long, {});
  s.add(expr_stmt(make<AssignExpr>(Type::Long, at(52), AssignOp::Set, symbol(missing_count),
                                   make<StatsOpExpr>(Type::Long, at(52), StatsFn::Count,
                                                     element(by_key, list(number(9)))))));
  Global &after_error = s.global("after_error", Type::Long, {});
  s.add(expr_stmt(make<AssignExpr>(Type::Long, at(53), AssignOp::Set, symbol(after_error),
                                   make<StatsOpExpr>(Type::Long, at(53, 9), StatsFn::Min,
                                                     element(by_key, list(number(9)))))));

  // 9 CPU loops (@variance takes two) of 112 CPUs: near the per-program
  // limit of 1024 CPU merges, which must still load. CPUs past the real ones
  // read as missing.
  BpfCodegenOptions options;
  options.possible_cpus = 112;
  BpfObject object = compile_kernel_probes(s.program, s.layout, options);
  ObjectPtr obj = open_object(object);
  REQUIRE(bpf_object__load(obj.get()) == 0);

  // CPU i observed i+1 values around 10*i (negative on odd CPUs); the last
  // CPU observed nothing when there are several.
  const unsigned ncpus = possible_cpus();
  const uint32_t stride = percpu_stride(sizeof(StatsValue));
  std::vector<uint8_t> raw(size_t{stride} * ncpus, 0);
  for (unsigned cpu = 0; cpu + (ncpus > 1 ? 1 : 0) < ncpus; ++cpu) {
    StatsValue part = kEmptyStats;
    for (unsigned i = 0; i <= cpu; ++i) stats_observe(part, (cpu % 2 ? -1 : 1) * int64_t(10 * cpu + 3 * i + 1), 2);
    std::memcpy(raw.data() + size_t{stride} * cpu, &part, sizeof(part));
  }
  int64_t zero_key = 0;
  REQUIRE(bpf_map_update_elem(bpf_map__fd(bpf_object__find_map_by_name(obj.get(), "g_h")), &zero_key, raw.data(),
                              BPF_ANY) == 0);

  int prog = bpf_program__fd(bpf_object__find_program_by_name(obj.get(), "probe_0_0"));
  uint64_t ctx[2] = {0, 0};
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.ctx_in = ctx;
  opts.ctx_size_in = sizeof(ctx);
  REQUIRE(bpf_prog_test_run_opts(prog, &opts) == 0);

  std::vector<char> globals(s.layout.globals_size);
  uint32_t zero = 0;
  REQUIRE(bpf_map_lookup_elem(bpf_map__fd(bpf_object__find_map_by_name(obj.get(), "globals")), &zero,
                              globals.data()) == 0);
  auto word = [&](const Global &g) {
    int64_t v;
    std::memcpy(&v, globals.data() + s.layout.globals[g.id].scalar_offset, 8);
    return v;
  };
  const StatsValue merged = merge_percpu_stats(raw, ncpus, sizeof(StatsValue));
  REQUIRE(merged.count > 0);
  for (size_t i = 0; i < results.size(); ++i) {
    INFO(stats_fn_name(extractors[i]));
    CHECK(word(*results[i]) == stats_extract(merged, extractors[i], 2));
  }
  CHECK(word(missing_count) == 0);
  CHECK(word(after_error) == 0);  // @min of a missing element failed before the store
  // One site per extractor that can fail (all but @count); the missing element's is last.
  REQUIRE(object.error_sites.size() == 6);
  CHECK(object.error_sites[0].message == "empty aggregate near operator '@sum'");
  CHECK(object.error_sites.back().message == "empty aggregate near operator '@min'");
  CHECK(object.error_sites.back().loc.col == 9);
}

// Merges run in a bpf_loop callback, which the verifier checks once or twice
// whatever the number of CPUs: many reads on a machine with many CPUs load.
TEST_CASE("statistics reads merge every possible CPU however many there are", "[bpf_codegen]") {
  TestScript s;
  Global &h = s.global("h", Type::Stats, {});
  s.layout.globals[h.id].double_buffered = false;
  s.layout.globals[h.id].map_names = {"g_h"};
  for (uint32_t line = 30; line < 70; ++line)
    s.add(expr_stmt(make<StatsOpExpr>(Type::Long, at(line, 3), line % 2 ? StatsFn::Count : StatsFn::Sum, symbol(h))));
  BpfCodegenOptions options;
  options.possible_cpus = 4096;  // 40 reads: 163,840 merges, far past what unrolled loops could hold
  BpfObject object = compile_kernel_probes(s.program, s.layout, options);
  if (geteuid() != 0) {
    WARN("not root: skipping the kernel load");
    return;
  }
  ObjectPtr obj = open_object(object);
  CHECK(bpf_object__load(obj.get()) == 0);
}

TEST_CASE("deleting a whole array walks its map with a callback that the verifier accepts",
          "[bpf_codegen][delete][root][host]") {
  TestScript s;
  Global &a = s.global("a", Type::Long, {Type::Long});
  s.add(std::make_unique<DeleteStmt>(at(21, 3), symbol(a)));
  BpfObject object = compile_kernel_probes(s.program, s.layout, {});
  ObjectPtr obj = open_object(object);
  // The callback is a subprogram, not a program of its own.
  CHECK(bpf_object__find_program_by_name(obj.get(), "delete_each") == nullptr);
  REQUIRE(bpf_object__find_program_by_name(obj.get(), "probe_0_0"));
  if (geteuid() != 0) {
    WARN("not root: skipping the kernel load");
    return;
  }
  CHECK(bpf_object__load(obj.get()) == 0);
}
