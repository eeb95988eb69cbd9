// Which mechanism kernel.function probes can use on the running kernel
// (docs/architecture.md, decision 2): fentry/fexit where the kernel accepts a
// tracing program, kprobes where it is built with them, and otherwise a
// statement of what was tried and why it failed.
//
// Found out once per run (KernelInfo::function_support()): fentry by loading a two-instruction fentry
// program against the first function asked about (the only reliable test:
// lockdown, integrity and LSMs refuse it without any flag to read), kprobes
// from CONFIG_KPROBES and the kprobe PMU libbpf attaches through.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "frontend/kernel_config.h"

namespace ntap {

enum class FunctionMechanism : uint8_t { Fentry, Kprobe };

struct FunctionSupport {
  bool fentry = false;
  bool kprobe = false;
  std::string fentry_error;  // why not: "the kernel refused the program (EPERM: ...)"
  std::string kprobe_error;  // "CONFIG_KPROBES is not set"

  bool any() const { return fentry || kprobe; }
  // The mechanism probes use: fentry when it works, kprobes otherwise, and
  // fentry again when neither does (the object is still compiled for -p4;
  // running it is refused with unavailable_reason()).
  FunctionMechanism chosen() const { return fentry || !kprobe ? FunctionMechanism::Fentry : FunctionMechanism::Kprobe; }
  // "fentry: ...; kprobe: ..." when neither works, else empty.
  std::string unavailable_reason() const;
};

// What `config`'s kernel supports. For the running kernel, fentry is tried
// by loading a program on the BTF FUNC `btf_func_id`, and kprobes by the
// kprobe PMU or a kprobe_events file under one of `tracefs`; for any other
// kernel (a fixture, NTAP_SYSROOT) nothing is loaded: fentry is not offered
// and kprobes follow CONFIG_KPROBES. KernelInfo::function_support() keeps
// the answer for the run.
FunctionSupport probe_function_support(uint32_t btf_func_id, const KernelConfig &config,
                                       const std::vector<std::string> &tracefs, bool running_kernel);

}  // namespace ntap
