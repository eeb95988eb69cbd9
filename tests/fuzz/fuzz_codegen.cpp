// Fuzz target: script text through what `ntap -p4` does, up to and
// including the compiled BPF object and the user probes' native code, which
// stay in memory: nothing is written to disk or loaded into the kernel.
#include <cstddef>
#include <cstdint>

#include "abi/layout.h"
#include "codegen/bpf/bpf_codegen.h"
#include "codegen/host/host_codegen.h"
#include "tests/fuzz/fuzz_script.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // Once, before the first compile (codegen/bpf/bpf_codegen.h says why).
  static const bool prepared = [] {
    ntap::prepare_kernel_codegen();
    ntap::prepare_user_codegen();
    return true;
  }();
  (void)prepared;
  ntap::SourceManager sources;
  auto program = ntap::fuzz::elaborate(sources, data, size);
  if (!program) return 0;
  try {
    const ntap::Layout layout = ntap::Layout::build(*program, ntap::LayoutOptions::from_defines({}));
    ntap::BpfCodegenOptions bpf_options;
    bpf_options.threads = 1;  // one thread: a finding replays the same way
    ntap::compile_kernel_probes(*program, layout, bpf_options);
    ntap::compile_user_probes(*program, layout, ntap::HostCodegenOptions{});
  } catch (const ntap::CompileError &) {
    // Rejected while translating (what BPF cannot do): a diagnostic, not a bug.
  }
  return 0;
}
