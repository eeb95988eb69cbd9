#include "cli/pipeline.h"

#include "frontend/parser.h"
#include "frontend/perf_counters.h"
#include "frontend/tapset.h"
#include "kernel/kernel_info.h"

namespace ntap {

std::unique_ptr<ast::Program> parse_pass(const SourceFile &file, SourceManager &sources, const KernelInfo &kernel,
                                         const ParsePassOptions &options) {
  PreprocessTarget target = PreprocessTarget::running_system();
  target.config = [&kernel]() -> const KernelConfig & { return kernel.config(); };
  ParseOptions parse_options;
  parse_options.user_script = true;
  parse_options.preprocessor.script_args = options.script_args;
  parse_options.preprocessor.target = &target;
  parse_options.preprocessor.macro_libraries = load_macro_libraries(sources, options.tapset_dirs);
  std::unique_ptr<ast::Program> program = parse_script(file, parse_options);
  const std::vector<const SourceFile *> unread =
      load_tapsets(*program, sources, options.tapset_dirs, &target, &parse_options.preprocessor.macro_libraries);
  check_tapset_files(unread, options.include_dirs, &target, parse_options.preprocessor.macro_libraries);
  add_argument_vector(*program, sources, options.script_args);
  add_perf_counters(*program, sources);
  return program;
}

void elaborate_pass(ast::Program &program, const SourceFile &file, const KernelInfo &kernel,
                    const FrontendOptions &options, const std::function<void(const char *, double)> &after_pass) {
  // As stap: a script without a probe would attach nothing and wait forever.
  if (program.probes.empty()) throw CompileError(ErrorKind::Semantic, "no probes found", Location{&file, 1, 1});
  PassContext ctx{program, options, kernel};
  run_frontend_passes(ctx, after_pass);
  reject_all_empty_probes(program, options, Location{&file, 1, 1});
}

}  // namespace ntap
