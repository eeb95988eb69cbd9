// The abstract syntax tree of an ntap (SystemTap-language) script.
//
// The parser builds it; the passes in frontend/passes/ annotate it in place
// (resolved symbols, inferred types, probe sides); the two code generators
// read it. Nodes are plain structs with a kind tag so that every consumer can
// switch over them without a visitor framework.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "frontend/diagnostics.h"

namespace ntap {
class Provider;  // kernel/providers/provider.h
struct Builtin;  // frontend/builtins.h
}

namespace ntap::ast {

// ---------------------------------------------------------------- types
// The value types of the language. Stats is the type of an aggregate (the
// target of `<<<`); it can only be read through @count/@sum/... extractors.
enum class Type : uint8_t { Unknown, Long, String, Stats };
const char *type_name(Type t);

// ---------------------------------------------------------------- symbols
struct Global;
struct Probe;
struct Function;

// A variable local to one probe (or function) body. Locals are scalars.
struct Local {
  std::string name;
  Location decl;  // first assignment
  Type type = Type::Unknown;
  uint32_t index = 0;  // position in the owning body's locals
};

// ---------------------------------------------------------------- expressions
enum class ExprKind {
  Number,       // 42, 0x2a
  String,       // "text"
  Symbol,       // x      (a local or a global scalar, after resolution)
  Index,        // a[k1, k2]
  TargetVar,    // $location, $skb->len
  Unary,        // -x  !x  ~x  +x
  Binary,       // x + y, comparisons, string concatenation `.`
  Logical,      // x && y, x || y
  Ternary,      // c ? a : b
  Assign,       // x = y, x += y, ... (lhs: Symbol or Index)
  IncDec,       // ++x x++ --x x--
  Call,         // f(a, b): builtin or script function
  StatsOp,      // @count(x) @sum @min @max @avg @variance @hist_log @hist_linear (arg: Symbol/Index of Stats type)
  InArray,      // [k1, k2] in a
  Defined,      // @defined(expr)
  Unresolved,   // a target expression elaboration could not resolve, with its error
};

enum class UnaryOp { Neg, Plus, Not, BitNot };
enum class BinaryOp {
  Add, Sub, Mul, Div, Mod, Shl, Shr, BitAnd, BitOr, BitXor,
  Lt, Le, Gt, Ge, Eq, Ne,
  Concat,  // the string operator `.`
  Ushr,    // `>>>`: logical (unsigned) shift right
  // s =~ "re", s !~ "re": POSIX extended regex match (rhs: a literal string,
  // checked by the parser); a match sets what matched(n) returns.
  RegexMatch, RegexNoMatch,
};
inline bool is_regex_op(BinaryOp op) { return op == BinaryOp::RegexMatch || op == BinaryOp::RegexNoMatch; }
enum class LogicalOp { And, Or };
enum class AssignOp { Set, Add, Sub, Mul, Div, Mod, Shl, Shr, BitAnd, BitOr, BitXor, Concat };
// Variance is stap's integer variance; HistLog/HistLinear name a histogram
// (printed as a table, indexed by bucket, iterated with foreach).
enum class StatsFn { Count, Sum, Min, Max, Avg, Variance, HistLog, HistLinear };
inline bool is_histogram(StatsFn fn) { return fn == StatsFn::HistLog || fn == StatsFn::HistLinear; }
const char *binary_op_text(BinaryOp op);
const char *assign_op_text(AssignOp op);
const char *stats_fn_name(StatsFn fn);

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  ExprKind kind;
  Location loc;
  Type type = Type::Unknown;  // set by type inference

  explicit Expr(ExprKind k, Location l) : kind(k), loc(l) {}
  virtual ~Expr() = default;
};

struct NumberExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Number;
  int64_t value;
  NumberExpr(Location l, int64_t v) : Expr(ExprKind::Number, l), value(v) {}
};

struct StringExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::String;
  std::string value;  // escapes already decoded
  StringExpr(Location l, std::string v) : Expr(ExprKind::String, l), value(std::move(v)) {}
};

// A bare identifier. After the resolve pass exactly one of local/global is set.
struct SymbolExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Symbol;
  std::string name;
  Local *local = nullptr;
  Global *global = nullptr;
  SymbolExpr(Location l, std::string n) : Expr(ExprKind::Symbol, l), name(std::move(n)) {}
};

// a[k1, k2]; `array` is resolved to a global (arrays are always global).
struct IndexExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Index;
  std::string name;
  Global *global = nullptr;
  std::vector<ExprPtr> keys;
  IndexExpr(Location l, std::string n) : Expr(ExprKind::Index, l), name(std::move(n)) {}
};

// One `->field` or `[index]` after a target variable or @cast.
struct TargetComponent {
  std::string field;  // ->field; empty for a subscript
  ExprPtr index;      // [index]; null for a field (and in resolution-only copies)
  bool is_subscript() const { return field.empty(); }
};

// One step of computing a target value (see codegen/bpf/lower_expr.cpp).
// The value starts as the probe's context argument (or the @cast operand).
struct TargetStep {
  enum class Op : uint8_t {
    Add,        // value += amount (a member's byte offset; with is_signed, amount is an int32)
    AddScaled,  // value += components[component].index * amount (element size)
    Load,       // value = *(intN_t *)value, amount = N/8 bytes, sign- or zero-extended
    Narrow,     // value = (intN_t)value: a context argument narrower than 8 bytes
    Bitfield,   // value = bits [component, component + amount) of value, sign- or zero-extended
    LoadUser,   // as Load, from the probed process's memory (process probes)
    Constant,   // value = amount (an int32 with is_signed): an SDT operand the compiler made a literal
  };
  Op op = Op::Add;
  uint32_t amount = 0;
  bool is_signed = false;
  uint32_t component = 0;
  bool operator==(const TargetStep &) const = default;
};

// $name, $name->field[i]->field, &$name->field, or
// @cast(expr, "type"[, "module"])->field... . Target variables are resolved
// by the probe's provider against the probe's context (for tracepoints: the
// TP_PROTO arguments, typed from BTF); @cast by its type name in the
// kernel's BTF. Either way the result is a list of steps.
struct TargetVarExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::TargetVar;
  std::string name;  // without the '$'; empty for @cast
  std::vector<TargetComponent> components;
  bool address_of = false;  // &$x->field: the member's address, not its value
  // $x$ (1) and $x$$ (2): stap's pretty-printed dump of the value, shallow or
  // deep; resolution replaces the node by the string expression it stands for.
  int pretty = 0;
  // @cast(cast_operand, "cast_type", "cast_module")
  ExprPtr cast_operand;
  // x->f, f()->f, (expr)->f: stap's autocast, a cast whose type is the one
  // the operand's value carries (from a target variable, @cast or a local
  // assigned one), found in elaboration; cast_type stays empty.
  bool autocast = false;
  std::string cast_type, cast_module;
  // Filled in by resolution:
  bool resolved = false;
  int arg_index = -1;  // context argument number (target variables), or kTraceRecordArg
  std::vector<TargetStep> steps;
  uint32_t btf_type_id = 0;  // the kernel BTF type of the value the steps reach
  // Where that type was named: the @cast module it came through ("" for the
  // kernel's own, by target variable or @cast without a module or with
  // "kernel"). stap takes the same name from two modules for two types, so
  // autocast does not merge them.
  std::string type_origin;
  TargetVarExpr(Location l, std::string n) : Expr(ExprKind::TargetVar, l), name(std::move(n)) {}
  bool is_cast() const { return cast_operand != nullptr; }
};
// TargetVarExpr::arg_index of an event's format field (tracefs
// events/<subsys>/<event>/format): the steps start at the trace record's
// address, which is the program's context (a perf-event tracepoint program).
inline constexpr int kTraceRecordArg = -2;

// The expression as written: "$skb->dev->name", "@cast(p, \"sk_buff\")->len[2]".
std::string target_text(const TargetVarExpr &var);

struct UnaryExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Unary;
  UnaryOp op;
  ExprPtr operand;
  UnaryExpr(Location l, UnaryOp o, ExprPtr e) : Expr(ExprKind::Unary, l), op(o), operand(std::move(e)) {}
};

struct BinaryExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Binary;
  BinaryOp op;
  ExprPtr lhs, rhs;
  BinaryExpr(Location l, BinaryOp o, ExprPtr a, ExprPtr b)
      : Expr(ExprKind::Binary, l), op(o), lhs(std::move(a)), rhs(std::move(b)) {}
};

struct LogicalExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Logical;
  LogicalOp op;
  ExprPtr lhs, rhs;
  LogicalExpr(Location l, LogicalOp o, ExprPtr a, ExprPtr b)
      : Expr(ExprKind::Logical, l), op(o), lhs(std::move(a)), rhs(std::move(b)) {}
};

struct TernaryExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Ternary;
  ExprPtr cond, then_expr, else_expr;
  TernaryExpr(Location l, ExprPtr c, ExprPtr t, ExprPtr e)
      : Expr(ExprKind::Ternary, l), cond(std::move(c)), then_expr(std::move(t)), else_expr(std::move(e)) {}
};

// lhs is a SymbolExpr or IndexExpr. `x <<< v` is a statement (StatsAddStmt), not an AssignExpr.
struct AssignExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Assign;
  AssignOp op;
  ExprPtr lhs, rhs;
  AssignExpr(Location l, AssignOp o, ExprPtr a, ExprPtr b)
      : Expr(ExprKind::Assign, l), op(o), lhs(std::move(a)), rhs(std::move(b)) {}
};

struct IncDecExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::IncDec;
  bool increment;  // ++ or --
  bool prefix;     // ++x or x++
  ExprPtr operand;  // SymbolExpr or IndexExpr
  IncDecExpr(Location l, bool inc, bool pre, ExprPtr e)
      : Expr(ExprKind::IncDec, l), increment(inc), prefix(pre), operand(std::move(e)) {}
};

struct CallExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Call;
  std::string name;
  std::vector<ExprPtr> args;
  const ntap::Builtin *builtin = nullptr;  // set by resolution
  Function *function = nullptr;            // a script function (set by resolution)
  // Output calls get an index into Program::formats (set by type inference).
  // printf/sprintf: args[0] is the literal format, args[1..] its values;
  // print/println: every arg is a value and the format is synthesized
  // ("%d%s\n" for println(1, "a")).
  int format_id = -1;
  CallExpr(Location l, std::string n) : Expr(ExprKind::Call, l), name(std::move(n)) {}
};

struct StatsOpExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::StatsOp;
  StatsFn fn;
  ExprPtr operand;  // SymbolExpr / IndexExpr of Stats type
  // Literal parameters: @hist_linear(x, low, high, width) and
  // @variance(x, bit_shift); stap requires every use of a global to agree.
  std::vector<int64_t> params;
  // @hist_log(x)[i]: the bucket whose count is read (null otherwise).
  ExprPtr bucket;
  StatsOpExpr(Location l, StatsFn f, ExprPtr e) : Expr(ExprKind::StatsOp, l), fn(f), operand(std::move(e)) {}
};

struct InArrayExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::InArray;
  std::vector<ExprPtr> keys;
  std::string name;
  Global *global = nullptr;
  InArrayExpr(Location l, std::string n) : Expr(ExprKind::InArray, l), name(std::move(n)) {}
};

// @defined(e). Probe resolution replaces it (via Probe rewriting) by a number:
// 1 when e is a target variable the probe provides, 0 otherwise.
// @choose_defined(a, b) is parsed as Ternary(Defined(a), a, b).
struct DefinedExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Defined;
  ExprPtr operand;
  DefinedExpr(Location l, ExprPtr e) : Expr(ExprKind::Defined, l), operand(std::move(e)) {}
};

// A target expression elaboration could not resolve ($such in a begin probe,
// an autocast of a value with no kernel type, @var), holding the error it
// met. As in stap, that error is not reported where the expression is
// written but only if the expression is still there once statements without
// effect are elided (passes/report_unresolved.cpp): `$such;` alone, or an
// unread `x = $such`, goes away silently, and @defined of it is 0.
// `operands` are what the expression computed besides its own value (a
// subscript, @cast's pointer), kept for their effects when it is elided.
struct UnresolvedExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Unresolved;
  CompileError error;
  std::string text;  // the expression as written ("$such", "@var(...)"), for printing
  std::vector<ExprPtr> operands;
  UnresolvedExpr(Location l, CompileError e, std::string t)
      : Expr(ExprKind::Unresolved, l), error(std::move(e)), text(std::move(t)) {}
};

// ---------------------------------------------------------------- statements
enum class StmtKind {
  Block, Expr, If, While, For, Foreach, Delete, StatsAdd, Break, Continue, Next, Return,
  Try,
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;

struct Stmt {
  StmtKind kind;
  Location loc;
  explicit Stmt(StmtKind k, Location l) : kind(k), loc(l) {}
  virtual ~Stmt() = default;
};

struct BlockStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::Block;
  std::vector<StmtPtr> stmts;
  explicit BlockStmt(Location l) : Stmt(StmtKind::Block, l) {}
};

struct ExprStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::Expr;
  ExprPtr expr;
  ExprStmt(Location l, ExprPtr e) : Stmt(StmtKind::Expr, l), expr(std::move(e)) {}
};

struct IfStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::If;
  ExprPtr cond;
  StmtPtr then_stmt, else_stmt;  // else_stmt may be null
  IfStmt(Location l) : Stmt(StmtKind::If, l) {}
};

struct WhileStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::While;
  ExprPtr cond;
  StmtPtr body;
  WhileStmt(Location l) : Stmt(StmtKind::While, l) {}
};

struct ForStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::For;
  ExprPtr init, cond, step;  // each may be null
  StmtPtr body;
  ForStmt(Location l) : Stmt(StmtKind::For, l) {}
};

// foreach ([k1, k2] in arr- limit 10) / foreach (k in arr+) / foreach (v = [a,b] in arr)
struct ForeachStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::Foreach;
  std::vector<std::string> key_names;     // loop variables for the keys
  std::vector<Local *> key_locals;        // resolved
  std::optional<std::string> value_name;  // `v = [..] in` form
  Local *value_local = nullptr;
  std::string array_name;
  Global *global = nullptr;
  // Sorting: column 0 is the value, 1..n are keys. direction +1 ascending,
  // -1 descending, 0 unsorted. For stats arrays the value sort uses
  // sort_stat (stap sorts by @count unless written `@sum(arr)-` etc. — ntap
  // uses @count as stap does for a bare array name).
  int sort_column = 0;
  int sort_direction = 0;
  StatsFn sort_stat = StatsFn::Count;
  bool sort_stat_written = false;  // `arr@sum-` / `@sum(arr)-`: arr must be a statistics array
  ExprPtr limit;  // may be null
  // `foreach ([x, y] in arr[*, 5])`: only elements matching these keys (null:
  // a `*` wildcard); empty: every element.
  std::vector<ExprPtr> slice;
  StmtPtr body;
  ForeachStmt(Location l) : Stmt(StmtKind::Foreach, l) {}
};

// delete a / delete a[k] / delete x
struct DeleteStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::Delete;
  ExprPtr target;  // SymbolExpr (whole array or scalar) or IndexExpr (one element)
  DeleteStmt(Location l, ExprPtr t) : Stmt(StmtKind::Delete, l), target(std::move(t)) {}
};

// target <<< value
struct StatsAddStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::StatsAdd;
  ExprPtr target;  // SymbolExpr or IndexExpr; its global becomes Stats-valued
  ExprPtr value;
  StatsAddStmt(Location l, ExprPtr t, ExprPtr v) : Stmt(StmtKind::StatsAdd, l), target(std::move(t)), value(std::move(v)) {}
};

struct JumpStmt : Stmt {  // break, continue, next
  // break, continue and next share this node.
  static constexpr StmtKind kKind = StmtKind::Break;
  static constexpr const char *kKindText = "Break, Continue or Next";
  static constexpr bool classof(StmtKind k) {
    return k == StmtKind::Break || k == StmtKind::Continue || k == StmtKind::Next;
  }
  explicit JumpStmt(StmtKind k, Location l) : Stmt(k, l) {}
};

struct ReturnStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::Return;
  ExprPtr value;  // may be null
  ReturnStmt(Location l) : Stmt(StmtKind::Return, l) {}
};

// try { ... } catch { ... } / catch (msg) { ... }: a run-time error inside
// the try block (division by 0, error(), an empty aggregate...) runs the
// catch block, with the error's message in `msg`, instead of ending the run.
struct TryStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::Try;
  StmtPtr try_block, catch_block;        // BlockStmts
  std::optional<std::string> catch_name;  // the message variable
  Local *catch_local = nullptr;           // resolved (a string local)
  TryStmt(Location l) : Stmt(StmtKind::Try, l) {}
};

// ---------------------------------------------------------------- top level
struct Global {
  std::string name;
  Location decl;
  ExprPtr init;               // literal initialiser, may be null
  uint32_t max_entries = 0;   // `global a[N]`; 0 = default (MAXMAPENTRIES)
  bool wrap = false;          // `global a%[N]`, `global a%`: when full, a new element evicts an old one
  // `private global x`: visible only to code in this file (null: everywhere).
  const SourceFile *private_to = nullptr;
  bool from_tapset = false;
  // Inferred:
  bool is_array = false;            // used with keys
  std::vector<Type> key_types;      // array key tuple
  Type value_type = Type::Unknown;  // Long, String or Stats
  Location first_typed;             // where value_type was first inferred
  // Side analysis (sides pass):
  bool read_in_kernel = false, written_in_kernel = false;
  bool read_in_user = false, written_in_user = false;
  bool deleted_in_user = false;
  uint32_t id = 0;  // index in Program::globals
  // Statistics options, from the uses of the aggregate (type inference):
  // the histogram every @hist_* use agrees on, and @variance's bit shift.
  StatsFn histogram = StatsFn::Count;    // Count: no histogram
  std::vector<int64_t> histogram_params;  // @hist_linear: low, high, width
  Location histogram_loc;
  bool uses_variance = false;
  int64_t variance_shift = 0;
  // Its value is used somewhere (not only updated by ++, --, +=...).
  bool read_as_value = false;
  // Written but its value never used by the script: stap prints it at exit
  // (sides pass).
  bool display_at_exit = false;
};

// One component of a probe point: kernel.trace("kfree_skb") is
// [{"kernel"}, {"trace", "kfree_skb"}]; timer.sec(5) is [{"timer"}, {"sec", 5}].
struct ProbePointComponent {
  std::string name;
  std::optional<std::string> string_arg;
  std::optional<int64_t> number_arg;
};

struct ProbePoint {
  Location loc;
  std::vector<ProbePointComponent> components;
  bool optional = false;  // trailing '?' (or '!')
  bool sufficient = false;  // trailing '!': once it matches, later points of the probe are not resolved
  std::string str() const;  // e.g. kernel.trace("kfree_skb")
};

enum class Side : uint8_t { Unknown, Kernel, User };

// One concrete probe a probe point resolved to (a wildcard may give many).
// What the runtime does with a concrete probe.
enum class ProbeKind : uint8_t {
  Begin, End, Error, Timer, Tracepoint,
  Perf,    // timer.profile, perf.*: perf events
  Uprobe,  // process(...).function/statement/mark: uprobes and uretprobes
  // perf.*.counter("NAME"): a counting perf event on every CPU that @perf
  // reads (frontend/perf_counters.h); no program of its own.
  PerfCounter,
  ProcfsRead, ProcfsWrite,  // procfs("PATH").read/.write: a file ntap serves (runtime/procfs_server.h)
};

// The hidden local of a chained `a <<< b <<< v`, which the parser lowers
// to `{ local = v; b <<< local; a <<< local }` (v computed once).
inline constexpr std::string_view kChainedAggregateValue = "__chained_aggregate_value";

// The global a procfs probe's $value becomes (passes/resolve_probes.cpp); the
// runtime fills it before a .write probe and reads it after a .read probe.
inline constexpr std::string_view kProcfsValueGlobal = "__procfs_value";
inline bool is_procfs(ProbeKind kind) { return kind == ProbeKind::ProcfsRead || kind == ProbeKind::ProcfsWrite; }

struct ResolvedProbe {
  const ntap::Provider *provider = nullptr;
  ProbeKind kind = ProbeKind::Begin;
  std::string name;          // concrete name, e.g. "skb:kfree_skb" or "timer.ms(5000)"
  // The fully resolved probe point as stap's pp() spells it, after alias and
  // wildcard expansion: kernel.trace("skb:kfree_skb"), timer.ms(5000), begin.
  std::string point;
  // The probe point as the script named it, for pn(): the alias it used (with
  // wildcards expanded), else `point`.
  std::string script_point;
  std::string section;       // BPF section for kernel probes ("tp_btf/kfree_skb")
  int64_t param = 0;         // timer period in ns (timer.profile: the perf event's); begin/end/error priority
  int64_t jitter = 0;        // timer.ms(N).randomize(M): each period is N ± up to M (ns)
  std::vector<std::string> context_vars;  // names the provider offers ($location, ...)
  // A kernel probe that shares its attach point with others and runs only for
  // some of its hits (syscall.NAME on raw_syscalls:sys_enter): the program
  // returns at once unless context argument `filter_arg`, taken through
  // `filter_steps`, equals `filter_value`. -1: no filter.
  int filter_arg = -1;
  std::vector<TargetStep> filter_steps;
  int64_t filter_value = 0;
  // process.begin in a forked child (a sys_exit of fork/clone): the body
  // runs only where the call returned 0 (context argument 1) in a task
  // that leads its thread group, a new process rather than a new thread.
  bool new_process_only = false;
  // System call probes: the filter's value is a 64-bit call's number, so a
  // call a task makes through the 32-bit entry (int 0x80: the kernel marks
  // it TS_COMPAT), whose numbers mean other calls, never matches.
  bool native_calls_only = false;
  // process.begin of a process already running when the script starts: the
  // runtime lists those processes in Layout::kRunningAtStartMap, keyed by
  // the probe's id and the process, and the first system call entry or exit
  // in each takes its key and runs the body, once.
  bool begins_running_process = false;
  // perf.*: the perf_event_attr type and config of the event (param: its
  // sample period). `.process("PATH")`: the program runs its body only in
  // tasks executing this file, by inode and device (the kernel's dev_t
  // encoding); 0 when the probe has no such filter.
  uint32_t perf_type = 0;
  uint64_t perf_config = 0;
  uint64_t exe_inode = 0;
  uint64_t exe_dev = 0;
  std::string perf_counter;  // ProbeKind::PerfCounter: the counter's name
  // Process probes (ProbeKind::Uprobe): a uprobe (or uretprobe) at `offset`
  // in the file `binary`, which is `address` in its link-time addresses.
  // (procfs probes: `binary` is the file's name in the run's procfs
  // directory, `file_mode` its permission bits, param the .maxsize(N).)
  std::string binary;
  uint32_t file_mode = 0;
  uint64_t address = 0;
  uint64_t offset = 0;
  uint64_t semaphore_offset = 0;  // an SDT probe's semaphore (file offset), 0: none
  bool retprobe = false;
  uint64_t entry = 0;  // the entry of the function the probe is in (link-time)
  std::string sdt_args_text;  // .mark probes: the note's operands ($arg1...)
  int sdt_arg_count = 0;
  // process(...).plt probes: `name` is the imported function whose PLT entry
  // is probed, which $$name gives.
  bool plt_entry = false;
  // Which processes fire it: 0 every one, a pid, or kTargetPid for target().
  int64_t pid = 0;
  static constexpr int64_t kTargetPid = -1;
};

struct Probe {
  Location loc;
  std::vector<ProbePoint> points;
  std::unique_ptr<BlockStmt> body;
  // `probe P if (cond) { }`: the body runs only while cond is non-zero. Alias
  // expansion folds it into the body (`if (!(cond)) next`).
  ExprPtr condition;
  // The alias point the script wrote (wildcards expanded) when the probe
  // comes from one; empty otherwise (alias expansion).
  std::string alias_point;
  // Filled in by elaboration:
  std::vector<ResolvedProbe> resolved;
  Side side = Side::Unknown;
  std::vector<std::unique_ptr<Local>> locals;
  // Statements elide_unused dropped: such a probe did something as
  // written, so it does not count as empty (reject_all_empty_probes).
  bool elided_statements = false;
  uint32_t id = 0;  // index in Program::probes
};

// A printf-family format string, parsed once at compile time and shared by
// both sides (kernel records carry only its id).
// print/println get a synthesized format, so every output call has one.
struct FormatInfo {
  std::string text;
  Location loc;
  std::vector<Type> arg_types;  // types of the arguments after the format
};

// function name:type (p1:type, p2) { body }. Parameters are the first
// locals; a call gets fresh locals (user side: a real function, so recursion
// works; kernel side: the body is inlined at each call).
struct Function {
  std::string name;
  Location loc;
  std::vector<std::string> params;
  std::vector<Type> declared_params;  // Unknown where no `:type` was written
  Type declared_result = Type::Unknown;
  std::unique_ptr<BlockStmt> body;
  bool from_tapset = false;
  // `private function f()`: callable only from code in this file (null: everywhere).
  const SourceFile *private_to = nullptr;
  // Filled in by elaboration:
  std::vector<std::unique_ptr<Local>> locals;  // params first, in order
  Type result = Type::Unknown;                 // Long when nothing is returned
  bool called_in_kernel = false, called_in_user = false;
  uint32_t id = 0;  // index in Program::functions
};

// probe NAME = POINT, POINT { prologue }   (the alias body runs before the user's)
// probe NAME += POINT { epilogue }        (the alias body runs after the user's)
struct ProbeAlias {
  Location loc;
  std::vector<ProbePoint> names;  // probe a, b = ... defines both a and b
  std::vector<ProbePoint> points;
  bool epilogue = false;
  std::unique_ptr<BlockStmt> body;
  ExprPtr condition;  // `probe a = b if (c)`
  bool from_tapset = false;
};

struct Program {
  std::vector<std::unique_ptr<Global>> globals;
  std::vector<std::unique_ptr<Probe>> probes;
  std::vector<FormatInfo> formats;
  std::vector<std::unique_ptr<Function>> functions;
  std::vector<std::unique_ptr<ProbeAlias>> aliases;
  // How kernel probes reach the values of ppid(), pexecname(), euid() and
  // egid() from the current task_struct (by builtin name): resolved against
  // the kernel's BTF during elaboration, since code generation runs without it.
  std::map<std::string, std::vector<TargetStep>> task_paths;
  // A `never` probe point was dropped (elaboration): the script has a probe,
  // one that never runs, so it is not a script without probes.
  bool has_never = false;
  // The perf counters @perf reads (perf.*.counter("NAME") probes), by the
  // number the generated accounting code uses for each (frontend/perf_counters.h).
  std::vector<std::string> perf_counters;

  // The global `name` as code in `from` sees it: that file's private global
  // of the name, else the public one; null when neither exists.
  Global *find_global(const std::string &name, const SourceFile *from = nullptr) const;
};

// ---------------------------------------------------------------- checked casts
// ast::cast<T>(node) is static_cast with a check: the node's kind tag must
// be one T stands for, else BadCast (an internal error naming both kinds) is
// thrown instead of reading a node as the wrong struct. ast::dyn_cast<T>
// returns null on a mismatch, for code that tests and casts in one step.
// Both keep the constness of their argument and take a node or a pointer.
const char *kind_name(ExprKind k);
const char *kind_name(StmtKind k);

class BadCast : public std::logic_error {
 public:
  BadCast(const char *node_kind, const char *wanted);
};

template <typename T, typename K>
constexpr bool accepts(K kind) {
  if constexpr (requires { T::classof(kind); }) return T::classof(kind);
  else return kind == T::kKind;
}

template <typename T>
const char *wanted_kind_text() {
  if constexpr (requires { T::kKindText; }) return T::kKindText;
  else return kind_name(T::kKind);
}

template <typename Node>
concept AstNode = std::is_base_of_v<Expr, std::remove_const_t<Node>> || std::is_base_of_v<Stmt, std::remove_const_t<Node>>;

// T with Node's const qualification.
template <typename T, typename Node>
using CastResult = std::conditional_t<std::is_const_v<Node>, const T, T>;

template <typename T, AstNode Node>
bool isa(Node &node) {
  return accepts<T>(node.kind);
}

template <typename T, AstNode Node>
CastResult<T, Node> &cast(Node &node) {
  if (!accepts<T>(node.kind)) throw BadCast(kind_name(node.kind), wanted_kind_text<T>());
  return static_cast<CastResult<T, Node> &>(node);
}

template <typename T, AstNode Node>
CastResult<T, Node> *cast(Node *node) {
  return node ? &cast<T>(*node) : nullptr;
}

template <typename T, AstNode Node>
CastResult<T, Node> *dyn_cast(Node &node) {
  return accepts<T>(node.kind) ? static_cast<CastResult<T, Node> *>(&node) : nullptr;
}

template <typename T, AstNode Node>
CastResult<T, Node> *dyn_cast(Node *node) {
  return node ? dyn_cast<T>(*node) : nullptr;
}

}  // namespace ntap::ast
