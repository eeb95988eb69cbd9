// Reading the running kernel's build configuration.
#include "kernel/kernel_config.h"

#include <sys/utsname.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace ntap {

namespace {

std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// /proc/config.gz is gzip-compressed and ntap links no zlib of its own, so
// gzip decompresses it; this runs at most once per process.
std::string read_gzip_file(const std::string &path) {
  std::string command = "gzip -dc '" + path + "' 2>/dev/null";
  FILE *pipe = ::popen(command.c_str(), "r");
  if (!pipe) return {};
  std::string text;
  char buffer[1 << 14];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) text.append(buffer, got);
  ::pclose(pipe);
  return text;
}

}  // namespace

const KernelConfig &running_kernel_config() {
  static const KernelConfig config = [] {
    utsname uts{};
    if (uname(&uts) == 0) {
      std::string boot_path = std::string("/boot/config-") + uts.release;
      std::string text = read_file(boot_path);
      if (!text.empty()) {
        KernelConfig parsed = KernelConfig::parse(text);
        parsed.origin_ = boot_path;
        return parsed;
      }
    }
    std::string text = read_gzip_file("/proc/config.gz");
    if (text.empty()) return KernelConfig{};
    KernelConfig parsed = KernelConfig::parse(text);
    parsed.origin_ = "/proc/config.gz";
    return parsed;
  }();
  return config;
}

}  // namespace ntap
