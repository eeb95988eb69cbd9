// begin / end / error probes: run once in the ntap process, ordered by an
// optional priority (stap's begin(N): lower N runs first); a begin that reads
// kernel memory runs once in the kernel instead.
#include "kernel/providers/user_providers.h"

#include <cerrno>

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

// A begin probe whose body reads kernel memory (decision 19 of
// docs/architecture.md): a raw_tp BPF program attached nowhere, which the
// runtime runs once, in its place among the begin probes, through
// BPF_PROG_TEST_RUN (in the ntap process's context, as stap's begin runs in
// its loader's).
class KernelBeginProvider final : public Provider {
 public:
  std::string_view family() const override { return "begin"; }
  ast::Side side() const override { return ast::Side::Kernel; }
  // Never matched from a written point: elaboration moves a resolved begin
  // here (kernel_begin_probe) once it knows the body needs the kernel.
  bool handles(const ast::ProbePoint &) const override { return false; }
  std::vector<ast::ResolvedProbe> resolve(const ast::ProbePoint &) const override { return {}; }
  bpf_link *attach(const ast::ResolvedProbe &, bpf_program *) const override {
    errno = EINVAL;  // run, never attached (BpfProgramInfo::attached)
    return nullptr;
  }
};

}  // namespace

std::unique_ptr<Provider> make_kernel_begin_provider(const KernelInfo &) {
  return std::make_unique<KernelBeginProvider>();
}

ast::ResolvedProbe kernel_begin_probe(const ast::ResolvedProbe &begin, const ProviderIndex &providers) {
  ast::ResolvedProbe probe = begin;
  probe.provider = providers.find_family("begin", ast::Side::Kernel);
  probe.section = "raw_tp";
  return probe;
}

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
