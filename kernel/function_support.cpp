// Probing the running kernel for fentry and kprobe support.
#include "kernel/function_support.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>


namespace ntap {
namespace {

constexpr const char *kKprobePmu = "/sys/bus/event_source/devices/kprobe/type";

std::string errno_text(int err) {
  const char *name = strerrorname_np(err);
  return std::string(name ? name : "errno " + std::to_string(err)) + ": " + std::strerror(err);
}

// Loads `r0 = 0; exit` as an fentry program on `btf_func_id` and closes it.
void probe_fentry(uint32_t btf_func_id, FunctionSupport &out) {
  if (btf_func_id == 0) {
    out.fentry_error = "the function has no BTF id to attach to";
    return;
  }
  const bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  char log[4096] = "";
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY, .attach_btf_id = btf_func_id,
              .log_level = 1, .log_size = sizeof log, .log_buf = log);
  int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "ntap_fentry_probe", "GPL", insns, 2, &opts);
  if (fd >= 0) {
    ::close(fd);
    out.fentry = true;
    return;
  }
  int err = errno;
  std::string why = "the kernel refused the program (" + errno_text(err);
  std::string first_line(log, strnlen(log, sizeof log));
  first_line = first_line.substr(0, first_line.find('\n'));
  why += first_line.empty() ? ", empty verifier log)" : "; " + first_line + ")";
  if (err == EPERM && geteuid() != 0) why += "; it needs root";
  out.fentry_error = why;
}

void probe_kprobe(const KernelConfig &config, const std::vector<std::string> &tracefs, bool running_kernel,
                  FunctionSupport &out) {
  if (config.available() && config.value("CONFIG_KPROBES") != "y") {
    out.kprobe_error = "CONFIG_KPROBES is not set (" + config.origin() + ")";
    return;
  }
  if (!running_kernel) {
    out.kprobe = config.available();
    if (!out.kprobe) out.kprobe_error = "the kernel configuration is unreadable";
    return;
  }
  if (::access(kKprobePmu, R_OK) == 0) {
    out.kprobe = true;
    return;
  }
  for (const std::string &root : tracefs)
    if (::access((root + "/kprobe_events").c_str(), F_OK) == 0) {
      out.kprobe = true;
      return;
    }
  out.kprobe_error = config.available() ? "the kernel offers no kprobe PMU or kprobe_events"
                                        : "the kernel configuration is unreadable and there is no kprobe PMU "
                                          "or kprobe_events";
}

}  // namespace

std::string FunctionSupport::unavailable_reason() const {
  if (any()) return {};
  return "fentry: " + fentry_error + "; kprobe: " + kprobe_error;
}

FunctionSupport probe_function_support(uint32_t btf_func_id, const KernelConfig &config,
                                       const std::vector<std::string> &tracefs, bool running_kernel) {
  FunctionSupport support;
  if (running_kernel)
    probe_fentry(btf_func_id, support);
  else
    support.fentry_error = "not the running kernel, so no program can be loaded to find out";
  probe_kprobe(config, tracefs, running_kernel, support);
  return support;
}

}  // namespace ntap
