// The running kernel's build configuration (CONFIG_* options), read once, on
// first use, from /boot/config-$(uname -r) or /proc/config.gz.
#pragma once
#include <string>

#include "frontend/kernel_config.h"

namespace ntap {

// Empty (available() false) when neither file can be read.
const KernelConfig &running_kernel_config();

// The text of a configuration file, gunzipped (in process) when the name ends
// in ".gz"; empty when it cannot be read or is not valid gzip.
std::string read_config_file(const std::string &path);

}  // namespace ntap
