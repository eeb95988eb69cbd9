// What every provider shares (see provider.h).
#include "kernel/providers/provider.h"

#include "frontend/diagnostics.h"

namespace ntap {

void probe_error(const ast::ProbePoint &point, const std::string &message) {
  throw CompileError(ErrorKind::Probe, message, point.loc, "probe point '" + point.str() + "'");
}

void target_error(const ast::TargetVarExpr &var, const std::string &message) {
  throw CompileError(ErrorKind::Semantic, message, var.loc, "identifier '" + ast::target_text(var) + "'");
}

}  // namespace ntap
