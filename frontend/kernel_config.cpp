// Parsing the kernel's build configuration.
#include "frontend/kernel_config.h"


namespace ntap {

KernelConfig KernelConfig::parse(std::string_view text) {
  KernelConfig config;
  config.available_ = true;
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
    }
    // `# CONFIG_X is not set` is a comment: as in stap, an option that is
    // not set has no value ("").
  }
  return config;
}

std::string KernelConfig::value(std::string_view name) const {
  auto found = values_.find(std::string(name));
  return found == values_.end() ? std::string() : found->second;
}

}  // namespace ntap
