// Parsing the kernel's build configuration.
#include "frontend/kernel_config.h"


namespace ntap {


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
      // GCC 12 inlines std::string's assignment from "n" and then warns
      // -Wrestrict about a memcpy on an impossible path inside libstdc++'s
      // char_traits (GCC bug 105329, fixed in GCC 13); the code is correct.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
      config.values_[std::string(name)] = "n";
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
    }
  }
  return config;
}

std::string KernelConfig::value(std::string_view name) const {
  auto found = values_.find(std::string(name));
  return found == values_.end() ? "n" : found->second;
}

}  // namespace ntap
