// Reading and parsing the kernel's build configuration.
#include "frontend/kernel_config.h"

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

KernelConfig KernelConfig::parse(std::string_view text) {
  KernelConfig config;
  config.available_ = true;
  constexpr std::string_view not_set_prefix = "# CONFIG_";
  constexpr std::string_view not_set_suffix = " is not set";
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.rfind("CONFIG_", 0) == 0) {
      size_t eq = line.find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view value = line.substr(eq + 1);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      config.values_[std::string(line.substr(0, eq))] = std::string(value);
    } else if (line.rfind(not_set_prefix, 0) == 0 && line.size() > not_set_suffix.size() &&
               line.substr(line.size() - not_set_suffix.size()) == not_set_suffix) {
      std::string_view name = line.substr(2, line.size() - 2 - not_set_suffix.size());
      config.values_[std::string(name)] = "n";
    }
  }
  return config;
}

const KernelConfig &KernelConfig::running() {
  static const KernelConfig config = [] {
    utsname uts{};
    if (uname(&uts) == 0) {
      std::string boot_path = std::string("/boot/config-") + uts.release;
      std::string text = read_file(boot_path);
      if (!text.empty()) {
        KernelConfig parsed = parse(text);
        parsed.origin_ = boot_path;
        return parsed;
      }
    }
    std::string text = read_gzip_file("/proc/config.gz");
    if (text.empty()) return KernelConfig{};
    KernelConfig parsed = parse(text);
    parsed.origin_ = "/proc/config.gz";
    return parsed;
  }();
  return config;
}

std::string KernelConfig::value(std::string_view name) const {
  auto found = values_.find(std::string(name));
  return found == values_.end() ? "n" : found->second;
}

}  // namespace ntap
