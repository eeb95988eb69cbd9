// Reading a kernel's build configuration.
#include "kernel/kernel_config.h"

#include <zlib.h>

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

// /proc/config.gz is gzip-compressed. zlib reads it in process: running a
// `gzip` found through PATH as root would run whatever a PATH entry holds.
std::string read_gzip_file(const std::string &path) {
  gzFile in = ::gzopen(path.c_str(), "rb");
  if (!in) return {};
  std::string text;
  char buffer[1 << 14];
  int got;
  while ((got = ::gzread(in, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<size_t>(got));
  const bool failed = got < 0;
  ::gzclose(in);
  return failed ? std::string() : text;
}

}  // namespace

std::string read_config_file(const std::string &path) {
  const bool gzipped = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  return gzipped ? read_gzip_file(path) : read_file(path);
}

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
