// Everything ntap knows about one kernel, behind one object that is passed
// to whatever asks (docs/architecture.md, "Kernel knowledge"): its BTF, its
// symbols (kallsyms), its tracefs event list, its build configuration, its
// online CPUs and the probe providers built on them.
//
// Nothing is read when a KernelInfo is made: each part is read the first
// time it is asked for (a script with only user probes never loads the BTF),
// and kept for the life of the object. The driver makes one per run for the
// running kernel (host_paths()); the unit tests make one from a fixture
// directory, so they answer the same questions without the host's kernel.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/kernel_config.h"
#include "kernel/btf.h"

namespace ntap {

class BtfFunctions;
class KernelSourceLines;
class KernelSymbols;
class DropReasons;
class ProviderIndex;
struct FunctionSupport;
struct TraceField;

// Where each part of the kernel's knowledge is read from.
struct KernelPaths {
  std::string btf;                        // /sys/kernel/btf/vmlinux
  std::string kallsyms;                   // /proc/kallsyms
  std::vector<std::string> tracefs;       // tracefs mount points to try, in order
  std::string config;                     // /boot/config-$(uname -r)
  std::string config_gz;                  // /proc/config.gz
  std::string cpus_online;                // /sys/devices/system/cpu/online
  std::string module_btf;                 // /sys/kernel/btf: each loaded module's split BTF
  // A vmlinux with debug info for source lines (--vmlinux, -d FILE); empty:
  // the usual places (kernel/dwarf_lines.h).
  std::string vmlinux;
  // The running kernel itself: tracefs may be mounted at tracefs[0] when no
  // event list can be read, and libbpf's search for the vmlinux BTF
  // (/boot/vmlinux-*, ...) is tried when `btf` cannot be read.
  bool running_kernel = false;
};

// The process a run is about (-c CMD / -x PID): process probes written
// without a path or pid follow it (stap's target()).
struct ProcessTarget {
  std::string command;     // -c CMD; its first word names the program
  int64_t pid = 0;         // -x PID
  int64_t attach_pid = 0;  // the process to attach to, once known (-c starts it after elaboration)
};

// One tracefs event, "subsystem:name" in available_events.
struct TraceEvent {
  std::string subsystem;  // empty when tracefs could not be read
  std::string name;
  std::string full_name() const { return subsystem.empty() ? name : subsystem + ":" + name; }
};

class KernelInfo {
 public:
  explicit KernelInfo(KernelPaths paths);
  ~KernelInfo();
  KernelInfo(const KernelInfo &) = delete;
  KernelInfo &operator=(const KernelInfo &) = delete;

  // The running kernel's paths. With NTAP_SYSROOT set in the environment,
  // every path is under that directory instead of / (and the running kernel
  // is not touched: no tracefs mount, no libbpf search), so a run or a test
  // can be pointed at a captured or made-up kernel, or at nothing.
  static KernelPaths host_paths();

  const KernelPaths &paths() const { return paths_; }

  const Btf &btf() const { return btf_; }
  // Lookups cache and load lazily, hence not const.
  KernelSymbols &symbols() const;
  // Source lines of kernel addresses (symfileline()...), from paths().vmlinux.
  KernelSourceLines &source_lines() const;
  // The functions the BTF declares, and those of loaded modules.
  const BtfFunctions &functions() const;
  const KernelConfig &config() const;
  // CONFIG_HZ, 250 when the configuration does not say.
  int64_t config_hz() const;
  // tracefs' available_events; when no tracefs can be read, the BTF's
  // tracepoint names stand in, without subsystems.
  const std::vector<TraceEvent> &trace_events() const;
  // The format fields of one trace event (kernel/providers/trace_format.h),
  // read from tracefs once per event; empty when there is no format.
  const std::vector<TraceField> &trace_event_fields(std::string_view subsystem, std::string_view event) const;
  // The names of `enum skb_drop_reason` values, read from the BTF once.
  const DropReasons &drop_reasons() const;
  // The CPUs listed in cpus_online ("0-3,6"), in order; read on each call.
  std::vector<int> online_cpus() const;
  // Which mechanism kernel.function probes can use (kernel/function_support.h),
  // found out on the first call with `btf_func_id` as the fentry target and
  // kept; override_function_support() sets the answer instead (tests, or
  // compiling objects for another kernel), nullopt finds out again.
  const FunctionSupport &function_support(uint32_t btf_func_id) const;
  void override_function_support(const std::optional<FunctionSupport> &support) const;
  // The probe providers (kernel/providers/registry.cpp), built on first use
  // and kept: resolved probes point at them until the run ends.
  const ProviderIndex &providers() const;

  // The run's target process. Set by the driver before elaboration; the
  // attach pid is filled in by the run once a -c command has started (the
  // providers read it when they attach), hence mutable through const.
  const ProcessTarget &process_target() const { return target_; }
  void set_process_target(std::string command, int64_t pid);
  void set_target_attach_pid(int64_t pid) const { target_.attach_pid = pid; }

  // After elaboration: keeps what later passes and the run need of the BTF
  // (the drop reason names; the tracepoint index stays in the Btf) and frees
  // the rest, so that it and LLVM's working memory are never resident
  // together (docs/architecture.md, decision 7).
  void release_btf() const;

 private:
  struct Lazy;
  KernelPaths paths_;
  Btf btf_;
  std::unique_ptr<Lazy> lazy_;
  mutable ProcessTarget target_;
};

}  // namespace ntap
