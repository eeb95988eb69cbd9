// Reading a kernel's build configuration (CONFIG_* options); KernelInfo
// (kernel/kernel_info.h) reads the running kernel's once, on first use.
#pragma once
#include <string>

#include "frontend/kernel_config.h"

namespace ntap {

// From `config_path` (/boot/config-$(uname -r)), else from the gzip-compressed
// `config_gz_path` (/proc/config.gz). Empty (available() false) when neither
// can be read.
KernelConfig read_kernel_config(const std::string &config_path, const std::string &config_gz_path);

// The text of a configuration file, gunzipped (in process) when the name ends
// in ".gz"; empty when it cannot be read or is not valid gzip.
std::string read_config_file(const std::string &path);

}  // namespace ntap
