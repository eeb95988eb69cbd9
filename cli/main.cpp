// ntap: run a SystemTap-language script with BPF.
//
// The driver is the five passes of stap(1), in order:
//   1 parse  2 elaborate (frontend passes)  3 translate (IR)  4 compile (BPF object)  5 run
// -pN stops after pass N; -v reports how long each took.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <limits>
#include <map>
#include <regex>

#include "cli/listing.h"
#include "cli/object_file.h"
#include "cli/pipeline.h"
#include "codegen/bpf/bpf_codegen.h"
#include "codegen/host/host_codegen.h"
#include "abi/layout.h"
#include "passes/passes.h"
#include "frontend/printer.h"
#include "frontend/tapset.h"
#include "kernel/kernel_info.h"
#include "kernel/module_elf.h"
#include "kernel/providers/provider.h"
#include "kernel/symbols.h"
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
  std::vector<std::string> symbol_modules;  // -d MODULE or -d FILE
  std::string vmlinux;                      // --vmlinux FILE
  std::vector<std::string> tapset_dirs;  // -I
  bool keep_unused = false;              // -u
  bool skip_badvars = false;             // --skip-badvars
  std::string target_command;            // -c CMD
  int64_t target_pid = 0;                // -x PID
  std::string module_name;               // -m NAME
  bool warnings_as_errors = false;       // -W
  std::vector<std::string> global_values;  // -G NAME=VALUE
  std::string compatible;                // --compatible VERSION
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

// -G NAME=VALUE: the script's global NAME starts as VALUE (a number when it
// reads as one, else a string), as if declared `global NAME = VALUE`.
void set_global_values(ntap::ast::Program &program, const std::vector<std::string> &values,
                       const ntap::SourceFile &file) {
  using namespace ntap;
  for (const std::string &setting : values) {
    const size_t eq = setting.find('=');
    if (eq == std::string::npos || eq == 0)
      throw std::invalid_argument(fmt::format("-G {}: expected NAME=VALUE", setting));
    const std::string name = setting.substr(0, eq), value = setting.substr(eq + 1);
    ast::Global *global = nullptr;
    for (const auto &g : program.globals)
      if (g->name == name && !g->from_tapset) global = g.get();
    if (!global)
      throw CompileError(ErrorKind::Semantic, fmt::format("-G {}: the script declares no global '{}'", setting, name),
                         Location{&file, 1, 1});
    errno = 0;
    char *end = nullptr;
    const long long number = std::strtoll(value.c_str(), &end, 0);
    if (!value.empty() && *end == '\0' && errno == 0)
      global->init = std::make_unique<ast::NumberExpr>(global->decl, number);
    else
      global->init = std::make_unique<ast::StringExpr>(global->decl, value);
  }
}

// A probe the running kernel cannot attach (kernel.function where neither
// fentry nor kprobes work) compiles, so -p4 can write its object; running it
// is refused here, before anything is generated or loaded.
void refuse_unavailable_probes(const ntap::ast::Program &program) {
  for (const auto &probe : program.probes)
    for (const ntap::ast::ResolvedProbe &rp : probe->resolved)
      if (std::string why = rp.provider->unavailable_reason(rp); !why.empty()) {
        ntap::Location where = probe->points.size() == 1 ? probe->points.front().loc : probe->loc;
        throw ntap::CompileError(ntap::ErrorKind::Probe, why, where, fmt::format("probe point '{}'", rp.point));
      }
}

// The vmlinux source lines come from: --vmlinux, else the last -d naming a
// file that is not a module; empty for the usual places.
std::string debug_vmlinux(const Options &opt) {
  std::string vmlinux = opt.vmlinux;
  if (vmlinux.empty())
    for (const std::string &d : opt.symbol_modules)
      if (::access(d.c_str(), R_OK) == 0 && !ntap::is_relocatable_elf(d)) vmlinux = d;
  return vmlinux;
}

// --vmlinux, -d and --all-modules: where symbol sizes and source lines come
// from. A -d naming no file and no installed module is an error; modules that
// cannot be read under --all-modules keep their kallsyms sizes, with a warning.
bool use_symbol_sources(const Options &opt, const ntap::KernelInfo &kernel) {
  using namespace ntap;
  KernelSymbols &symbols = kernel.symbols();
  for (const std::string &d : opt.symbol_modules) {
    if (::access(d.c_str(), R_OK) == 0) {
      if (is_relocatable_elf(d)) symbols.use_module_elf(module_name_of(d), d);
      continue;  // a vmlinux: debug_vmlinux() chose it
    }
    if (d == "kernel") continue;  // the kernel's own symbols are always there
    std::string error;
    if (find_module_elf(d, error).empty()) {
      fmt::print(stderr, "ntap: -d {}: {}\n", d, error);
      return false;
    }
    symbols.use_module_elf(d);
  }
  if (opt.all_modules) symbols.use_all_module_elfs();
  if ((opt.all_modules || !opt.symbol_modules.empty()) && !opt.no_warnings)
    for (const std::string &error : symbols.module_errors()) fmt::print(stderr, "WARNING: module symbols: {}\n", error);
  return true;
}

// `sources` outlives run() so that a CompileError caught by the caller can
// still show the source line it points into.
int run(const Options &opt, ntap::SourceManager &sources) {
  using namespace ntap;
  set_warnings_enabled(!opt.no_warnings);
  set_warnings_as_errors(opt.warnings_as_errors);
  // Everything this run asks of the kernel, read on first use; it outlives
  // the program, whose resolved probes point at its providers.
  KernelPaths paths = KernelInfo::host_paths();
  paths.vmlinux = debug_vmlinux(opt);
  KernelInfo kernel(std::move(paths));
  // process.function("f") without a path is about -c CMD's program or -x PID.
  kernel.set_process_target(opt.target_command, opt.target_pid);
  if (!use_symbol_sources(opt, kernel)) return 1;
  if (!opt.list_pattern.empty() || !opt.list_vars_pattern.empty()) {
    const bool with_context = opt.list_pattern.empty();
    return list_probe_points(kernel, with_context ? opt.list_vars_pattern : opt.list_pattern, with_context,
                             tapset_directories(NTAP_TAPSET_DIR, NTAP_SOURCE_TAPSET_DIR, opt.tapset_dirs));
  }

  LayoutOptions layout_options = LayoutOptions::from_defines(parse_defines(opt.defines));
  PhaseTimer timer(opt.verbose > 0);
  const SourceFile &file =
      opt.script_text.empty() ? sources.load(opt.script_path) : sources.add("<input>", opt.script_text);
  ParsePassOptions parse_options;
  parse_options.script_args = opt.script_args;
  parse_options.tapset_dirs = tapset_directories(NTAP_TAPSET_DIR, NTAP_SOURCE_TAPSET_DIR, opt.tapset_dirs);
  parse_options.include_dirs = opt.tapset_dirs;
  std::unique_ptr<ast::Program> program = parse_pass(file, sources, kernel, parse_options);
  timer.report(fmt::format("Pass 1: parsed user script ({} probes, {} globals)", program->probes.size(),
                           program->globals.size()));
  if (opt.last_pass == 1) {
    print_program(*program, std::cout);
    return 0;
  }

  set_global_values(*program, opt.global_values, file);
  FrontendOptions fe_options;
  fe_options.warnings = !opt.no_warnings;
  fe_options.keep_unused = opt.keep_unused;
  fe_options.skip_badvars = opt.skip_badvars;
  fe_options.string_limit = layout_options.string_limit;
  fe_options.max_probes = layout_options.max_probes;
  elaborate_pass(*program, file, kernel, fe_options, [&](const char *name, double us) {
    if (opt.verbose > 1) fmt::print(stderr, "  {}: {:.2f} ms\n", name, us / 1000);
  });
  timer.report("Pass 2: elaborated the script");
  if (opt.last_pass == 2) {
    print_elaborated(*program, std::cout);
    return 0;
  }
  if (opt.last_pass == 5) refuse_unavailable_probes(*program);

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
  run_options.module_name = opt.module_name;
  // As stap, a name longer than a kernel module's (MODULE_NAME_LEN - 1)
  // is cut, and says so.
  constexpr size_t kMaxRunName = 55;
  if (run_options.module_name.size() > kMaxRunName) {
    run_options.module_name.resize(kMaxRunName);
    fprintf(stderr, "Truncating module name to '%s'\n", run_options.module_name.c_str());
  }
  return run_session(*program, layout, bpf, *host, kernel, run_options);
}

}  // namespace

// Descriptors 0-2 closed by whoever started ntap would be handed to the
// first files ntap opens (the signalfd, a BPF map), and printf would write
// into them. Each closed one gets /dev/null; returns whether stdout was one.
static bool reserve_standard_descriptors() {
  bool stdout_closed = false;
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    if (fd == STDOUT_FILENO) stdout_closed = true;
    const int null_fd = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (null_fd >= 0 && null_fd != fd) {
      dup2(null_fd, fd);
      close(null_fd);
    }
  }
  return stdout_closed;
}

int main(int argc, char **argv) {
  const bool stdout_closed = reserve_standard_descriptors();
  // A reader that goes away (`ntap ... | head`) is an output failure the run
  // reports and ends on (runtime/file_sink.h), not a silent death by SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
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
  app.add_option("-D", opt.defines, "NAME=VALUE limits (MAXMAPENTRIES, MAXSTRINGLEN, MAXACTION, MAXACTION_INTERRUPTIBLE, MAXNESTING, MAXBACKTRACE, MAXSTACKS, MAXPROBES)")->allow_extra_args(false);
  app.add_flag("-w", opt.no_warnings, "suppress warnings");
  app.add_flag("-W", opt.warnings_as_errors, "treat warnings as errors");
  app.add_option("-G", opt.global_values, "set the script's global NAME to VALUE at start")->allow_extra_args(false);
  app.add_option("--compatible", opt.compatible, "SystemTap version whose language to accept (ntap speaks 5.x)")
      ->check([](const std::string &v) {
        return std::regex_match(v, std::regex("[0-9]+(\\.[0-9]+)*")) ? std::string()
                                                                        : "expected a version such as 4.9";
      });
  app.set_version_flag("-V,--version", std::string("ntap ") + NTAP_VERSION + " (the SystemTap language, on BPF)");
  app.add_option("-I", opt.tapset_dirs, "also load the tapset scripts (*.ntp) in DIR")->allow_extra_args(false);
  app.add_flag("-u", opt.keep_unused, "keep and check functions no probe calls");
  app.add_flag("--skip-badvars", opt.skip_badvars,
               "read 0 (with a warning) for a context variable that cannot be resolved, instead of an error");
  auto *command_option =
      app.add_option("-c", opt.target_command, "start the probes, run CMD (via /bin/sh -c), and exit when it finishes")
          ->allow_extra_args(false);
  app.add_option("-x", opt.target_pid, "set target() to PID")
      ->check(CLI::Range(int64_t{1}, int64_t{std::numeric_limits<pid_t>::max()}))
      ->allow_extra_args(false)
      ->excludes(command_option);
  app.add_option("-m", opt.module_name, "NAME of the run: procfs probes' files are in /run/ntap/NAME")
      // stap's rule for module names, which its scripts' -m follow.
      ->check([](const std::string &name) {
        const bool valid =
            !name.empty() && name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos;
        return valid ? std::string()
                     : "'" + name + "' is not a run name: lowercase letters, digits and '_', as stap's module names";
      })
      ->allow_extra_args(false);
  app.add_flag("--all-modules", opt.all_modules,
               "symbol sizes of every loaded module from its .ko file (names come from kallsyms regardless)");
  app.add_option("-d", opt.symbol_modules,
                 "MODULE: its symbol sizes from its .ko file; FILE: a .ko file for that, or a vmlinux with debug "
                 "info for symfileline()")
      ->allow_extra_args(false);
  app.add_option("--vmlinux", opt.vmlinux, "the running kernel's vmlinux with debug info, for symfileline()")
      ->check(CLI::ExistingFile);
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
  if (stdout_closed && opt.output_path.empty()) {
    std::cerr << "ERROR: standard output is closed; give an output file with -o FILE\n";
    return 1;
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
