// kernel.function / module().function / kprobe.function / kretprobe.function:
// matching over BTF function names, context variables from BTF prototypes,
// fentry/fexit or kprobe/kretprobe sections, attachment.
#include "kernel/providers/kernel_function.h"

#include <bpf/libbpf.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "kernel/btf.h"
#include "kernel/btf_functions.h"
#include "kernel/function_support.h"
#include "kernel/kernel_info.h"
#include "kernel/symbols.h"

namespace ntap {
namespace {

using Arg = PointShape::Arg;

// Which of the written forms a point is.
enum class Form : uint8_t { KernelFunction, ModuleFunction, Kprobe, Kretprobe };

struct Written {
  Form form;
  std::string module;   // module("M")
  std::string pattern;  // function("PAT")
  bool is_return = false;
  bool is_call = false;  // written with .call
};

bool named(const ast::ProbePointComponent &c, std::string_view name) { return c.name == name; }

std::optional<Written> parse_point(const ast::ProbePoint &point) {
  const auto &c = point.components;
  if (c.size() < 2 || !named(c[1], "function")) return std::nullopt;
  Written w{};
  if (named(c[0], "kernel"))
    w.form = Form::KernelFunction;
  else if (named(c[0], "module"))
    w.form = Form::ModuleFunction;
  else if (named(c[0], "kprobe"))
    w.form = Form::Kprobe;
  else if (named(c[0], "kretprobe"))
    w.form = Form::Kretprobe;
  else
    return std::nullopt;
  if (c.size() == 3) {
    if (named(c[2], "return") && w.form != Form::Kretprobe)
      w.is_return = true;
    else if (named(c[2], "call") && w.form != Form::Kprobe && w.form != Form::Kretprobe)
      w.is_call = true;
    else
      return std::nullopt;
  } else if (c.size() != 2) {
    return std::nullopt;
  }
  if (w.form == Form::Kretprobe) w.is_return = true;
  if (c[0].string_arg) w.module = *c[0].string_arg;
  if (c[1].string_arg) w.pattern = *c[1].string_arg;
  return w;
}

std::string quoted(const std::string &s) { return "\"" + s + "\""; }

// pp() of a concrete probe, as the family spells it.
std::string spell(const Written &w, const std::string &function) {
  const char *suffix = w.is_return ? ").return" : w.is_call ? ").call" : ")";
  switch (w.form) {
    case Form::KernelFunction: return "kernel.function(" + quoted(function) + suffix;
    case Form::ModuleFunction: return "module(" + quoted(w.module) + ").function(" + quoted(function) + suffix;
    case Form::Kprobe: return "kprobe.function(" + quoted(function) + (w.is_return ? ").return" : ")");
    case Form::Kretprobe: return "kretprobe.function(" + quoted(function) + ")";
  }
  return function;
}

// The section of a concrete probe says everything codegen and attach need:
// "fentry/tcp_v4_rcv", "fexit/...", "kprobe/...", "kretprobe/...".
struct Section {
  FunctionMechanism mechanism = FunctionMechanism::Fentry;
  bool is_return = false;
  std::string function;
};

Section parse_section(const std::string &section) {
  Section s;
  size_t slash = section.find('/');
  std::string kind = section.substr(0, slash);
  s.function = slash == std::string::npos ? std::string() : section.substr(slash + 1);
  s.mechanism = kind == "kprobe" || kind == "kretprobe" ? FunctionMechanism::Kprobe : FunctionMechanism::Fentry;
  s.is_return = kind == "fexit" || kind == "kretprobe";
  return s;
}

std::string section_of(FunctionMechanism mechanism, bool is_return, const std::string &function) {
  if (mechanism == FunctionMechanism::Kprobe) return (is_return ? "kretprobe/" : "kprobe/") + function;
  return (is_return ? "fexit/" : "fentry/") + function;
}

// Registers holding the first arguments and the return value, as pt_regs
// names them. kprobes read arguments only from there: an argument passed on
// the stack, or a struct passed by value, is not offered.
#if defined(__x86_64__)
constexpr std::array<const char *, 6> kArgRegisters = {"di", "si", "dx", "cx", "r8", "r9"};
constexpr const char *kReturnRegister = "ax";
#else
constexpr std::array<const char *, 0> kArgRegisters = {};
constexpr const char *kReturnRegister = nullptr;
#endif

// The 8-byte context slot holding a pt_regs register, or nullopt.
std::optional<int> register_slot(const BtfFunctions &functions, const char *reg) {
  if (!reg) return std::nullopt;
  std::optional<uint32_t> offset = functions.member_offset("pt_regs", reg);
  if (!offset || *offset % 8 != 0) return std::nullopt;
  return static_cast<int>(*offset / 8);
}

class KernelFunctionProvider final : public Provider {
 public:
  explicit KernelFunctionProvider(const KernelInfo &kernel) : kernel_(kernel) {}
  std::string_view family() const override { return "kernel.function"; }
  ast::Side side() const override { return ast::Side::Kernel; }
  bool handles(const ast::ProbePoint &point) const override { return parse_point(point).has_value(); }

  std::vector<ast::ResolvedProbe> resolve(const ast::ProbePoint &point) const override {
    Written w = *parse_point(point);
    const std::string head = spell(w, w.pattern);
    if (w.pattern.empty())
      throw CompileError(ErrorKind::Probe, head + " needs a function name or pattern: kernel.function(\"tcp_*\")",
                         point.loc);
    if (w.form == Form::ModuleFunction && w.module.empty())
      throw CompileError(ErrorKind::Probe, "module(\"NAME\").function needs a module name", point.loc);
    if (!kernel_.btf().handle())
      throw CompileError(ErrorKind::Probe, head + " needs kernel BTF: " + kernel_.btf().load_error(), point.loc);
    const BtfFunctions &known = kernel_.functions();
    std::vector<std::string> functions;
    if (w.form == Form::ModuleFunction) {
      // Module functions are in the module's own BTF (/sys/kernel/btf/M),
      // which exists only while the module is loaded.
      if (!known.module_loaded(w.module)) {
        if (point.optional) return {};
        throw CompileError(ErrorKind::Probe,
                           head + ": module '" + w.module + "' is not loaded (no " + kernel_.paths().module_btf + "/" +
                               w.module + ")",
                           point.loc);
      }
      functions = known.match_module(w.module, w.pattern);
    } else {
      functions = known.match(w.pattern);
      drop_init_functions(functions, point, head);
    }
    std::vector<ast::ResolvedProbe> probes;
    if (functions.empty()) return probes;

    const FunctionSupport &support = kernel_.function_support(first_func_id(w, functions.front()));
    const bool kprobe_family = w.form == Form::Kprobe || w.form == Form::Kretprobe;
    const FunctionMechanism mechanism = kprobe_family ? FunctionMechanism::Kprobe : support.chosen();

    for (const std::string &function : functions) {
      ast::ResolvedProbe probe;
      probe.provider = this;
      // A BPF program its provider attaches, as a tracepoint's is.
      probe.kind = ast::ProbeKind::Tracepoint;
      probe.name = w.form == Form::ModuleFunction ? w.module + ":" + function : function;
      probe.point = spell(w, function);
      probe.section = section_of(mechanism, w.is_return, function);
      for (const std::string &var : context_names(probe)) probe.context_vars.push_back(var);
      probes.push_back(std::move(probe));
    }
    return probes;
  }

  // Functions in the kernel's init text ran once at boot and were freed
  // after it; BTF still declares them. stap skips them; so does ntap, and
  // says why when that leaves nothing.
  void drop_init_functions(std::vector<std::string> &functions, const ast::ProbePoint &point,
                           const std::string &head) const {
    KernelSymbols &symbols = kernel_.symbols();
    const size_t matched = functions.size();
    functions.erase(std::remove_if(functions.begin(), functions.end(),
                                   [&](const std::string &f) { return symbols.is_init_function(f); }),
                    functions.end());
    if (matched == 0 || !functions.empty() || point.optional) return;
    throw CompileError(ErrorKind::Probe,
                       head + ": " + (matched == 1 ? "the function is" : "every matching function is") +
                           " in the kernel's init text (.init.text), which is freed after boot: nothing to probe",
                       point.loc);
  }

  bool resolve_target(const ast::ResolvedProbe &probe, ast::TargetVarExpr &var) const override {
    const Section section = parse_section(probe.section);
    std::optional<btf::FunctionProto> proto = proto_of(probe);
    if (!proto) return false;
    uint32_t type_id = 0;
    int slot = -1;
    if (var.name == "return") {
      if (!section.is_return || proto->return_type_id == 0) return false;
      type_id = proto->return_type_id;
      if (section.mechanism == FunctionMechanism::Fentry) {
        slot = static_cast<int>(proto->return_slot());
      } else {
        std::optional<int> reg = register_slot(kernel_.functions(), kReturnRegister);
        if (!reg) target_error(var, "$return: kprobes on this architecture have no known return register");
        slot = *reg;
      }
    } else {
      auto param = std::find_if(proto->params.begin(), proto->params.end(),
                                [&](const btf::FunctionParam &p) { return p.name == var.name; });
      if (param == proto->params.end()) return false;
      if (!param->readable)
        target_error(var, "$" + var.name + " has the type '" + param->c_type +
                              "', which only the module's BTF defines; ntap reads types from vmlinux BTF");
      type_id = param->type_id;
      if (section.mechanism == FunctionMechanism::Fentry) {
        slot = static_cast<int>(param->slot);
      } else {
        if (section.is_return)
          target_error(var, "$" + var.name +
                                ": a kretprobe sees only the return value, the arguments are gone "
                                "at return (kernel.function(...).return reads them where fexit is available)");
        // Registers carry arguments only while every one before fits one.
        if (param->slot != static_cast<uint32_t>(param - proto->params.begin()) || param->slots != 1 ||
            param->slot >= kArgRegisters.size())
          target_error(var, "$" + var.name + ": argument " + std::to_string(param - proto->params.begin() + 1) +
                                " is not passed in a register a kprobe can read");
        std::optional<int> reg = register_slot(kernel_.functions(), kArgRegisters[param->slot]);
        if (!reg)
          target_error(var, "$" + var.name + ": the kernel's pt_regs has no register " + kArgRegisters[param->slot]);
        slot = *reg;
      }
    }
    btf::AccessResult access = kernel_.btf().resolve_access_path(type_id, btf::AccessStart::Value,
                                                                 btf::access_components(var), var.address_of);
    if (access.error) {
      if (access.error->kind == btf::FieldError::NoSuchField) return false;
      if (var.components.empty())
        target_error(var, "$" + var.name + " of type '" + kernel_.btf().type_to_c(type_id) + "' is not a scalar");
      target_error(var, access.error->message);
    }
    var.arg_index = slot;
    Btf::take_access_path(var, std::move(*access.path));
    return true;
  }

  // fentry for an fexit, a kprobe for a kretprobe, on the same function:
  // what stap's kretprobe entry handler does for @entry.
  std::vector<ast::ResolvedProbe> entry_probes(const ast::ResolvedProbe &ret, const Location &) const override {
    const Section section = parse_section(ret.section);
    if (!section.is_return) return {};
    ast::ResolvedProbe entry = ret;
    entry.section = section_of(section.mechanism, false, section.function);
    entry.context_vars.clear();
    for (const std::string &var : context_names(entry)) entry.context_vars.push_back(var);
    return {std::move(entry)};
  }

  std::vector<PointShape> list_components() const override {
    auto fn = [](std::vector<PointShape::Component> c) { return PointShape{std::move(c)}; };
    return {
        fn({{"kernel"}, {"function", Arg::String}}),
        fn({{"kernel"}, {"function", Arg::String}, {"call"}}),
        fn({{"kernel"}, {"function", Arg::String}, {"return"}}),
        fn({{"module", Arg::String}, {"function", Arg::String}}),
        fn({{"module", Arg::String}, {"function", Arg::String}, {"call"}}),
        fn({{"module", Arg::String}, {"function", Arg::String}, {"return"}}),
        fn({{"kprobe"}, {"function", Arg::String}}),
        fn({{"kprobe"}, {"function", Arg::String}, {"return"}}),
        fn({{"kretprobe"}, {"function", Arg::String}}),
    };
  }

  std::vector<std::string> describe_context(const ast::ResolvedProbe &probe) const override {
    std::vector<std::string> described;
    std::optional<btf::FunctionProto> proto = proto_of(probe);
    if (!proto) return described;
    const Section section = parse_section(probe.section);
    const bool args_readable = !(section.mechanism == FunctionMechanism::Kprobe && section.is_return);
    if (args_readable)
      for (const btf::FunctionParam &p : proto->params) described.push_back("$" + p.name + ":" + p.c_type);
    if (section.is_return && proto->return_type_id) described.push_back("$return:" + proto->return_c_type);
    return described;
  }

  // The mechanism was chosen when the probe was resolved, so the support is
  // known (function_support's argument only matters the first time).
  std::string unavailable_reason(const ast::ResolvedProbe &probe) const override {
    const FunctionSupport &support = kernel_.function_support(0);
    const bool kprobe_family = probe.point.rfind("kprobe.", 0) == 0 || probe.point.rfind("kretprobe.", 0) == 0;
    if (kprobe_family) return support.kprobe ? "" : probe.point + ": kprobe: " + support.kprobe_error;
    return support.any() ? "" : probe.point + ": " + support.unavailable_reason();
  }

  bpf_link *attach(const ast::ResolvedProbe &probe, bpf_program *prog) const override {
    if (!unavailable_reason(probe).empty()) {
      errno = EOPNOTSUPP;
      return nullptr;
    }
    const Section section = parse_section(probe.section);
    if (section.mechanism == FunctionMechanism::Kprobe)
      return bpf_program__attach_kprobe(prog, section.is_return, section.function.c_str());
    return bpf_program__attach_trace(prog);  // libbpf takes the target from the section
  }

 private:
  std::optional<btf::FunctionProto> proto_of(const ast::ResolvedProbe &probe) const {
    const Section section = parse_section(probe.section);
    size_t colon = probe.name.find(':');
    if (colon != std::string::npos)
      return kernel_.functions().module_proto(probe.name.substr(0, colon), section.function);
    return kernel_.functions().proto(section.function);
  }

  std::vector<std::string> context_names(const ast::ResolvedProbe &probe) const {
    std::vector<std::string> names;
    for (const std::string &described : describe_context(probe))
      names.push_back(described.substr(1, described.find(':') - 1));
    return names;
  }

  uint32_t first_func_id(const Written &w, const std::string &function) const {
    // A module's function has no vmlinux id; any vmlinux function tells
    // whether the kernel accepts fentry programs at all.
    const BtfFunctions &known = kernel_.functions();
    std::optional<btf::FunctionProto> proto = w.form == Form::ModuleFunction ? std::nullopt : known.proto(function);
    if (!proto && !known.names().empty()) proto = known.proto(known.names().front());
    return proto ? proto->func_id : 0;
  }

  const KernelInfo &kernel_;
};

}  // namespace

std::unique_ptr<Provider> make_kernel_function_provider(const KernelInfo &kernel) {
  return std::make_unique<KernelFunctionProvider>(kernel);
}

}  // namespace ntap
