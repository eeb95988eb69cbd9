#include "kernel/providers/perf_events.h"

#include <bpf/libbpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace ntap {

int open_perf_event(perf_event_attr &attr, int cpu) {
  attr.size = sizeof attr;
  return static_cast<int>(::syscall(SYS_perf_event_open, &attr, -1 /* every process */, cpu, -1, PERF_FLAG_FD_CLOEXEC));
}

bool attach_perf_event_on_cpus(const std::vector<int> &cpus, perf_event_attr attr, bpf_program *prog,
                               std::vector<bpf_link *> &links) {
  const size_t first = links.size();
  auto undo = [&](int err) {
    for (size_t i = first; i < links.size(); ++i) bpf_link__destroy(links[i]);
    links.resize(first);
    errno = err;
    return false;
  };
  if (cpus.empty()) return undo(ENODEV);
  for (int cpu : cpus) {
    const int fd = open_perf_event(attr, cpu);
    if (fd < 0) return undo(errno);
    bpf_link *link = bpf_program__attach_perf_event(prog, fd);
    if (!link) {
      const int err = errno;
      ::close(fd);
      return undo(err ? err : EINVAL);
    }
    links.push_back(link);  // the link owns (and closes) the perf event fd
  }
  return true;
}

bpf_link *attach_single(const Provider &provider, const ast::ResolvedProbe &probe, bpf_program *prog) {
  std::vector<bpf_link *> links;
  if (!provider.attach_all(probe, prog, links)) return nullptr;
  if (links.size() == 1) return links.front();
  for (bpf_link *link : links) bpf_link__destroy(link);
  errno = EINVAL;  // several CPUs need attach_all
  return nullptr;
}

}  // namespace ntap
