#include "kernel/privileges.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace ntap {
namespace {

bool has_capability(unsigned capability) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  return data[capability / 32].effective & (1u << (capability % 32));
}

}  // namespace

std::string missing_bpf_capabilities() {
  if (has_capability(CAP_SYS_ADMIN)) return {};
  std::string missing;
  for (auto [capability, name] : {std::pair{CAP_BPF, "CAP_BPF"}, std::pair{CAP_PERFMON, "CAP_PERFMON"}})
    if (!has_capability(capability)) missing += (missing.empty() ? "" : ", ") + std::string(name);
  return missing;
}

}  // namespace ntap
