// kernel.trace("NAME") provider: event matching, TP_PROTO context variables,
// tp_btf / raw_tp attachment.
#include "kernel/providers/tracepoint.h"

#include <bpf/libbpf.h>
#include <fnmatch.h>

#include <algorithm>

namespace ntap {
namespace {

constexpr std::string_view kTpBtfPrefix = "tp_btf/";
constexpr std::string_view kRawTpPrefix = "raw_tp/";
bool fnmatches(const std::string &pattern, const std::string &text) {
  return ::fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

// The event name of a concrete probe: its section is "tp_btf/<event>".
std::string event_of(const ast::ResolvedProbe &probe) {
  size_t slash = probe.section.find('/');
  if (slash != std::string::npos) return probe.section.substr(slash + 1);
  size_t colon = probe.name.find(':');
  return colon == std::string::npos ? probe.name : probe.name.substr(colon + 1);
}

[[noreturn]] void target_error(const ast::TargetVarExpr &var, const std::string &message) {
  throw CompileError(ErrorKind::Semantic, message, var.loc, "identifier '" + ast::target_text(var) + "'");
}

class TracepointProvider final : public Provider {
 public:
  explicit TracepointProvider(const KernelInfo &kernel) : kernel_(kernel) {}
  std::string_view family() const override { return "kernel.trace"; }
  ast::Side side() const override { return ast::Side::Kernel; }
  bool handles(const ast::ProbePoint &point) const override;
  std::vector<ast::ResolvedProbe> resolve(const ast::ProbePoint &point) const override;
  bool resolve_target(const ast::ResolvedProbe &probe, ast::TargetVarExpr &var) const override;
  std::vector<std::string> describe_context(const ast::ResolvedProbe &probe) const override;
  std::vector<PointShape> list_components() const override;
  bpf_link *attach(const ast::ResolvedProbe &probe, bpf_program *prog) const override;

 private:
  const KernelInfo &kernel_;
};

}  // namespace

std::vector<TraceEvent> match_trace_events(const KernelInfo &kernel, std::string_view pattern_view) {
  std::string pattern(pattern_view);
  std::string subsystem_pattern = "*", event_pattern = pattern;
  size_t colon = pattern.find(':');
  if (colon != std::string::npos) {
    subsystem_pattern = pattern.substr(0, colon);
    event_pattern = pattern.substr(colon + 1);
  }
  std::vector<TraceEvent> matches;
  const Btf &types = kernel.btf();
  for (const TraceEvent &event : kernel.trace_events()) {
    // Without tracefs there are no subsystems: only "*" can match them.
    bool subsystem_ok = event.subsystem.empty() ? subsystem_pattern == "*"
                                                : fnmatches(subsystem_pattern, event.subsystem);
    if (subsystem_ok && fnmatches(event_pattern, event.name) && types.has_tracepoint(event.name))
      matches.push_back(event);
  }
  std::sort(matches.begin(), matches.end(),
            [](const TraceEvent &a, const TraceEvent &b) { return a.full_name() < b.full_name(); });
  return matches;
}

bool TracepointProvider::handles(const ast::ProbePoint &point) const {
  return point.components.size() == 2 && point.components[0].name == "kernel" &&
         point.components[1].name == "trace";
}

std::vector<ast::ResolvedProbe> TracepointProvider::resolve(const ast::ProbePoint &point) const {
  const ast::ProbePointComponent &trace = point.components[1];
  if (!trace.string_arg || trace.string_arg->empty())
    throw CompileError(ErrorKind::Probe, "kernel.trace needs a tracepoint name: kernel.trace(\"subsys:event\")",
                       point.loc);
  const Btf &types = kernel_.btf();
  if (!types.handle())
    throw CompileError(ErrorKind::Probe, "kernel.trace needs kernel BTF: " + types.load_error(), point.loc);

  std::vector<ast::ResolvedProbe> probes;
  for (const TraceEvent &event : match_trace_events(kernel_, *trace.string_arg)) {
    ast::ResolvedProbe probe;
    probe.provider = this;
    probe.kind = ast::ProbeKind::Tracepoint;
    probe.name = event.full_name();
    probe.point = "kernel.trace(\"" + probe.name + "\")";
    probe.section = std::string(kTpBtfPrefix) + event.name;
    if (const auto *args = types.tracepoint_args(event.name))
      for (const btf::TracepointArg &arg : *args) probe.context_vars.push_back(arg.name);
    probes.push_back(std::move(probe));
  }
  return probes;
}

bool TracepointProvider::resolve_target(const ast::ResolvedProbe &probe, ast::TargetVarExpr &var) const {
  const Btf &types = kernel_.btf();
  const auto *args = types.tracepoint_args(event_of(probe));
  if (!args) return false;
  auto arg = std::find_if(args->begin(), args->end(),
                          [&](const btf::TracepointArg &a) { return a.name == var.name; });
  if (arg == args->end()) return false;

  btf::AccessResult access =
      types.resolve_access_path(arg->type_id, btf::AccessStart::Value, btf::access_components(var), var.address_of);
  if (access.error) {
    if (access.error->kind == btf::FieldError::NoSuchField) return false;
    if (var.components.empty()) target_error(var, "argument of type '" + arg->c_type + "' is not a scalar");
    target_error(var, access.error->message);
  }
  var.arg_index = static_cast<int>(arg - args->begin());
  var.steps = std::move(access.path->steps);
  var.btf_type_id = access.path->final_type_id;
  var.type = ast::Type::Long;
  var.resolved = true;
  return true;
}

std::vector<PointShape> TracepointProvider::list_components() const {
  return {PointShape{{{"kernel", PointShape::Arg::None}, {"trace", PointShape::Arg::String}}}};
}

std::vector<std::string> TracepointProvider::describe_context(const ast::ResolvedProbe &probe) const {
  std::vector<std::string> described;
  if (const auto *args = kernel_.btf().tracepoint_args(event_of(probe)))
    for (const btf::TracepointArg &arg : *args) described.push_back("$" + arg.name + ":" + arg.c_type);
  return described;
}

bpf_link *TracepointProvider::attach(const ast::ResolvedProbe &probe, bpf_program *prog) const {
  // The code generator may have placed the program in the raw_tp fallback
  // section; the program's own section decides how it attaches.
  const char *section = bpf_program__section_name(prog);
  std::string_view section_view = section ? section : "";
  if (section_view.substr(0, kRawTpPrefix.size()) == kRawTpPrefix)
    return bpf_program__attach_raw_tracepoint(prog, event_of(probe).c_str());
  // tp_btf: libbpf takes the target from the section name.
  return bpf_program__attach_trace(prog);
}

std::unique_ptr<Provider> make_tracepoint_provider(const KernelInfo &kernel) {
  return std::make_unique<TracepointProvider>(kernel);
}

}  // namespace ntap
