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
#include <string>
#include <vector>

#include "frontend/kernel_config.h"
#include "kernel/btf.h"

namespace ntap {

class KernelSymbols;
class DropReasons;
class ProviderIndex;

// Where each part of the kernel's knowledge is read from.
struct KernelPaths {
  std::string btf;                        // /sys/kernel/btf/vmlinux
  std::string kallsyms;                   // /proc/kallsyms
  std::vector<std::string> tracefs;       // tracefs mount points to try, in order
  std::string config;                     // /boot/config-$(uname -r)
  std::string config_gz;                  // /proc/config.gz
  std::string cpus_online;                // /sys/devices/system/cpu/online
  // The running kernel itself: tracefs may be mounted at tracefs[0] when no
  // event list can be read, and libbpf's search for the vmlinux BTF
  // (/boot/vmlinux-*, ...) is tried when `btf` cannot be read.
  bool running_kernel = false;
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
  const KernelConfig &config() const;
  // CONFIG_HZ, 250 when the configuration does not say.
  int64_t config_hz() const;
  // tracefs' available_events; when no tracefs can be read, the BTF's
  // tracepoint names stand in, without subsystems.
  const std::vector<TraceEvent> &trace_events() const;
  // The names of `enum skb_drop_reason` values, read from the BTF once.
  const DropReasons &drop_reasons() const;
  // The CPUs listed in cpus_online ("0-3,6"), in order; read on each call.
  std::vector<int> online_cpus() const;
  // The probe providers (kernel/providers/registry.cpp), built on first use
  // and kept: resolved probes point at them until the run ends.
  const ProviderIndex &providers() const;

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
};

}  // namespace ntap
