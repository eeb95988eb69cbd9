// begin / end / error probes: run once in the ntap process, ordered by an
// optional priority (stap's begin(N): lower N runs first).
#include "kernel/providers/user_providers.h"

namespace ntap {
namespace {

class OnceProvider final : public Provider {
 public:
  OnceProvider(std::string_view name, ast::ProbeKind kind) : name_(name), kind_(kind) {}

  std::string_view family() const override { return name_; }
  ast::Side side() const override { return ast::Side::User; }

  bool handles(const ast::ProbePoint &point) const override {
    return point.components.size() == 1 && point.components[0].name == name_;
  }

  std::vector<PointShape> list_components() const override {
    using Arg = PointShape::Arg;
    return {PointShape{{{std::string(name_), Arg::None}}}, PointShape{{{std::string(name_), Arg::Number}}}};
  }

  std::vector<ast::ResolvedProbe> resolve(const ast::ProbePoint &point) const override {
    const ast::ProbePointComponent &component = point.components[0];
    if (component.string_arg)
      throw CompileError(ErrorKind::Probe,
                         std::string(name_) + " takes a numeric priority, not a string: " + std::string(name_) + "(N)",
                         point.loc);
    ast::ResolvedProbe probe;
    probe.provider = this;
    probe.kind = kind_;
    probe.param = component.number_arg.value_or(0);
    probe.name = std::string(name_);
    if (component.number_arg) probe.name += "(" + std::to_string(*component.number_arg) + ")";
    probe.point = probe.name;
    return {probe};
  }

 private:
  std::string_view name_;
  ast::ProbeKind kind_;
};

}  // namespace

std::unique_ptr<Provider> make_begin_provider(const KernelInfo &) {
  return std::make_unique<OnceProvider>("begin", ast::ProbeKind::Begin);
}

std::unique_ptr<Provider> make_end_provider(const KernelInfo &) {
  return std::make_unique<OnceProvider>("end", ast::ProbeKind::End);
}

std::unique_ptr<Provider> make_error_provider(const KernelInfo &) {
  return std::make_unique<OnceProvider>("error", ast::ProbeKind::Error);
}

}  // namespace ntap
