// What the host code generator hands the runtime: the native functions of
// the user probes (they call the C interface in abi/runtime_api.h) and the
// places in them that can fail at run time.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "abi/runtime_api.h"
#include "frontend/diagnostics.h"

namespace ntap {

// A place in a user probe that can fail at run time.
struct RuntimeSite {
  Location loc;
  std::string message;  // e.g. "division by 0 near operator '/'"
};

class HostProgram {
 public:
  using ProbeFn = void (*)(ntap_rt *);
  virtual ~HostProgram() = default;
  // The compiled body of a user probe (by ast::Probe::id), null for kernel probes.
  virtual ProbeFn probe_function(uint32_t probe_id) const = 0;
  virtual const std::vector<RuntimeSite> &sites() const = 0;
  virtual const std::string &ir() const = 0;  // textual IR when requested (-p3)
};

}  // namespace ntap
