// Reading a kernel's build configuration.
#include "kernel/kernel_config.h"

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
  if (path.find('\'') != std::string::npos) return {};  // it goes between single quotes
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

KernelConfig read_kernel_config(const std::string &config_path, const std::string &config_gz_path) {
  std::string text = read_file(config_path);
  if (!text.empty()) {
    KernelConfig parsed = KernelConfig::parse(text);
    parsed.origin_ = config_path;
    return parsed;
  }
  text = read_gzip_file(config_gz_path);
  if (text.empty()) return KernelConfig{};
  KernelConfig parsed = KernelConfig::parse(text);
  parsed.origin_ = config_gz_path;
  return parsed;
}

}  // namespace ntap
