// What to say about a probe point no provider handles: the families ntap
// has, whether the written one is a SystemTap family ntap does not implement,
// and whether the running kernel lacks what one of ntap's families needs.
#pragma once
#include <string>

#include "frontend/ast.h"

namespace ntap {

class KernelInfo;

// "unknown probe point family 'foo.bar'; ntap has: begin, end, ..." with the
// notes above appended.
std::string unknown_family_message(const KernelInfo &kernel, const ast::ProbePoint &point);

}  // namespace ntap
