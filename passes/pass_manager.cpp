// Runs the elaboration passes in order, stopping after the first that found errors.
#include <chrono>

#include "passes/passes.h"

namespace ntap {

void run_frontend_passes(PassContext &ctx, const std::function<void(const char *, double)> &after_pass) {
  for (const auto &pass : kFrontendPasses) {
    auto start = std::chrono::steady_clock::now();
    // A CompileError that escapes a pass joins the ones it reported.
    ctx.diagnostics.guard([&] { pass.run(ctx); });
    if (ctx.diagnostics.has_errors()) ctx.diagnostics.raise();
    if (after_pass) {
      std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - start;
      after_pass(pass.name, took.count());
    }
  }
}

}  // namespace ntap
