// kernel.trace("NAME") provider: event matching, TP_PROTO context variables,
// tp_btf / raw_tp attachment.
#include "kernel/providers/tracepoint.h"

#include <bpf/libbpf.h>
#include <fnmatch.h>

#include <algorithm>

#include "frontend/diagnostics.h"
#include "kernel/btf.h"
#include "kernel/providers/trace_format.h"

namespace ntap {
namespace {

constexpr std::string_view kTpBtfPrefix = "tp_btf/";
constexpr std::string_view kRawTpPrefix = "raw_tp/";
constexpr std::string_view kRecordPrefix = "tracepoint/";  // a perf-event program reading the record

bool fnmatches(const std::string &pattern, const std::string &text) {
  return ::fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

// The event name of a concrete probe: its section is "tp_btf/<event>" or
// "tracepoint/<subsys>/<event>".
std::string event_of(const ast::ResolvedProbe &probe) {
  size_t slash = probe.section.rfind('/');
  if (slash != std::string::npos) return probe.section.substr(slash + 1);
  size_t colon = probe.name.find(':');
  return colon == std::string::npos ? probe.name : probe.name.substr(colon + 1);
}

bool reads_record(const ast::ResolvedProbe &probe) { return probe.section.rfind(kRecordPrefix, 0) == 0; }

std::string subsystem_of(const ast::ResolvedProbe &probe) {
  size_t colon = probe.name.find(':');
  return colon == std::string::npos ? std::string() : probe.name.substr(0, colon);
}

const std::vector<TraceField> &fields_of(const KernelInfo &kernel, const ast::ResolvedProbe &probe) {
  return kernel.trace_event_fields(subsystem_of(probe), event_of(probe));
}

const TraceField *find_field(const std::vector<TraceField> &fields, const std::string &name) {
  for (const TraceField &field : fields)
    if (field.name == name) return &field;
  return nullptr;
}

bool is_argument(const std::vector<btf::TracepointArg> *args, const std::string &name) {
  return args && std::any_of(args->begin(), args->end(), [&](const btf::TracepointArg &a) { return a.name == name; });
}

class TracepointProvider final : public Provider {
 public:
  explicit TracepointProvider(const KernelInfo &kernel) : kernel_(kernel) {}
  std::string_view family() const override { return "kernel.trace"; }
  ast::Side side() const override { return ast::Side::Kernel; }
  bool handles(const ast::ProbePoint &point) const override;
  std::vector<ast::ResolvedProbe> resolve(const ast::ProbePoint &point) const override;
  bool resolve_target(const ast::ResolvedProbe &probe, ast::TargetVarExpr &var) const override;
  // A probe that names a format field no TP_PROTO argument has becomes a
  // perf-event tracepoint program reading the event's record ("tracepoint/"
  // section, decision 13); every $name of it is then a format field.
  void choose_context(ast::ResolvedProbe &probe, const std::vector<std::string> &names) const override;
  std::vector<std::string> unmatched_hints(const ast::ProbePoint &point) const override;
  std::vector<std::string> target_hints(const ast::ResolvedProbe &probe, const ast::TargetVarExpr &var) const override;
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

void TracepointProvider::choose_context(ast::ResolvedProbe &probe, const std::vector<std::string> &names) const {
  if (reads_record(probe)) return;
  const auto *args = kernel_.btf().tracepoint_args(event_of(probe));
  const std::vector<TraceField> &fields = fields_of(kernel_, probe);
  for (const std::string &name : names)
    if (!is_argument(args, name) && find_field(fields, name)) {
      probe.section = std::string(kRecordPrefix) + subsystem_of(probe) + "/" + event_of(probe);
      probe.context_vars.clear();
      for (const TraceField &field : fields) probe.context_vars.push_back(field.name);
      return;
    }
}

// $field of a probe reading its event's record: the field's offset in the
// record, loaded (a number) or not (an array is its address, as in C).
static bool resolve_field(const KernelInfo &kernel, const ast::ResolvedProbe &probe, ast::TargetVarExpr &var) {
  const TraceField *field = find_field(fields_of(kernel, probe), var.name);
  if (!field) {
    if (is_argument(kernel.btf().tracepoint_args(event_of(probe)), var.name))
      target_error(var, "$" + var.name + " is a TP_PROTO argument of " + probe.name +
                            ", but this probe reads the event's format fields, which have no '" + var.name +
                            "'; read the arguments and the fields in separate probes");
    return false;
  }
  if (field->is_data_loc)
    target_error(var, "format field '" + field->name + "' (" + field->c_type +
                          ") has a variable length, which ntap cannot read yet");
  if (!var.components.empty() || var.address_of)
    target_error(var, "format field '" + field->name + "' (" + field->c_type +
                          ") is a number or an array; use @cast to follow a pointer");
  var.steps = {ast::TargetStep{ast::TargetStep::Op::Add, field->offset}};
  if (!field->is_array) {
    if (field->size != 1 && field->size != 2 && field->size != 4 && field->size != 8)
      target_error(var, "format field '" + field->name + "' has a size of " + std::to_string(field->size) +
                            " bytes, which is not a number ntap can read");
    var.steps.push_back(ast::TargetStep{ast::TargetStep::Op::Load, field->size, field->is_signed});
  }
  var.arg_index = ast::kTraceRecordArg;
  var.btf_type_id = 0;
  var.type = ast::Type::Long;
  var.resolved = true;
  return true;
}

bool TracepointProvider::resolve_target(const ast::ResolvedProbe &probe, ast::TargetVarExpr &var) const {
  if (reads_record(probe)) return resolve_field(kernel_, probe, var);
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
  Btf::take_access_path(var, std::move(*access.path));
  return true;
}

// The attachable events named most like an unmatched one: by full name
// when the script wrote `subsys:event`, by event name otherwise. A pattern
// with wildcards gets no guess.
std::vector<std::string> TracepointProvider::unmatched_hints(const ast::ProbePoint &point) const {
  const auto &arg = point.components[1].string_arg;
  if (!arg || arg->find_first_of("*?[") != std::string::npos || !kernel_.btf().handle()) return {};
  const bool qualified = arg->find(':') != std::string::npos;
  std::vector<std::string> names;
  for (const TraceEvent &event : kernel_.trace_events())
    if (kernel_.btf().has_tracepoint(event.name)) names.push_back(qualified ? event.full_name() : event.name);
  std::string hint = did_you_mean(nearest_names(*arg, names, 3));
  if (hint.empty()) return {};
  return {hint};
}

// The argument named most like an unknown `$name`, or, for a known argument
// whose member chain failed, the member named most like the missing one.
std::vector<std::string> TracepointProvider::target_hints(const ast::ResolvedProbe &probe,
                                                          const ast::TargetVarExpr &var) const {
  const auto *args = kernel_.btf().tracepoint_args(event_of(probe));
  if (!args) return {};
  auto arg = std::find_if(args->begin(), args->end(),
                          [&](const btf::TracepointArg &a) { return a.name == var.name; });
  if (arg == args->end()) {
    std::vector<std::string> names, listed;
    for (const btf::TracepointArg &a : *args) {
      names.push_back(a.name);
      listed.push_back("$" + a.name);
    }
    std::vector<std::string> hints;
    if (std::string hint = did_you_mean(nearest_names(var.name, names), "$"); !hint.empty()) hints.push_back(hint);
    if (!listed.empty()) {
      std::string list;
      for (const std::string &name : listed) list += (list.empty() ? "" : ", ") + name;
      hints.push_back(probe.name + " provides " + list);
    }
    return hints;
  }
  btf::AccessResult access =
      kernel_.btf().resolve_access_path(arg->type_id, btf::AccessStart::Value, btf::access_components(var),
                                        var.address_of);
  if (!access.error) return {};
  return btf::field_hints(*access.error, true);
}

std::vector<PointShape> TracepointProvider::list_components() const {
  return {PointShape{{{"kernel", PointShape::Arg::None}, {"trace", PointShape::Arg::String}}}};
}

std::vector<std::string> describe_format_fields(const KernelInfo &kernel, const ast::ResolvedProbe &probe) {
  std::vector<std::string> described;
  const auto *args = kernel.btf().tracepoint_args(event_of(probe));
  for (const TraceField &field : fields_of(kernel, probe))
    if (reads_record(probe) || !is_argument(args, field.name))
      described.push_back("$" + field.name + ":" + field.c_type);
  return described;
}

std::vector<std::string> TracepointProvider::describe_context(const ast::ResolvedProbe &probe) const {
  if (reads_record(probe)) return describe_format_fields(kernel_, probe);
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
  if (reads_record(probe))
    return bpf_program__attach_tracepoint(prog, subsystem_of(probe).c_str(), event_of(probe).c_str());
  // tp_btf: libbpf takes the target from the section name.
  return bpf_program__attach_trace(prog);
}

std::unique_ptr<Provider> make_tracepoint_provider(const KernelInfo &kernel) {
  return std::make_unique<TracepointProvider>(kernel);
}

}  // namespace ntap
