// Probe families ("providers") behind one interface.
//
// A provider turns a probe point written in a script (kernel.trace("tcp:*"),
// timer.s(5), begin) into concrete probes, describes their context variables
// ($location, $skb->len) for type checking and -L, names the BPF section a
// kernel probe's program goes in, and attaches the loaded program.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "frontend/ast.h"

struct bpf_program;
struct bpf_link;

namespace ntap {

class KernelInfo;

// The shape of one family of probe points a provider offers: its component
// names and the argument each takes (`timer.ms(N)` is {timer, none} {ms, number}).
// Wildcards in written components (`timer.*(5)`, `kernel.tr*("...")`) are
// matched against these, and -l lists them.
struct PointShape {
  enum class Arg : uint8_t { None, Number, String };
  struct Component {
    std::string name;
    Arg arg = Arg::None;
  };
  std::vector<Component> components;
  std::string str() const;  // "timer.ms(N)", "kernel.trace(\"NAME\")"
};

class Provider {
 public:
  virtual ~Provider() = default;

  // The family name shown in messages ("kernel.trace", "timer", "begin").
  virtual std::string_view family() const = 0;
  // Kernel probes run as BPF programs; user probes run in the ntap process.
  virtual ast::Side side() const = 0;
  // True when this provider owns the probe point's shape (by component names);
  // it may still find no concrete probe for it.
  virtual bool handles(const ast::ProbePoint &point) const = 0;
  // The concrete probes matching `point` (wildcards expand). Empty when
  // nothing matches. Throws CompileError for malformed arguments.
  virtual std::vector<ast::ResolvedProbe> resolve(const ast::ProbePoint &point) const = 0;
  // Fill in a target variable ($name->field...) for a concrete probe: argument
  // index, field offsets, final load size and signedness, its type.
  // Returns false when the probe has no such variable/field (the caller
  // reports the error, or folds @defined to 0).
  virtual bool resolve_target(const ast::ResolvedProbe &probe, ast::TargetVarExpr &var) const {
    return false;
  }
  // Called before a probe's target variables are resolved, with the names
  // ($name without the '$') its body uses: a provider whose probes can read
  // their context in more than one way (a tracepoint: its TP_PROTO arguments
  // or its event's format fields) picks the one these names need.
  virtual void choose_context(ast::ResolvedProbe &probe, const std::vector<std::string> &names) const {}
  // Hint lines for a point this provider handles that matched nothing: the
  // nearest names it offers ("did you mean ...?"). None by default.
  virtual std::vector<std::string> unmatched_hints(const ast::ProbePoint &point) const { return {}; }
  // Hint lines for a target variable resolve_target() did not find in
  // `probe`: the nearest context variable or struct member. None by default.
  virtual std::vector<std::string> target_hints(const ast::ResolvedProbe &probe,
                                                const ast::TargetVarExpr &var) const {
    return {};
  }
  // For @entry(expr) in a .return probe: the probes at the entry of the
  // function `ret` returns from, where expr is evaluated and kept for the
  // return (passes/entry_values.cpp); `at` locates errors. Empty when `ret`
  // is no function's return: @entry is then an error.
  virtual std::vector<ast::ResolvedProbe> entry_probes(const ast::ResolvedProbe &ret, const Location &at) const {
    return {};
  }
  // Every point shape this provider handles (see PointShape).
  virtual std::vector<PointShape> list_components() const { return {}; }
  // Context variables of a concrete probe with their C types, for -L.
  virtual std::vector<std::string> describe_context(const ast::ResolvedProbe &probe) const { return {}; }
  // Why this kernel cannot attach `probe` although it compiles (so -p4 still
  // writes the object): what was tried and why it failed. Empty when it can.
  virtual std::string unavailable_reason(const ast::ResolvedProbe &probe) const { return {}; }
  // Kernel side only: attach a loaded program. Returns null and sets errno on failure.
  virtual bpf_link *attach(const ast::ResolvedProbe &probe, bpf_program *prog) const { return nullptr; }
  // Kernel side only, for probes that need several attachments (timer.profile:
  // one perf event per CPU): appends every link to `links`, or on failure
  // appends none, sets errno and returns false. By default attach() once.
  virtual bool attach_all(const ast::ResolvedProbe &probe, bpf_program *prog, std::vector<bpf_link *> &links) const {
    bpf_link *link = attach(probe, prog);
    if (!link) return false;
    links.push_back(link);
    return true;
  }
};

// The errors providers report: a malformed or unsupported point (located at
// the point), and a target variable they cannot give (located at it).
[[noreturn]] void probe_error(const ast::ProbePoint &point, const std::string &message);
[[noreturn]] void target_error(const ast::TargetVarExpr &var, const std::string &message);

// The providers of one run, in the order they are asked. Each is built by
// its family's factory, `make_<family>_provider(const KernelInfo &)`, from
// the kernel it answers for; the list is kernel/providers/registry.cpp.
class ProviderIndex {
 public:
  explicit ProviderIndex(std::vector<std::unique_ptr<Provider>> providers);

  const std::vector<const Provider *> &all() const { return view_; }
  // The first provider that handles `point`, or null.
  const Provider *find(const ast::ProbePoint &point) const;
  // The provider of `family` on `side`, or null: for probes that elaboration
  // moves between providers (a timer that reads kernel memory).
  const Provider *find_family(std::string_view family, ast::Side side) const;
  // The concrete points a point with wildcard components stands for: one per
  // provider shape whose names match (fnmatch per component; a `**` component
  // may span several) and whose arguments match the written ones, which are
  // kept. In providers' order, then shape order. Empty when nothing matches.
  std::vector<ast::ProbePoint> expand_component_wildcards(const ast::ProbePoint &point) const;

 private:
  std::vector<std::unique_ptr<Provider>> providers_;
  std::vector<const Provider *> view_;
};

// Every provider, answering for `kernel` (which must outlive them):
// KernelInfo::providers() builds it once per run.
std::unique_ptr<ProviderIndex> make_provider_index(const KernelInfo &kernel);

// Whether a component name is a pattern (`*` within a component, `**` across dots).
bool has_component_wildcard(const ast::ProbePoint &point);

// Whether `point` (wildcards allowed) names a point of `shape`.
bool point_matches_shape(const ast::ProbePoint &point, const PointShape &shape);

}  // namespace ntap
