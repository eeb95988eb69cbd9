// The message for probe points of unknown families.
#include "kernel/providers/families.h"

#include <algorithm>
#include <map>
#include <set>

#include "kernel/btf.h"
#include "kernel/btf_functions.h"
#include "kernel/function_support.h"
#include "kernel/kernel_info.h"
#include "kernel/providers/provider.h"

namespace ntap {
namespace {

// SystemTap's own probe families (not tapset aliases) that ntap has no
// provider for, by their leading components.
constexpr const char *kStapOnlyFamilies[] = {
    "never",       "process",          "perf",          "procfs",           "kernel.statement", "kernel.mark",
    "kernel.data", "kprobe.statement", "kprobe.module", "module.statement", "netfilter",        "java",
    "python2",     "python3",          "input",
};

// "timer", "kernel.trace", "module().function": a shape's first two
// components, which is how families are named.
std::string head_of(const PointShape &shape) {
  std::string head;
  for (size_t i = 0; i < shape.components.size() && i < 2; ++i) {
    const PointShape::Component &c = shape.components[i];
    if (i) head += '.';
    head += c.name;
    if (c.arg != PointShape::Arg::None && i == 0 && shape.components.size() > 1) head += "()";
    // timer.ms(N), timer.s(N)...: one family, timer.
    if (c.arg == PointShape::Arg::None && i == 0 && c.name == "timer") break;
  }
  return head;
}

std::string written_head(const ast::ProbePoint &point) {
  std::string head;
  for (size_t i = 0; i < point.components.size() && i < 2; ++i) head += (i ? "." : "") + point.components[i].name;
  return head;
}

bool starts_family(const std::string &written, const std::string &family) {
  return written == family || written.rfind(family + ".", 0) == 0;
}

// Whether the running kernel can attach kernel.function probes; the reason
// when it cannot (this runs the feature probe, only on this error path).
std::string function_probes_missing(const KernelInfo &kernel) {
  if (!kernel.btf().handle()) return "the kernel has no BTF: " + kernel.btf().load_error();
  const auto &names = kernel.functions().names();
  std::optional<btf::FunctionProto> any = names.empty() ? std::nullopt : kernel.functions().proto(names.front());
  return kernel.function_support(any ? any->func_id : 0).unavailable_reason();
}

}  // namespace

std::string unknown_family_message(const KernelInfo &kernel, const ast::ProbePoint &point) {
  std::vector<std::string> families;
  for (const Provider *provider : kernel.providers().all())
    for (const PointShape &shape : provider->list_components()) {
      std::string head = head_of(shape);
      if (std::find(families.begin(), families.end(), head) == families.end()) families.push_back(head);
    }
  const std::string written = written_head(point);
  std::string message = "unknown probe point family '" + written + "'";
  for (const char *stap : kStapOnlyFamilies)
    if (starts_family(written, stap)) {
      bool ours = std::any_of(families.begin(), families.end(),
                              [&](const std::string &f) { return starts_family(written, f); });
      if (!ours) {
        message += ": " + std::string(stap) + " is a SystemTap probe family ntap does not implement";
        break;
      }
    }
  std::string list;
  for (const std::string &f : families) list += (list.empty() ? "" : ", ") + f;
  message += "; ntap has " + list;
  // A family ntap has but this kernel cannot run is worth saying too.
  const bool about_functions = written.rfind("kprobe", 0) == 0 || written.rfind("kretprobe", 0) == 0 ||
                               written.rfind("kernel", 0) == 0 || written.rfind("module", 0) == 0;
  if (about_functions) {
    std::string missing = function_probes_missing(kernel);
    if (!missing.empty())
      message +=
          " (kernel.function, module().function, kprobe.function and kretprobe.function are known but "
          "cannot attach on this kernel: " +
          missing + ")";
  }
  return message;
}

}  // namespace ntap
