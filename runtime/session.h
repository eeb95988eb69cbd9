// One run of a compiled script: load and attach the kernel probes, run the
// user probes (begin, timers, end) around an event loop that formats kernel
// output records, and release everything however the run ends.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "abi/bpf_object.h"
#include "abi/host_program.h"
#include "abi/layout.h"
#include "frontend/ast.h"
#include "abi/runtime_api.h"
#include "kernel/kernel_info.h"
#include "runtime/arena.h"
#include "runtime/builtin_state.h"
#include "runtime/output.h"
#include "abi/printf.h"
#include "runtime/store.h"

namespace ntap {

struct RunOptions {
  std::string output_path;  // empty: stdout
  bool json_output = false;  // --format json (docs/output.md)
  std::string metrics_address;  // --metrics [ADDR:]PORT; empty: no metrics server
  double timeout_seconds = 0;  // -T; 0 = none
  bool verbose = false;        // -v: phase lines on stderr
  std::string target_command;  // -c CMD: started held, released after begin, the run ends with it
  int64_t target_pid = 0;      // -x PID: what target() returns (the run does not depend on it)
  std::string module_name;     // -m NAME: procfs files are served in /run/ntap/NAME (default ntap_PID)
};

// Loads, attaches, runs begin probes, the event loop, end probes; releases
// everything. `kernel` is the kernel the program was elaborated for: its
// providers attach the probes, its BTF gives the tp_btf attach ids, its
// symbols and drop reasons render addresses and reasons. Returns the process
// exit status (0 on success, also after Ctrl-C/SIGTERM/exit(); 1 on error).
int run_session(const ast::Program &program, const Layout &layout, const BpfObject &bpf, const HostProgram &host,
                const KernelInfo &kernel, const RunOptions &options);

}  // namespace ntap

// What a JIT-compiled probe's `ntap_rt *` points at: the run's storage,
// output and per-run scratch state. One per session; probes run one at a time.
struct ntap_rt {
  ntap::Store *store = nullptr;
  ntap::Output *output = nullptr;
  const std::vector<ntap::Format> *formats = nullptr;  // by ast::Program::formats index
  ntap::StringArena arena;  // strings handed to probe code, reset after each handler
  std::string scratch;      // formatting buffer reused across printf calls

  bool failed = false;      // set by ntap_fail_at; the session reports it
  uint32_t failed_site = 0;  // HostProgram::sites() index
  // error(msg) with a computed message: reported instead of the site's text.
  bool failed_with_message = false;
  std::string failed_message;
  // pp(): the probe point of the running handler (ResolvedProbe::point).
  const char *probe_point = "";
  const char *probe_name = "";  // pn()
  bool exit_requested = false;  // exit(): stop after the current probe
  // Statements the running handler may still execute (stap's MAXACTION);
  // generated code decrements it and fails at 0. The session sets it before
  // each handler; this default is stap's MAXACTION_INTERRUPTIBLE.
  int64_t actions_remaining = 10000;
  // Script function calls in progress (MAXNESTING); back to 0 after each call.
  int64_t nesting_depth = 0;
  ntap::BuiltinState builtins;  // state some builtins keep across calls (tokenize)
  // symname(), symdata(), drop_reason_name(): the run's kernel.
  const ntap::KernelInfo *kernel = nullptr;

  // The most bytes a string value may hold: MAXSTRINGLEN - 1, as stap's
  // fixed-size string buffers. Concatenation, sprintf, stored values and
  // keys, and library results are cut to it.
  size_t max_string_bytes() const { return (store ? store->layout().options.string_limit : 128) - 1; }
  std::string_view cut_string(std::string_view s) const { return s.substr(0, std::min(s.size(), max_string_bytes())); }

  // Around each probe handler run: double-buffered globals are drained once
  // per run, and strings handed out during the run are released after it.
  void begin_handler() {
    if (store) store->begin_probe_run();
  }
  void end_handler() { arena.reset(); }
};
