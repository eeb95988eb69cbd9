// The layout: where every global lives and how its keys and values are
// encoded. Both code generators and the runtime read this one description,
// so the BPF side and the user side can never disagree about a byte.
//
// Placement rules (docs/architecture.md, decision 3):
//   * globals no kernel probe touches live in ntap's own memory (Host);
//   * kernel scalars (long/string) share one mmap-able array map "globals";
//   * kernel arrays are hash maps keyed by the packed key tuple;
//   * statistics are per-CPU hash maps of StatsValue, merged when read;
//     a stats global with no keys uses one element keyed by 0;
//   * a stats global that kernel probes write (and never read) while user
//     probes read or delete it is double-buffered (decision 4): kernel code
//     writes buffer `generation & 1`; before a user probe touches it, the
//     runtime flips the generation, waits out in-flight BPF programs and
//     drains the idle buffer into a user-side shadow, so a delete after a
//     foreach can never lose an event.
#pragma once
#include <algorithm>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "frontend/ast.h"
#include "frontend/histogram.h"

namespace ntap {

// The per-CPU value of a statistic. count/sum are added atomically; min/max
// are per CPU so they need no atomics. A histogram's bucket counts follow it
// (GlobalLayout::histogram), one int64 per bucket.
struct StatsValue {
  int64_t count;
  int64_t sum;
  int64_t min;
  int64_t max;
  int64_t sum_sq;
  // @variance as stap computes it: Welford's algorithm per CPU on values
  // shifted left by the bit shift, in integers, combined over CPUs with the
  // total-variance formula (runtime/maps.h). The truncations are stap's, so
  // results match it exactly rather than the exact sample variance.
  int64_t avg_s;       // running mean << shift
  int64_t m2;          // sum of squared differences << 2*shift
  int64_t variance_s;  // m2 / (count - 1)
};

struct LayoutOptions {
  uint32_t max_map_entries = 2048;  // -D MAXMAPENTRIES
  uint32_t max_string_len = 128;    // -D MAXSTRINGLEN, rounded up to 8 (BPF buffers)
  // -D MAXSTRINGLEN as given: user-side strings hold at most this - 1 bytes.
  uint32_t string_limit = 128;
  // Statements one user probe hit may execute (stap's MAXACTION); begin,
  // end and error probes run with interrupts enabled in stap and get
  // MAXACTION_INTERRUPTIBLE (default 10 x MAXACTION) instead.
  uint32_t max_action = 1000;
  uint32_t max_action_interruptible = 10000;
  // How deep script function calls may nest in user probes (MAXNESTING;
  // 10 is stap's documented default).
  uint32_t max_nesting = 10;
  uint32_t ringbuf_size = 1 << 20;  // output records from kernel probes
  // Frames kept of a kernel stack (-D MAXBACKTRACE, stap's default 20) and
  // distinct stacks the stack map holds (-D MAXSTACKS).
  uint32_t max_backtrace = 20;
  uint32_t max_stacks = 4096;
  // Concrete probes (BPF programs) one script may resolve to (-D MAXPROBES).
  uint32_t max_probes = 10000;
  // Parsed -D NAME=VALUE options (the ones above are taken from here).
  static LayoutOptions from_defines(const std::map<std::string, std::string> &defines);
};

enum class Placement : uint8_t { Host, Kernel };

struct KeyField {
  ast::Type type;   // Long or String
  uint32_t offset;  // within the packed key
  uint32_t size;    // 8 for long, max_string_len for string
};

struct GlobalLayout {
  const ast::Global *global = nullptr;
  Placement placement = Placement::Host;
  bool is_map = false;  // arrays and stats; false for long/string scalars

  // Kernel scalars: byte range inside the shared "globals" array map value.
  uint32_t scalar_offset = 0;
  uint32_t scalar_size = 0;

  // Maps (kernel placement): BPF map name per buffer, e.g. "g_locations" or
  // "g_locations_0"/"g_locations_1" when double-buffered.
  std::vector<std::string> map_names;
  bool per_cpu = false;       // stats
  bool double_buffered = false;
  uint32_t generation_offset = 0;  // in "globals": u64 generation (double-buffered)
  std::vector<KeyField> key_fields;
  uint32_t key_size = 0;      // packed; 8 (a zero) for a stats scalar
  uint32_t value_size = 0;    // 8 long, max_string_len string, sizeof(StatsValue)
  uint32_t max_entries = 0;
  // In "globals": u64 count of inserts that failed because the map was full.
  uint32_t overflow_offset = 0;
  // Statistics: the histogram (its buckets start at sizeof(StatsValue) in
  // the value) and whether/how @variance is tracked.
  HistogramSpec histogram;
  bool tracks_variance = false;
  int64_t variance_shift = 0;
};

struct Layout {
  LayoutOptions options;
  std::vector<GlobalLayout> globals;  // indexed by ast::Global::id
  // The shared "globals" array map (one element of globals_size bytes).
  uint32_t globals_size = 0;
  // Status words in "globals" written by kernel probes, read by the runtime:
  uint32_t ringbuf_lost_offset = 0;   // u64: output records dropped (ring buffer full)
  uint32_t exit_request_offset = 0;   // u64: set by exit() in a kernel probe
  uint32_t realtime_offset_offset = 0;  // u64: CLOCK_REALTIME - CLOCK_BOOTTIME, set at start
  uint32_t target_pid_offset = 0;       // u64: target() (-x PID / -c CMD), set before attach
  uint32_t nesting_skipped_offset = 0;  // u64: kernel probe hits skipped, nested too deep on a CPU
  uint32_t stacks_lost_offset = 0;      // u64: kernel stacks bpf_get_stackid could not store
  // u64: keys left in kRunningAtStartMap; 0 lets programs skip the map.
  uint32_t running_at_start_offset = 0;

  // Kernel probes keep their string buffers, string-keyed map keys and
  // strings being built in a per-CPU "frame" instead of the 512-byte BPF
  // stack: one frame per nesting level, since a program can be interrupted
  // on its CPU by another (softirq, hardirq, NMI) that needs a frame of its
  // own. A hit finding every level taken is counted, never run over a frame
  // in use (codegen/bpf/frame.cpp).
  static constexpr uint32_t kNestingLevels = 4;
  // The start of a frame holds the scratch slots for strings being built in
  // one statement, each twice max_string_len so a copy of up to
  // max_string_len bytes may start anywhere in its first half (what the
  // verifier needs to see): 8 of them, fewer for very long strings so that
  // half of the frame is left for the rest, which is allocated per program.
  uint32_t scratch_slots() const {
    return std::clamp<uint32_t>(16384 / (2 * options.max_string_len), 2, 8);
  }
  uint32_t scratch_bytes() const { return scratch_slots() * 2 * options.max_string_len; }
  // A per-CPU map element holds at most 32 KiB.
  uint32_t frame_bytes() const;
  static constexpr const char *kFramesMap = "frames";
  static constexpr const char *kNestingMap = "nesting";
  static constexpr const char *kGlobalsMap = "globals";
  static constexpr const char *kEventsMap = "events";  // BPF ring buffer
  // Kernel stacks by id (BPF_MAP_TYPE_STACK_TRACE, MAXBACKTRACE u64 each):
  // probes send the id, user space reads the addresses and symbolizes them.
  static constexpr const char *kStacksMap = "stacks";
  // Frames a stack keeps beyond MAXBACKTRACE: a tracepoint's stack starts
  // with the BPF program and the functions running it, which user space
  // drops (kernel/stacks.h) before keeping MAXBACKTRACE frames.
  static constexpr uint32_t kStackMachineryFrames = 6;
  // (The kernel's perf callchains stop at kernel.perf_event_max_stack, 127.)
  uint32_t stack_frames() const { return std::min<uint32_t>(options.max_backtrace + kStackMachineryFrames, 127); }
  // User stacks of process probes (ubacktrace): a stack trace map.
  static constexpr const char *kUserStacksMap = "ustacks";
  static constexpr uint32_t kUserStackDepth = 127;  // PERF_MAX_STACK_DEPTH
  static constexpr uint32_t kUserStacks = 1024;
  // Processes running at start that a process.begin has not seen begin yet
  // (ResolvedProbe::begins_running_process): u64 keys, probe id << 32 | pid.
  static constexpr const char *kRunningAtStartMap = "running_at_start";
  static constexpr uint32_t kRunningAtStart = 65536;
  static uint64_t running_at_start_key(uint32_t probe_id, uint32_t pid) { return uint64_t{probe_id} << 32 | pid; }

  // perf counters (Program::perf_counters): counter K is read from the perf
  // event array perf_counter_map(K), one counting event per CPU, which the
  // runtime opens and stores at the CPU's index.
  std::vector<std::string> perf_counters;
  static std::string perf_counter_map(size_t k) { return "perf_counter_" + std::to_string(k); }
  // Each tracked thread's counts (task storage: the kernel frees a value
  // with its task): a started word, then per counter the CPU's count when
  // the thread was switched in and its total before (codegen/bpf/perf_counters_bpf.cpp).
  static constexpr const char *kPerfTasksMap = "perf_tasks";
  uint32_t perf_task_value_size() const { return static_cast<uint32_t>(8 * (1 + 2 * perf_counters.size())); }

  static Layout build(const ast::Program &program, const LayoutOptions &options);
  const GlobalLayout &of(const ast::Global &g) const { return globals.at(g.id); }
};

}  // namespace ntap
