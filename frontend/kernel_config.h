// The running kernel's build configuration (CONFIG_* options).
//
// The values as the preprocessor's `%( CONFIG_X == "y" %? ... %)` conditions
// and the timer provider's CONFIG_HZ see them. This is only the parsed text;
// kernel/kernel_config.h reads a kernel's.
#pragma once
#include <string>
#include <string_view>
#include <unordered_map>

namespace ntap {

class KernelConfig {
 public:
  // Parses config text: `CONFIG_X=y`, `CONFIG_X="text"` (quotes removed);
  // other lines (`# CONFIG_X is not set` too) are ignored.
  static KernelConfig parse(std::string_view text);

  bool available() const { return available_; }
  // Where the configuration was read from ("" for parsed text).
  const std::string &origin() const { return origin_; }

  // The option's value as written ("y", "m", "250", text without quotes);
  // "" for an option that is not set, as stap has it.
  std::string value(std::string_view name) const;

 private:
  friend KernelConfig read_kernel_config(const std::string &, const std::string &);
  std::unordered_map<std::string, std::string> values_;
  bool available_ = false;
  std::string origin_;
};

}  // namespace ntap
