#include "frontend/perf_counters.h"

#include <filesystem>
#include <map>
#include <optional>

#include "frontend/parser.h"
#include "frontend/preprocess_lexer.h"
#include "frontend/walk.h"

namespace ntap {
namespace {

using namespace ast;

constexpr const char *kOperator = "operator '@perf'";

// Which processes a counter counts: the one a path names, the -c command's
// (`.process` without a path), or, before a probe reads it, not said yet
// (a counter without .process counts the process whose probe reads it).
struct ProcessSpec {
  enum class Kind { Unsaid, Target, Path } kind = Kind::Unsaid;
  std::string path;

  bool same_as(const ProcessSpec &other) const {
    if (kind != other.kind) return false;
    if (kind != Kind::Path || path == other.path) return true;
    std::error_code error;
    return std::filesystem::equivalent(path, other.path, error);
  }
  std::string text() const { return kind == Kind::Path ? "process(\"" + path + "\")" : "process (-c COMMAND)"; }
  // The probe that starts tracking the process's threads (`process.begin`
  // without a path is every process: the -c command is the target's).
  std::string begin_probe() const {
    if (kind == Kind::Path)
      return "probe process(" + pp::quoted_string_literal(path) + ").begin { __perf_counter_track() }\n";
    return "probe process.begin { if (pid() == target()) __perf_counter_track() }\n";
  }
};

struct Counter {
  std::string name;
  Location loc;
  ProcessSpec process;
  bool read = false;
};

// The counter a perf probe point defines, if it names one.
std::optional<Counter> counter_of(const ProbePoint &point) {
  const auto &c = point.components;
  if (c.empty() || c[0].name != "perf") return std::nullopt;
  Counter counter;
  bool named = false;
  for (const ProbePointComponent &part : c) {
    if (part.name == "counter" && part.string_arg && !named) {
      counter.name = *part.string_arg;
      named = true;
    } else if (part.name == "process") {
      counter.process.kind = part.string_arg ? ProcessSpec::Kind::Path : ProcessSpec::Kind::Target;
      counter.process.path = part.string_arg.value_or("");
    }
  }
  if (!named) return std::nullopt;
  counter.loc = point.loc;
  return counter;
}

// The process whose code a probe point is in, for a point @perf may be read
// at (process("PATH")/process.function, .statement, .mark, each also in a
// .library("LIB"), which runs in the process); nullopt for others.
std::optional<ProcessSpec> reader_process(const ProbePoint &point) {
  const auto &c = point.components;
  if (c.size() < 2 || c[0].name != "process" || c[0].number_arg) return std::nullopt;
  const size_t kind = c[1].name == "library" ? 2 : 1;
  if (c.size() <= kind) return std::nullopt;
  if (c[kind].name != "function" && c[kind].name != "statement" && c[kind].name != "mark") return std::nullopt;
  ProcessSpec spec;
  spec.kind = c[0].string_arg ? ProcessSpec::Kind::Path : ProcessSpec::Kind::Target;
  spec.path = c[0].string_arg.value_or("");
  return spec;
}

bool is_perf_read(const Expr &e) { return e.kind == ExprKind::Call && cast<CallExpr>(e).name == "@perf"; }

// The accounting probes (see the header; the work is in the builtins,
// codegen/bpf/perf_counters_bpf.cpp): the scheduler moves counts between
// tracked threads, a tracked thread's new threads and children are tracked,
// and each counted program's processes are tracked from their start.
std::string accounting_text(const std::vector<Counter> &counters) {
  std::string text =
      "probe kernel.trace(\"sched:sched_switch\") { __perf_counter_switch($prev, $next) }\n"
      "probe kernel.trace(\"sched:sched_process_fork\") { __perf_counter_fork($child) }\n";
  std::vector<const ProcessSpec *> begun;
  for (const Counter &counter : counters) {
    bool seen = false;
    for (const ProcessSpec *spec : begun) seen = seen || spec->same_as(counter.process);
    if (seen || !counter.read) continue;
    begun.push_back(&counter.process);
    text += counter.process.begin_probe();
  }
  return text;
}

}  // namespace

void add_perf_counters(Program &program, SourceManager &sources) {
  std::vector<Counter> counters;
  auto find = [&](const std::string &name) -> Counter * {
    for (Counter &counter : counters)
      if (counter.name == name) return &counter;
    return nullptr;
  };
  for (const auto &probe : program.probes)
    for (const ProbePoint &point : probe->points)
      if (std::optional<Counter> counter = counter_of(point)) {
        if (find(counter->name))
          throw CompileError(ErrorKind::Semantic, "duplicate perf counter name '" + counter->name + "'", point.loc);
        counters.push_back(std::move(*counter));
        // stap splices a `next` before the body: the event is counted, not sampled.
        if (!probe->body->stmts.empty())
          warn(probe->body->loc, "the body of a perf counter probe never runs; @perf(\"" + counters.back().name +
                                     "\") reads the counter");
      }

  bool reads = false;
  for (const auto &function : program.functions)
    walk_exprs(*function->body, [&](ExprPtr &slot) {
      if (is_perf_read(*slot))
        throw CompileError(ErrorKind::Semantic, "@perf is only valid in the probes of a process's code", slot->loc,
                           kOperator);
    });
  for (const auto &probe : program.probes)
    walk_exprs(*probe->body, [&](ExprPtr &slot) {
      if (!is_perf_read(*slot)) return;
      const auto &name = cast<StringExpr>(*cast<CallExpr>(*slot).args.at(0)).value;
      Counter *counter = find(name);
      if (!counter)
        throw CompileError(ErrorKind::Semantic,
                           "perf counter '" + name + "' not defined (by a perf.*.counter(\"" + name + "\") probe)",
                           slot->loc, kOperator);
      for (const ProbePoint &point : probe->points) {
        std::optional<ProcessSpec> process = reader_process(point);
        if (!process)
          throw CompileError(ErrorKind::Semantic,
                             "@perf is only valid in the probes of a process's code (process(\"PATH\").function, "
                             ".statement or .mark), not in " + point.str(),
                             slot->loc, kOperator);
        if (counter->process.kind == ProcessSpec::Kind::Unsaid) counter->process = *process;
        if (!counter->process.same_as(*process))
          throw CompileError(ErrorKind::Semantic,
                             "perf counter '" + name + "' counts " + counter->process.text() + ", not " +
                                 process->text() + " that " + point.str() + " probes",
                             slot->loc, kOperator);
      }
      counter->read = reads = true;
      auto call = std::make_unique<CallExpr>(slot->loc, "__perf_counter_value");
      call->args.push_back(std::make_unique<NumberExpr>(slot->loc, counter - counters.data()));
      slot = std::move(call);
    });
  if (!reads) return;

  for (const Counter &counter : counters) program.perf_counters.push_back(counter.name);
  std::unique_ptr<Program> generated =
      parse_script(sources.add("<perf counters>", accounting_text(counters)), ParseOptions{});
  for (auto &probe : generated->probes) {
    probe->id = static_cast<uint32_t>(program.probes.size());
    program.probes.push_back(std::move(probe));
  }
}

}  // namespace ntap
