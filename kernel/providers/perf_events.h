// Perf events that BPF programs attach to, shared by the providers built on
// them (timer.profile, perf.*, kernel-side timers): one event per CPU for
// every process, each owned by the link that attaches the program to it.
#pragma once
#include <linux/perf_event.h>

#include <vector>

#include "kernel/providers/provider.h"

namespace ntap {

// perf_event_open for every process on `cpu`, close-on-exec; -1 and errno on failure.
int open_perf_event(perf_event_attr &attr, int cpu);

// Opens `attr` on each of `cpus` and attaches `prog` to each event, appending
// the links to `links`. On failure none of them stays: the links made are
// destroyed, errno is set and false returned (ENODEV when `cpus` is empty).
bool attach_perf_event_on_cpus(const std::vector<int> &cpus, perf_event_attr attr, bpf_program *prog,
                               std::vector<bpf_link *> &links);

// Provider::attach for providers whose probes attach through attach_all():
// the one link, or null with EINVAL when the probe needs several.
bpf_link *attach_single(const Provider &provider, const ast::ResolvedProbe &probe, bpf_program *prog);

}  // namespace ntap
