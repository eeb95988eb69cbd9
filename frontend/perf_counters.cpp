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
      return "probe process(" + pp::quoted_string_literal(path) + ").begin { __perf_counter_track(tid()) }\n";
    return "probe process.begin { if (pid() == target()) __perf_counter_track(tid()) }\n";
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
// at (process("PATH")/process.function, .statement, .mark); nullopt for others.
std::optional<ProcessSpec> reader_process(const ProbePoint &point) {
  const auto &c = point.components;
  if (c.size() < 2 || c[0].name != "process" || c[0].number_arg) return std::nullopt;
  if (c[1].name != "function" && c[1].name != "statement" && c[1].name != "mark") return std::nullopt;
  ProcessSpec spec;
  spec.kind = c[0].string_arg ? ProcessSpec::Kind::Path : ProcessSpec::Kind::Target;
  spec.path = c[0].string_arg.value_or("");
  return spec;
}

bool is_perf_read(const Expr &e) { return e.kind == ExprKind::Call && cast<CallExpr>(e).name == "@perf"; }

std::string value_function(size_t k) { return "__perf_counter_value_" + std::to_string(k); }

// The accounting code for `counters` (see the header): a tracked thread's
// total and the CPU's count when it was last switched in, per counter.
std::string accounting_text(const std::vector<Counter> &counters) {
  auto for_each_counter = [&](const std::string &indent, const std::string &line) {
    std::string text;
    for (size_t k = 0; k < counters.size(); ++k) {
      std::string stmt = line;
      for (size_t at; (at = stmt.find('K')) != std::string::npos;) stmt.replace(at, 1, std::to_string(k));
      text += indent + stmt + "\n";
    }
    return text;
  };
  std::string text =
      "private global __perf_counter_tasks, __perf_counter_start, __perf_counter_total\n"
      "function __perf_counter_track(t) {\n"
      "  __perf_counter_tasks[t] = 1\n" +
      for_each_counter("  ", "__perf_counter_start[t, K] = __perf_counter_read(K); __perf_counter_total[t, K] = 0") +
      "}\n"
      "probe kernel.trace(\"sched:sched_switch\") {\n"
      "  if ($prev->pid in __perf_counter_tasks) {\n" +
      for_each_counter("    ", "__perf_counter_total[$prev->pid, K] += __perf_counter_read(K) - "
                             "__perf_counter_start[$prev->pid, K]") +
      "  }\n"
      "  if ($next->pid in __perf_counter_tasks) {\n" +
      for_each_counter("    ", "__perf_counter_start[$next->pid, K] = __perf_counter_read(K)") +
      "  }\n"
      "}\n"
      "probe kernel.trace(\"sched:sched_process_fork\") {\n"
      "  if (tid() in __perf_counter_tasks) __perf_counter_track($child->pid)\n"
      "}\n"
      "probe kernel.trace(\"sched:sched_process_exit\") {\n"
      "  if (tid() in __perf_counter_tasks) {\n"
      "    delete __perf_counter_tasks[tid()]\n" +
      for_each_counter("    ", "delete __perf_counter_start[tid(), K]; delete __perf_counter_total[tid(), K]") +
      "  }\n"
      "}\n";
  std::vector<const ProcessSpec *> begun;
  for (const Counter &counter : counters) {
    bool seen = false;
    for (const ProcessSpec *spec : begun) seen = seen || spec->same_as(counter.process);
    if (seen || !counter.read) continue;
    begun.push_back(&counter.process);
    text += counter.process.begin_probe();
  }
  for (size_t k = 0; k < counters.size(); ++k)
    text += "function " + value_function(k) +
            "() {\n"
            "  if (!(tid() in __perf_counter_tasks)) __perf_counter_track(tid())\n"
            "  return __perf_counter_total[tid(), " +
            std::to_string(k) + "] + __perf_counter_read(" + std::to_string(k) + ") - __perf_counter_start[tid(), " +
            std::to_string(k) + "]\n}\n";
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
      auto call = std::make_unique<CallExpr>(slot->loc, value_function(static_cast<size_t>(counter - counters.data())));
      slot = std::move(call);
    });
  if (!reads) return;

  for (const Counter &counter : counters) program.perf_counters.push_back(counter.name);
  std::unique_ptr<Program> generated =
      parse_script(sources.add("<perf counters>", accounting_text(counters)), ParseOptions{});
  for (auto &g : generated->globals) {
    g->from_tapset = true;
    g->id = static_cast<uint32_t>(program.globals.size());
    program.globals.push_back(std::move(g));
  }
  for (auto &f : generated->functions) {
    f->from_tapset = true;
    program.functions.push_back(std::move(f));
  }
  for (auto &probe : generated->probes) {
    probe->id = static_cast<uint32_t>(program.probes.size());
    program.probes.push_back(std::move(probe));
  }
}

}  // namespace ntap
