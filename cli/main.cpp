// ntap: run a SystemTap-language script with BPF.
//
// The driver is the five passes of stap(1), in order:
//   1 parse  2 elaborate (frontend passes)  3 translate (IR)  4 compile (BPF object)  5 run
// -pN stops after pass N; -v reports how long each took.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <limits>
#include <map>

#include "cli/listing.h"
#include "cli/object_file.h"
#include "codegen/bpf/bpf_codegen.h"
#include "codegen/host/host_codegen.h"
#include "abi/layout.h"
#include "frontend/parser.h"
#include "passes/passes.h"
#include "frontend/printer.h"
#include "frontend/tapset.h"
#include "kernel/kernel_info.h"
#include "runtime/session.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string script_path;
  std::string script_text;  // -e
  std::vector<std::string> script_args;
  std::string output_path;
  std::string format = "text";  // --format: text or json (docs/output.md)
  std::string metrics;          // --metrics [ADDR:]PORT
  double timeout = 0;
  int verbose = 0;
  int last_pass = 5;
  std::string list_pattern;
  std::string list_vars_pattern;
  std::vector<std::string> defines;
  bool no_warnings = false;
  bool all_modules = false;
  std::vector<std::string> symbol_modules;
  std::vector<std::string> tapset_dirs;  // -I
  bool keep_unused = false;              // -u
  std::string target_command;            // -c CMD
  int64_t target_pid = 0;                // -x PID
};

class PhaseTimer {
 public:
  explicit PhaseTimer(bool on) : on_(on), start_(Clock::now()) {}
  double lap_ms() {
    auto now = Clock::now();
    double ms = std::chrono::duration<double, std::milli>(now - start_).count();
    start_ = now;
    return ms;
  }
  void report(const std::string &line) {
    double ms = lap_ms();
    if (on_) fmt::print(stderr, "{} in {:.2f} ms.\n", line, ms);
  }

 private:
  bool on_;
  Clock::time_point start_;
};

std::map<std::string, std::string> parse_defines(const std::vector<std::string> &defines) {
  std::map<std::string, std::string> out;
  for (const auto &d : defines) {
    auto eq = d.find('=');
    if (eq == std::string::npos || eq == 0) throw std::invalid_argument(fmt::format("-D {}: expected NAME=VALUE", d));
    out[d.substr(0, eq)] = d.substr(eq + 1);
  }
  return out;
}

// `sources` outlives run() so that a CompileError caught by the caller can
// still show the source line it points into.
int run(const Options &opt, ntap::SourceManager &sources) {
  using namespace ntap;
  set_warnings_enabled(!opt.no_warnings);
  // Everything this run asks of the kernel, read on first use; it outlives
  // the program, whose resolved probes point at its providers.
  const KernelInfo kernel(KernelInfo::host_paths());
  if (!opt.list_pattern.empty() || !opt.list_vars_pattern.empty()) {
    const bool with_context = opt.list_pattern.empty();
    return list_probe_points(kernel, with_context ? opt.list_vars_pattern : opt.list_pattern, with_context,
                             tapset_directories(NTAP_TAPSET_DIR, NTAP_SOURCE_TAPSET_DIR, opt.tapset_dirs));
  }

  LayoutOptions layout_options = LayoutOptions::from_defines(parse_defines(opt.defines));
  PhaseTimer timer(opt.verbose > 0);
  const SourceFile &file =
      opt.script_text.empty() ? sources.load(opt.script_path) : sources.add("<input>", opt.script_text);
  PreprocessTarget target = PreprocessTarget::running_system();
  target.config = [&kernel]() -> const KernelConfig & { return kernel.config(); };
  ParseOptions parse_options;
  parse_options.preprocessor.script_args = opt.script_args;
  parse_options.preprocessor.target = &target;
  std::unique_ptr<ast::Program> program = parse_script(file, parse_options);
  load_tapsets(*program, sources, tapset_directories(NTAP_TAPSET_DIR, NTAP_SOURCE_TAPSET_DIR, opt.tapset_dirs),
               &target);
  timer.report(fmt::format("Pass 1: parsed user script ({} probes, {} globals)", program->probes.size(),
                           program->globals.size()));
  if (opt.last_pass == 1) {
    print_program(*program, std::cout);
    return 0;
  }

  FrontendOptions fe_options;
  fe_options.warnings = !opt.no_warnings;
  fe_options.keep_unused = opt.keep_unused;
  fe_options.string_limit = layout_options.string_limit;
  PassContext ctx{*program, fe_options, kernel};
  run_frontend_passes(ctx, [&](const char *name, double us) {
    if (opt.verbose > 1) fmt::print(stderr, "  {}: {:.2f} ms\n", name, us / 1000);
  });
  timer.report("Pass 2: elaborated the script");
  if (opt.last_pass == 2) {
    print_elaborated(*program, std::cout);
    return 0;
  }

  // The kernel's BTF (~6 MB, mapped) has served elaboration (probe arguments,
  // @cast). Code generation and loading need only what outlives it: the
  // tracepoint index (tp_btf attach ids) and the drop reason names. Releasing
  // it here keeps it out of the peak memory while LLVM compiles.
  kernel.release_btf();

  Layout layout = Layout::build(*program, layout_options);
  // For -p4 and a run, the user probes compile on a second thread while the
  // kernel probes are generated on this one (docs/architecture.md, decision 7): each has
  // its own LLVMContext and both only read the elaborated program and the
  // layout. Only the targets' registration is shared, so it happens here first.
  std::future<std::unique_ptr<HostProgram>> host_in_parallel;
  double host_ms = 0;
  if (opt.last_pass >= 4) {
    prepare_kernel_codegen();
    prepare_user_codegen();
    host_in_parallel = std::async(std::launch::async, [&program, &layout, &host_ms] {
      PhaseTimer host_timer(true);
      auto compiled = compile_user_probes(*program, layout, HostCodegenOptions{});
      host_ms = host_timer.lap_ms();
      return compiled;
    });
  }
  BpfCodegenOptions bpf_options;
  bpf_options.keep_ir = opt.last_pass == 3;
  BpfObject bpf = compile_kernel_probes(*program, layout, bpf_options);
  timer.report(fmt::format("Pass 3/4: generated the BPF object ({} programs, {} bytes in {} units)",
                           bpf.programs.size(), bpf.elf_bytes(), bpf.units.size()));
  std::unique_ptr<HostProgram> host;
  if (host_in_parallel.valid()) {
    host = host_in_parallel.get();  // rethrows its CompileError
    timer.report(fmt::format("Pass 3/4: compiled the user probes beside it ({:.2f} ms), then waited", host_ms));
  } else {
    HostCodegenOptions host_options;
    host_options.keep_ir = opt.last_pass == 3;
    host = compile_user_probes(*program, layout, host_options);
    timer.report("Pass 3/4: compiled the user probes");
  }
  if (opt.last_pass == 3) {
    std::cout << bpf.ir << host->ir();
    return 0;
  }
  if (opt.last_pass == 4) {
    // Both sides compiled; the kernel side is what can be written out.
    std::string path = opt.output_path.empty() ? "ntap.bpf.o" : opt.output_path;
    write_bpf_object(bpf, path);
    std::cout << path << "\n";
    return 0;
  }

  RunOptions run_options;
  run_options.output_path = opt.output_path;
  run_options.json_output = opt.format == "json";
  run_options.metrics_address = opt.metrics;
  run_options.timeout_seconds = opt.timeout;
  run_options.verbose = opt.verbose > 0;
  run_options.target_command = opt.target_command;
  run_options.target_pid = opt.target_pid;
  return run_session(*program, layout, bpf, *host, kernel, run_options);
}

}  // namespace

int main(int argc, char **argv) {
  Options opt;
  CLI::App app{"ntap: SystemTap-language tracing on BPF, without kernel modules", "ntap"};
  app.add_option("script", opt.script_path, "script file (.ntp or .stp)");
  app.add_option("args", opt.script_args, "arguments for the script ($1, @1...)");
  app.add_option("-e", opt.script_text, "run the given script text");
  app.add_option("-o", opt.output_path, "send output to FILE (with -p4: where the BPF object goes)");
  app.add_option("-f,--format", opt.format, "output format: text (as stap prints) or json (one object per line)")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--metrics", opt.metrics,
                 "serve the globals at http://ADDR:PORT/metrics (Prometheus text format); PORT alone binds "
                 "127.0.0.1")
      ->allow_extra_args(false);
  app.add_option("-T", opt.timeout, "stop after SECONDS")->check(CLI::PositiveNumber);
  app.add_flag("-v", opt.verbose, "report what each pass did and how long it took (repeat for more)");
  app.add_option("-p", opt.last_pass, "stop after pass N (1 parse, 2 elaborate, 3 translate, 4 compile, 5 run)")
      ->check(CLI::Range(1, 5));
  app.add_option("-l", opt.list_pattern, "list the probe points matching PATTERN");
  app.add_option("-L", opt.list_vars_pattern, "list matching probe points with their context variables");
  app.add_option("-D", opt.defines, "NAME=VALUE limits (MAXMAPENTRIES, MAXSTRINGLEN, MAXACTION, MAXACTION_INTERRUPTIBLE, MAXNESTING)")->allow_extra_args(false);
  app.add_flag("-w", opt.no_warnings, "suppress warnings");
  app.add_option("-I", opt.tapset_dirs, "also load the tapset scripts (*.ntp) in DIR")->allow_extra_args(false);
  app.add_flag("-u", opt.keep_unused, "keep and check functions no probe calls");
  auto *command_option =
      app.add_option("-c", opt.target_command, "start the probes, run CMD (via /bin/sh -c), and exit when it finishes")
          ->allow_extra_args(false);
  app.add_option("-x", opt.target_pid, "set target() to PID")
      ->check(CLI::Range(int64_t{1}, int64_t{std::numeric_limits<pid_t>::max()}))
      ->allow_extra_args(false)
      ->excludes(command_option);
  app.add_flag("--all-modules", opt.all_modules,
               "symbolize addresses in every loaded module (always on: kallsyms covers modules)");
  app.add_option("-d", opt.symbol_modules, "symbolize addresses in MODULE (always on, as --all-modules)");
  app.positionals_at_end(false);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  bool listing = !opt.list_pattern.empty() || !opt.list_vars_pattern.empty();
  if (opt.script_text.empty() && opt.script_path.empty() && !listing) {
    std::cerr << "ntap: no script given (a file, or -e 'SCRIPT'); see ntap --help\n";
    return 1;
  }
  if (!opt.script_text.empty() && !opt.script_path.empty()) {
    // With -e the first positional is the script's first argument.
    opt.script_args.insert(opt.script_args.begin(), opt.script_path);
    opt.script_path.clear();
  }
  ntap::SourceManager sources;
  try {
    return run(opt, sources);
  } catch (const ntap::CompileError &e) {
    std::cerr << e.format();
    return 1;
  } catch (const std::exception &e) {
    std::cerr << "ERROR: " << e.what() << "\n";
    return 1;
  }
}
