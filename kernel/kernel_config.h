// The running kernel's build configuration (CONFIG_* options), read once, on
// first use, from /boot/config-$(uname -r) or /proc/config.gz.
#pragma once
#include "frontend/kernel_config.h"

namespace ntap {

// Empty (available() false) when neither file can be read.
const KernelConfig &running_kernel_config();

}  // namespace ntap
