// AST → BPF IR for one kernel probe body (internal to codegen/bpf).
//
// Value representation inside a program:
//   * Long values are i64;
//   * String values are pointers to max_string_len readable bytes holding a
//     NUL-terminated string (a stack buffer, a map value or a "globals"
//     slice). Every string slot in ntap's maps is exactly that long, so a
//     string can always be copied with one fixed-size memcpy.
// The split across files: lower_expr.cpp (expressions), lower_stmt.cpp
// (statements and assignment targets), builtins_bpf.cpp (builtin calls),
// records.cpp (ring-buffer records: output, exit, run-time errors).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <string_view>
#include <vector>

#include "codegen/bpf/bpf_codegen.h"
#include "codegen/bpf/maps.h"
#include "codegen/bpf/module_builder.h"

namespace ntap::bpf {

// State shared by every program of one object.
struct CodegenState {
  const ast::Program &program;
  const Layout &layout;
  ModuleBuilder &mb;
  MapAccess &maps;
  BpfObject &object;
  // One record format per script location and concrete probe (the record
  // names its probe point for --format json); one error site per location,
  // shared by the programs a wildcard probe expands to.
  using RecordKey = std::pair<const ast::CallExpr *, const ast::ResolvedProbe *>;
  std::map<RecordKey, uint32_t> record_ids;
  std::map<const void *, uint32_t> error_ids;
  unsigned possible_cpus = 1;  // the bound of the loops that merge statistics
};

[[noreturn]] void unsupported(const Location &loc, const std::string &message);

// Whether subscripts hold a `*` wildcard (a null key).
inline bool has_wildcard(const std::vector<ast::ExprPtr> &keys) {
  for (const auto &key : keys)
    if (!key) return true;
  return false;
}

// Builtins whose value user space renders (symname, symdata, ctime,
// drop_reason_name): a kernel probe carries their argument. None otherwise.
RenderFn deferred_render(std::string_view name);

class ProbeLowering {
 public:
  // `resolved` is the concrete probe this program attaches to (pp()).
  ProbeLowering(CodegenState &state, const ast::Probe &probe, const ast::ResolvedProbe &resolved,
                llvm::Function *fn);
  void lower_body();  // ends the program with `return 0`

  // ---- dispatch (dispatch.cpp; codegen/bpf/dispatch.h)
  // A program a dispatcher reaches: its body runs for every hit it is
  // given (the dispatcher compared the filter). Call before lower_body().
  void leave_filter_to_dispatcher() { filtered_elsewhere_ = true; }
  // After lower_body(): every return first hands the hit on to the program
  // at `index` of `table` (the next one for the same filter value; an empty
  // entry makes the tail call fail and the return happen).
  void chain_to(llvm::GlobalVariable *table, uint32_t index);
  // The whole dispatcher program: the filter's value, when below `heads`,
  // indexes `table` for the first program to run.
  void lower_dispatcher(llvm::GlobalVariable *table, uint32_t heads);

  // ---- expressions (lower_expr.cpp)
  llvm::Value *value(const ast::Expr &e);        // i64 or string pointer by e.type
  llvm::Value *long_value(const ast::Expr &e);   // e must be Long
  llvm::Value *string_value(const ast::Expr &e); // e must be String
  llvm::Value *truth(const ast::Expr &e);        // i1

  // ---- builtins (builtins_bpf.cpp): nullptr when `call` is not a BPF builtin
  llvm::Value *builtin_call(const ast::CallExpr &call);
  // ---- script functions (inline_functions.cpp): the body inlined at the call
  llvm::Value *inline_call(const ast::CallExpr &call);

  // ---- stacks and probe addresses (stacks_bpf.cpp)
  // The number a deferred builtin without an argument of its own
  // (backtrace(), probefunc()...) or sprint_stack(backtrace()) carries in an
  // output record, and how user space renders it.
  llvm::Value *deferred_value(const ast::CallExpr &call, RenderFn &render);
  // stack(n), ustack(n) (bare or under symname()/usymname()-like renderers),
  // callers(n), ucallers(n), sprint_syms() and sprint_usyms(): the stack id
  // to carry, with `carried`'s render and part set and `depth` the n to carry
  // after it (null for a whole stack). Null when `call` is none of those.
  llvm::Value *carried_stack_part(const ast::CallExpr &call, RecordArg &carried, llvm::Value *&depth);
  // bpf_get_stackid into Layout::kStacksMap; a stack it could not store
  // (negative id) is counted in Layout::stacks_lost_offset.
  llvm::Value *stack_id();
  // The kernel address the probe interrupted (perf probes), else 0.
  llvm::Value *probe_address();
  // kernel_memory.cpp: `.process("PATH")`: returns 0 from the program unless
  // the current task executes the file (ResolvedProbe::exe_inode/exe_dev).
  void run_only_in_executable();
  // ResolvedProbe::new_process_only: returns 0 from the program unless this
  // is a new process's return from fork/clone.
  void run_only_in_new_process();
  // ResolvedProbe::begins_running_process: returns 0 from the program unless
  // this hit takes the process's key from Layout::kRunningAtStartMap.
  void run_once_in_running_process();
  // Returns 0 from the program unless the current task is in process `pid`
  // (ResolvedProbe::kTargetPid: target()).
  void run_only_in_process(int64_t pid);

  // ---- records (records.cpp)
  void output(const ast::CallExpr &call);
  llvm::Value *user_stack_id(const Location &loc, const std::string &name);  // ubacktrace()
  void request_exit();
  void warning(const ast::CallExpr &call);  // warn(msg)
  void warning_text(llvm::Value *text, const Location &loc);  // a warning of a string value
  // Sends an Error record for `site` (keyed by its AST node) and returns
  // from the program.
  void fail(const void *site, const Location &loc, const std::string &message);
  // The same for error(msg) with a computed message: the record carries
  // `text` (a string value) as the message.
  void fail_with_text(const void *site, const Location &loc, llvm::Value *text);
  // The same for a fault reading kernel memory: `message` holds "%p", which
  // user space replaces by `address` (an i64 the record carries).
  void fail_at_address(const void *site, const Location &loc, const std::string &message, llvm::Value *address);
  void format_address(llvm::Value *text, const std::string &message, llvm::Value *address);

  // ---- strings (strings_bpf.cpp)
  llvm::Value *string_comparison(const ast::BinaryExpr &e);  // == != < > <= >= on strings: 0/1
  // lhs . rhs in a fresh buffer (a chain of `.` shares one buffer).
  llvm::Value *concatenation(const ast::Expr &lhs, const ast::Expr &rhs);
  llvm::Value *string_length(const ast::Expr &e);
  llvm::Value *length_of(llvm::Value *string);
  llvm::Value *substring(const ast::Expr &str, const ast::Expr &start, const ast::Expr &length);
  llvm::Value *contains(const ast::Expr &haystack, const ast::Expr &needle);  // isinstr
  // regex_bpf.cpp: =~ and !~ (0/1) through the pattern's DFA.
  llvm::Value *regex_match(const ast::BinaryExpr &e);
  // sprintf_bpf.cpp: sprintf through bpf_snprintf.
  llvm::Value *sprintf_call(const ast::CallExpr &call);  // sprintf, sprint, sprintln, sprintd, sprintdln
  // `format` (stap's) over call.args[first..] through bpf_snprintf.
  llvm::Value *format_values(const std::string &format, const ast::CallExpr &call, size_t first);
  // bpf_snprintf with a format in its own language and u64 values, into a
  // string scratch slot.
  llvm::Value *snprintf_values(const std::string &helper_format, const std::vector<llvm::Value *> &values,
                               const Location &loc);
  // The same into `out`, a MAXSTRINGLEN string buffer.
  void snprintf_into(llvm::Value *out, const std::string &helper_format, const std::vector<llvm::Value *> &values);
  llvm::Value *ipv4_text(llvm::Value *address, const Location &loc);  // ip_ntop
  llvm::Value *format_ipaddr(const ast::CallExpr &call);
  llvm::Value *user_ip6_text(const ast::CallExpr &call);  // __user_ip6_text(addr)
  // The 16 bytes at `address` as compressed IPv6 text into `out` (64 bytes).
  void ipv6_text_into(llvm::Value *out, llvm::Value *address);
  // A string scratch slot holding "" for a string being built (maps.h).
  llvm::Value *scratch_string(const Location &loc);
  // Bytes a string built in a kernel probe may hold (MAXSTRINGLEN - 1).
  uint32_t built_string_cap() const;
  // `for (i = 0; i < count; ++i) body`: the body branches to `next` to go on
  // and to `done` to leave (falling off its end goes on).
  using CountedLoopBody = std::function<void(llvm::Value *i, llvm::BasicBlock *next, llvm::BasicBlock *done)>;
  void counted_loop(uint64_t count, const CountedLoopBody &body);
  llvm::Value *byte_at(llvm::Value *string, llvm::Value *index);  // zero-extended i64
  void store_byte(llvm::Value *string, llvm::Value *index, llvm::Value *byte);

  // ---- leaving (map_walk.cpp: inside a walk's callback these return from
  // the callback and tell the walk's caller what to do next)
  // Ends the probe hit: `next`, a run-time error.
  void end_program();
  // A run-time error inside `try`: `write_message` stores the error's text
  // in the catch variable (if any), then control goes to the catch block.
  // False, emitting nothing, outside a try.
  bool caught(const std::function<void(llvm::Value *message)> &write_message);
  void leave_to_handler();  // to the innermost catch block
  // `return` from the innermost inlined function: to its exit block.
  void return_from_function();
  // A stack slot of the program (or of an enclosing callback) as the function
  // being built reaches it: the slot itself, or the pointer to it that a map
  // walk hands its callback.
  llvm::Value *reach(llvm::Value *slot);
  llvm::Value *program_context();  // the program's ctx argument

  // ---- small shared helpers
  llvm::IRBuilder<> &ir() { return state_.mb.ir(); }
  CodegenState &state() { return state_; }
  const ast::ResolvedProbe &resolved() const { return resolved_; }
  uint32_t max_string_len() const { return state_.layout.options.max_string_len; }
  // Perf-event programs run in NMI context and may interrupt another program
  // on their CPU: they use per-CPU scratch space of their own.
  bool interrupting() const { return resolved_.section.rfind("perf_event", 0) == 0; }
  llvm::Value *i64(int64_t v) { return ir().getInt64(v); }
  llvm::BasicBlock *block(const char *name);
  llvm::Value *string_buffer(const char *name);  // a frame buffer holding ""
  // ---- the per-CPU frame (frame.cpp): buffers too large for the BPF stack
  // at offsets fixed while lowering, held to the end of the statement.
  enum class Zero { None, FirstWord, Whole };
  llvm::Value *frame_buffer(uint32_t size, const char *name, Zero zero);
  llvm::Value *frame_base();
  llvm::Value *frame_scratch_slot(uint32_t slot);  // Layout::scratch_slots() of them
  // memcpy/memset of a size known here. LLVM's BPF backend expands these
  // inline only up to a limit (past it: "memcpy is not supported"); larger
  // ones go through bpf_probe_read_kernel.
  void copy_bytes(llvm::Value *dst, llvm::Value *src, uint32_t size, llvm::MaybeAlign src_align);
  void zero_bytes(llvm::Value *dst, uint32_t size);
  void finish_frame();
  // records.cpp: whether a hit of `probe` may send more than one output
  // record (two output calls, or one in a loop), so its records are grouped.
  static bool prints_several_records(const ast::Probe &probe);
  void group_output();  // called by lower_body for such a probe
  // The first word of a record header: `kind`, and the hit's group if any.
  llvm::Value *record_header_word(RecordKind kind);
  bool grouped() const { return grouped_; }
  void mark_printed();
  void end_hit(llvm::Value *zero_return);  // frame.cpp
  llvm::Value *string_literal(const std::string &text);
  void write_literal(llvm::Value *buffer, const std::string &text, bool whole = false);
  void copy_string(llvm::Value *dst, llvm::Value *src, uint32_t size);  // both 8-byte aligned
  // Packs `keys` per g.key_fields into a zeroed stack buffer.
  llvm::Value *pack_key(const GlobalLayout &g, const std::vector<ast::ExprPtr> &keys, const Location &loc);
  const GlobalLayout &kernel_global(const ast::Global &g, const Location &loc);
  llvm::Value *local_slot(const ast::Local &local);  // the local's slot (stack or frame)
  // A long local's slot: on the stack, or in the frame in a body with a
  // while/for loop (lower_stmt.cpp).
  llvm::Value *long_local(const char *name, bool in_loop_body);
  static bool has_script_loop(ast::Stmt &body);
  // Starts a fresh block after a terminator (code after `next` is dead).
  void continue_after_terminator();
  // `v` taken through resolved target-variable steps (lower_expr.cpp);
  // subscripts (AddScaled) come from `subscripted`'s components.
  llvm::Value *follow_steps(llvm::Value *v, const std::vector<ast::TargetStep> &steps,
                            const ast::TargetVarExpr *subscripted, const Location &loc, const std::string &what);

 private:
  // lower_expr.cpp
  // A probe sharing its attach point (ast::ResolvedProbe's filter): a new
  // entry block that returns at once unless the filter holds.
  void filter_hits();
  llvm::Value *filter_operand();  // the filter's value, from the context
  // ResolvedProbe::native_calls_only: branches to `leave` for a call made
  // through the 32-bit entry, else goes on in a new block.
  void leave_unless_native_call(llvm::BasicBlock *leave);
  void tail_call(llvm::GlobalVariable *table, llvm::Value *index);
  llvm::Value *symbol(const ast::SymbolExpr &e);
  llvm::Value *index(const ast::IndexExpr &e);
  llvm::Value *target_var(const ast::TargetVarExpr &e);
  llvm::Value *unary(const ast::UnaryExpr &e);
  llvm::Value *binary(const ast::BinaryExpr &e);
  llvm::Value *logical(const ast::LogicalExpr &e);
  llvm::Value *ternary(const ast::TernaryExpr &e);
  llvm::Value *in_array(const ast::InArrayExpr &e);
  // stats_read.cpp: @count @sum @min @max @avg @variance, @hist_*(x)[i]
  llvm::Value *stats_op(const ast::StatsOpExpr &e);
  llvm::Value *stats_bucket(const ast::StatsOpExpr &e, const GlobalLayout &g, llvm::Value *key);
  llvm::Value *stats_variance(const ast::StatsOpExpr &e, const GlobalLayout &g, llvm::Value *key, llvm::Value *count,
                              llvm::Value *sum);
  // Emits a bpf_loop over the possible CPUs calling `merge` with each CPU's
  // non-empty StatsValue of `key` in map `g` (a pointer into the map);
  // `merge` runs in the loop's callback, so it reaches the caller's values
  // with reach(). `loc` is the read's location.
  void for_each_cpu_part(const Location &loc, const GlobalLayout &g, llvm::Value *key,
                         const std::function<void(llvm::Value *)> &merge);
  llvm::Value *signed_divide(llvm::Value *dividend, llvm::Value *positive_divisor);
  llvm::Value *probe_read(llvm::Value *address, uint32_t size);
  llvm::Value *probe_read_user(llvm::Value *address, uint32_t size);
  // strings_bpf.cpp
  std::string literal_text(const ast::StringExpr &e) const;
  llvm::Value *string_order(llvm::Value *lhs, llvm::Value *rhs);
  llvm::Value *string_order_literal(llvm::Value *lhs, const std::string &text);
  void append_string(llvm::Value *buffer, llvm::Value *length, const ast::Expr &part);
  void concat_into(llvm::Value *buffer, llvm::Value *length, const ast::Expr &e);
  llvm::Value *string_ternary(const ast::TernaryExpr &e);
  // Long arithmetic with stap semantics; `site` is the node reported on a
  // division by zero.
  llvm::Value *arith(ast::BinaryOp op, llvm::Value *lhs, llvm::Value *rhs, const void *site,
                     const Location &loc);
  llvm::Value *divide(bool remainder, llvm::Value *lhs, llvm::Value *rhs, const void *site,
                      const Location &loc);

  // lower_stmt.cpp
  void statement(const ast::Stmt &s);
  void statement_body(const ast::Stmt &s);
  void if_stmt(const ast::IfStmt &s);
  void try_stmt(const ast::TryStmt &s);
  // loops.cpp
  void while_stmt(const ast::WhileStmt &s);
  void for_stmt(const ast::ForStmt &s);
  // `body` (filled inside the callback) as bpf_loop's callback.
  void repeat(const Location &loc, const std::function<void()> &body);
  void loop_body(const ast::Stmt &body, llvm::BasicBlock *break_to, llvm::BasicBlock *continue_to);
  void jump_out_of_loop(const ast::Stmt &s);  // break, continue
  void delete_stmt(const ast::DeleteStmt &s);
  // map_walk.cpp: walks over a map through bpf_for_each_map_elem
  void foreach_stmt(const ast::ForeachStmt &s);
  llvm::Value *any_matching(const GlobalLayout &g, const std::vector<ast::ExprPtr> &keys, const Location &loc);
  void delete_matching(const GlobalLayout &g, const std::vector<ast::ExprPtr> &keys, const Location &loc);
  // Builds `body` as the callback of a walk over g's map (the builder sits in
  // the callback; `key` and `value` point at the element; falling off the
  // end goes on with the next element) and calls it for every element.
  using WalkBody = std::function<void(llvm::Value *key, llvm::Value *value)>;
  void walk_map(const GlobalLayout &g, const Location &loc, const WalkBody &body);
  // The frame of every loop whose iterations are calls of a callback (map
  // walks, while/for through bpf_loop): `begin` starts the callback (its
  // context argument is number `ctx_arg`), `body` fills it after the stop
  // flag and budget are set up, `call` emits the helper call in the caller.
  // Afterwards the caller takes back the budget and does what the callback
  // stopped for (next, return, a caught error).
  using BeginCallback = std::function<llvm::Function *(const Location &)>;
  using CallCallback = std::function<void(llvm::Function *callback, llvm::Value *context)>;
  void callback_loop(const Location &loc, const BeginCallback &begin, unsigned ctx_arg,
                     const std::function<void()> &body, const CallCallback &call);
  // Inside a loop's callback: one iteration, the one shape while, for and
  // foreach share. `condition` (if set; an i1) false stops the loop; then
  // `body` with its budget check, where `break` stops the loop and the end of
  // the body and `continue` run `step` (if any) and go on with the next call.
  using LoopCondition = std::function<llvm::Value *()>;
  void iteration(const LoopCondition &condition, const ast::Stmt &body, const std::function<void()> &step);
  // Inside a loop's callback: returns 1 (no more iterations), nothing else to do.
  void stop_loop();
  // Inside a walk's callback: returns 1 (no more elements) after setting the
  // walk's stop flag to `why` (a WalkStop).
  void stop_walk(int64_t why);
  // Returns `result` from a walk's callback, handing back its budget.
  void leave_callback(int64_t result);
  // The i64 slot loops spend MAXACTION budget from in the function being built.
  llvm::Value *budget_slot();
  // i1: the element `key` equals `pattern` (pack_key's) in every field whose
  // subscript is not a wildcard.
  llvm::Value *key_matches(const GlobalLayout &g, llvm::Value *key, llvm::Value *pattern,
                           const std::vector<ast::ExprPtr> &keys);
  void stats_add(const ast::StatsAddStmt &s);
 public:
  llvm::Value *assign(const ast::AssignExpr &e);
  llvm::Value *inc_dec(const ast::IncDecExpr &e);

 private:
  llvm::Value *assign_string(const ast::AssignExpr &e);
  // `return` inside an inlined function: to the frame's exit; in a probe, `next`.
  void return_stmt(const ast::ReturnStmt &s);

  // One inlined call: the function's own locals (fresh stack slots, zeroed at
  // the call), where its result goes and the block after its body.
  struct InlineFrame {
    const ast::Function *function = nullptr;
    std::unordered_map<const ast::Local *, llvm::Value *> locals;
    llvm::Value *result = nullptr;  // i64 slot or string buffer
    llvm::BasicBlock *exit = nullptr;
  };
  std::vector<InlineFrame> frames_;

  // The innermost loop last: where `break` and `continue` go.
  struct LoopTargets {
    llvm::BasicBlock *break_to = nullptr;
    llvm::BasicBlock *continue_to = nullptr;
  };
  std::vector<LoopTargets> loops_;
  // String scratch slots (maps.h) held by the statements being lowered.
  uint32_t scratch_slots_used_ = 0;
  llvm::Function *program_fn_;                    // the program (fn_ may be a callback being built)
  llvm::AllocaInst *frame_base_slot_ = nullptr;   // set by the prologue finish_frame() adds
  // A hit that may print several records groups them (abi/record.h): the
  // group is set by the prologue, `printed` when a record was sent.
  bool grouped_ = false;
  bool filtered_elsewhere_ = false;
  llvm::AllocaInst *group_slot_ = nullptr;
  llvm::AllocaInst *printed_slot_ = nullptr;
  uint32_t frame_top_ = 0;                        // bytes of the frame in use (past the scratch slots)
  Location statement_loc_;                        // the statement being lowered, for frame errors
  // i64 slot: the actions (MAXACTION) this hit may still spend in loops.
  llvm::Value *actions_left_ = nullptr;
  llvm::Value *context_slot_ = nullptr;  // ptr slot holding the program's ctx

  // The walks whose callbacks are being built, the innermost last.
  struct Walk {
    llvm::Function *callback = nullptr;
    llvm::Value *ctx = nullptr;            // the callback's context argument
    llvm::Value *stop = nullptr;           // i64 slot in the caller: a WalkStop
    std::vector<llvm::Value *> captured;   // caller's values (slots and others) it reaches, in ctx order
    size_t frames_depth = 0;               // inlined calls open when the walk began
    llvm::Value *budget = nullptr;         // the callback's MAXACTION budget slot
    llvm::Value *shared_budget = nullptr;  // where callbacks pass it on (MapAccess::walk_budget)
    bool ends_program = false;             // the callback may stop with WalkStop::EndProgram
    bool returns = false;                  // ... or with WalkStop::Return
    bool catches = false;                  // ... or with WalkStop::Caught
  };
  std::vector<Walk> walks_;
  // Builds `body` as the callback `begin` starts (the builder in its entry
  // block, `walk` in walks_ with callback and ctx set; falling off the end
  // returns 0), then, back in the caller, returns the array of what the body
  // reached (the helper's callback context). `done` receives the walk.
  llvm::Value *lower_callback(const std::function<llvm::Function *()> &begin, unsigned ctx_arg, Walk walk,
                              const std::function<void()> &body, Walk &done);

  // The try blocks being lowered, the innermost last: where a run-time error
  // goes instead of ending the program.
  struct Handler {
    llvm::BasicBlock *catch_block = nullptr;
    const ast::Local *message = nullptr;  // `catch (msg)`: a string local
    size_t walks_depth = 0;               // walks open when the try began
  };
  std::vector<Handler> handlers_;

  CodegenState &state_;
  const ast::Probe &probe_;
  const ast::ResolvedProbe &resolved_;
  llvm::Function *fn_;
  std::vector<llvm::Value *> locals_;  // by Local::index, created on first use
};

}  // namespace ntap::bpf
