#include "tests/fuzz/fuzz_script.h"

#include <cstdlib>
#include <string>

#include "abi/layout.h"
#include "cli/pipeline.h"
#include "frontend/tapset.h"
#include "kernel/kernel_info.h"

namespace ntap::fuzz {
namespace {

// The machine's kernel, as a run of ntap elaborates for.
const KernelInfo &host_kernel() {
  static const KernelInfo kernel(KernelInfo::host_paths());
  return kernel;
}

}  // namespace

std::unique_ptr<ast::Program> elaborate(SourceManager &sources, const uint8_t *data, size_t size,
                                        const std::function<void(const ast::Program &)> &after_parse) {
  set_warnings_enabled(false);
  const SourceFile &file = sources.add("fuzz.stp", std::string(reinterpret_cast<const char *>(data), size));
  try {
    ParsePassOptions parse_options;
    // Parsing the real tapset (~40 KB) would be most of each input's time
    // with the sanitizers on; a small one (tests/fuzz/tapset) covers the same
    // code. NTAP_FUZZ_TAPSET names another directory (the real tapset/).
    const char *tapset = std::getenv("NTAP_FUZZ_TAPSET");
    parse_options.tapset_dirs = {tapset ? tapset : NTAP_FUZZ_TAPSET_DIR};
    std::unique_ptr<ast::Program> program = parse_pass(file, sources, host_kernel(), parse_options);
    if (after_parse) after_parse(*program);
    FrontendOptions options;
    options.warnings = false;
    options.string_limit = LayoutOptions{}.string_limit;
    elaborate_pass(*program, file, host_kernel(), options);
    return program;
  } catch (const CompileError &) {
    return nullptr;
  }
}

}  // namespace ntap::fuzz
