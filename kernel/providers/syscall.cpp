// The kernel.syscall provider. Context variables:
//   entry:  $id (the call's number), $arg1 ... $arg6 (its arguments, as the
//           registers carry them: unsigned long), $regs (struct pt_regs *)
//   return: $return (the result, or -errno), $id, $regs
// Entry and exit both read the user registers the kernel saved (pt_regs):
// x86_64 passes arguments in di, si, dx, r10, r8, r9, and orig_ax keeps the
// call's number after ax has been overwritten with the result.
#include "kernel/providers/syscall.h"

#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <utility>

#include "kernel/btf.h"
#include "kernel/kernel_info.h"
#include "kernel/providers/executable_filter.h"
#include "kernel/syscalls.h"

namespace ntap {
namespace {

constexpr const char *kArgRegisters[] = {"di", "si", "dx", "r10", "r8", "r9"};
constexpr const char *kNumberRegister = "orig_ax";

// Whether a concrete probe attaches to sys_exit (else sys_enter).
bool is_return(const ast::ResolvedProbe &probe) { return probe.section == "tp_btf/sys_exit"; }

// `$name` as TP_PROTO argument `arg` followed by `prefix` members (a pt_regs
// register) and then the components written after it.
bool resolve_from(const Btf &types, const btf::TracepointArg &arg, int arg_index,
                  const std::vector<std::string> &prefix, ast::TargetVarExpr &var) {
  std::vector<btf::AccessComponent> components;
  for (const std::string &field : prefix) components.push_back({field, false});
  for (const btf::AccessComponent &c : btf::access_components(var)) components.push_back(c);
  btf::AccessResult access = types.resolve_access_path(arg.type_id, btf::AccessStart::Value, components, var.address_of);
  if (access.error) {
    if (access.error->kind == btf::FieldError::NoSuchField && !var.components.empty()) return false;
    if (access.error->kind == btf::FieldError::NoSuchField && !prefix.empty())
      target_error(var, "this kernel's struct pt_regs has no register '" + prefix.front() + "'");
    target_error(var, access.error->message);
  }
  var.arg_index = arg_index;
  Btf::take_access_path(var, std::move(*access.path));
  return true;
}

// The call's number: sys_enter's own argument; at sys_exit, the number the
// kernel kept in regs->orig_ax (sys_exit's second argument is the result).
bool resolve_number(const Btf &types, bool at_return, const std::vector<btf::TracepointArg> &args,
                    ast::TargetVarExpr &var) {
  if (!at_return) return resolve_from(types, args[1], 1, {}, var);
  return resolve_from(types, args[0], 0, {kNumberRegister}, var);
}

// The context variables both providers offer: `number` names the call's
// number ($id for kernel.syscall, $syscall for process.syscall).
bool resolve_call_variable(const Btf &types, bool at_return, const std::string &number, ast::TargetVarExpr &var) {
  const auto *args = types.tracepoint_args(at_return ? "sys_exit" : "sys_enter");
  if (!args || args->size() != 2) return false;
  const btf::TracepointArg &regs = (*args)[0];
  if (var.name == "regs") return resolve_from(types, regs, 0, {}, var);
  if (var.name == number) {
    if (!var.components.empty() || var.address_of) target_error(var, "$" + number + " is a number");
    return resolve_number(types, at_return, *args, var);
  }
  if (at_return && var.name == "return") {
    if (!var.components.empty() || var.address_of) target_error(var, "$return is a number");
    return resolve_from(types, (*args)[1], 1, {}, var);
  }
  if (!at_return && var.name.size() == 4 && var.name.compare(0, 3, "arg") == 0 && var.name[3] >= '1' &&
      var.name[3] <= '6')
    return resolve_from(types, regs, 0, {kArgRegisters[var.name[3] - '1']}, var);
  return false;
}

std::vector<std::string> call_variable_names(bool at_return, const std::string &number) {
  if (at_return) return {"return", number, "regs"};
  return {number, "arg1", "arg2", "arg3", "arg4", "arg5", "arg6", "regs"};
}

std::vector<std::string> describe_call_variables(const Btf &types, bool at_return, const std::string &number) {
  std::vector<std::string> described;
  const auto *args = types.tracepoint_args(at_return ? "sys_exit" : "sys_enter");
  const std::string regs_type = args && !args->empty() ? (*args)[0].c_type : "struct pt_regs*";
  for (const std::string &name : call_variable_names(at_return, number)) {
    std::string type = "unsigned long";
    if (name == number || name == "return") type = "long";
    if (name == "regs") type = regs_type;
    described.push_back("$" + name + ":" + type);
  }
  return described;
}

// What kernel.syscall and process.syscall share: tp_btf programs on
// raw_syscalls:sys_enter/sys_exit whose context is the call's registers,
// its number under the family's name for it, and its result at exit.
class RawSyscallsProvider : public Provider {
 public:
  RawSyscallsProvider(const KernelInfo &kernel, std::string number) : kernel_(kernel), number_(std::move(number)) {}
  ast::Side side() const override { return ast::Side::Kernel; }

  bool resolve_target(const ast::ResolvedProbe &probe, ast::TargetVarExpr &var) const override {
    return resolve_call_variable(kernel_.btf(), is_return(probe), number_, var);
  }

  std::vector<std::string> describe_context(const ast::ResolvedProbe &probe) const override {
    return describe_call_variables(kernel_.btf(), is_return(probe), number_);
  }

  bpf_link *attach(const ast::ResolvedProbe &, bpf_program *prog) const override {
    return bpf_program__attach_trace(prog);  // tp_btf: the target is in the section name
  }

 protected:
  const KernelInfo &kernel_;
  const std::string number_;  // "id", "syscall"
};

class SyscallProvider final : public RawSyscallsProvider {
 public:
  explicit SyscallProvider(const KernelInfo &kernel) : RawSyscallsProvider(kernel, "id") {}
  std::string_view family() const override { return "kernel.syscall"; }

  bool handles(const ast::ProbePoint &point) const override {
    return point.components.size() >= 2 && point.components[0].name == "kernel" &&
           point.components[1].name == "syscall";
  }

  std::vector<PointShape> list_components() const override {
    using Arg = PointShape::Arg;
    return {PointShape{{{"kernel", Arg::None}, {"syscall", Arg::String}}},
            PointShape{{{"kernel", Arg::None}, {"syscall", Arg::String}, {"return", Arg::None}}}};
  }

  std::vector<ast::ResolvedProbe> resolve(const ast::ProbePoint &point) const override {
    const auto &components = point.components;
    const ast::ProbePointComponent &call = components[1];
    if (!call.string_arg || call.string_arg->empty())
      throw CompileError(ErrorKind::Probe, "kernel.syscall needs a system call name: kernel.syscall(\"openat\")",
                         point.loc);
    if (components.size() > 3 || (components.size() == 3 && components[2].name != "return") ||
        components[0].string_arg || components[0].number_arg || call.number_arg ||
        (components.size() == 3 && (components[2].string_arg || components[2].number_arg)))
      throw CompileError(ErrorKind::Probe,
                         "kernel.syscall takes the forms kernel.syscall(\"NAME\") and "
                         "kernel.syscall(\"NAME\").return",
                         point.loc, "probe point '" + point.str() + "'");
    const bool at_return = components.size() == 3;
    const std::string event = at_return ? "sys_exit" : "sys_enter";
    const Btf &types = kernel_.btf();
    if (!types.handle())
      throw CompileError(ErrorKind::Probe, "kernel.syscall needs kernel BTF: " + types.load_error(), point.loc);
    const auto *args = types.tracepoint_args(event);
    if (!args || args->size() != 2)
      throw CompileError(ErrorKind::Probe,
                         "kernel.syscall needs the raw_syscalls:" + event + "(regs, " + (at_return ? "ret" : "id") +
                             ") tracepoint, which this kernel does not have",
                         point.loc);
    // The number the program compares: $id at entry, regs->orig_ax at exit.
    ast::TargetVarExpr number(point.loc, "id");
    if (!resolve_number(types, at_return, *args, number))
      throw CompileError(ErrorKind::Probe, "this kernel's struct pt_regs has no orig_ax", point.loc);

    std::vector<ast::ResolvedProbe> probes;
    for (const SyscallEntry &entry : match_syscalls(*call.string_arg)) {
      ast::ResolvedProbe probe;
      probe.provider = this;
      probe.kind = ast::ProbeKind::Perf;  // a kernel probe its provider attaches
      probe.name = "kernel.syscall(\"" + std::string(entry.name) + "\")" + (at_return ? ".return" : "");
      probe.point = probe.name;
      probe.section = "tp_btf/" + event;
      probe.param = entry.number;
      probe.filter_arg = number.arg_index;
      probe.filter_steps = number.steps;
      probe.filter_value = entry.number;
      probe.native_calls_only = true;
      probe.context_vars = call_variable_names(at_return, number_);
      probes.push_back(std::move(probe));
    }
    return probes;
  }
};

// process("PATH").syscall, process(PID).syscall, process.syscall (the -c/-x
// target) and their .return: stap's per-process system call probes, every
// call the process makes, with $syscall (its number), $arg1..$arg6 and
// $return. No call filter: the program runs its body only in the process
// (by its executable, its pid or target()).
class ProcessSyscallProvider final : public RawSyscallsProvider {
 public:
  explicit ProcessSyscallProvider(const KernelInfo &kernel) : RawSyscallsProvider(kernel, "syscall") {}
  std::string_view family() const override { return "process.syscall"; }

  bool handles(const ast::ProbePoint &point) const override {
    const auto &c = point.components;
    return c.size() >= 2 && c[0].name == "process" && c[1].name == "syscall";
  }

  std::vector<PointShape> list_components() const override {
    using Arg = PointShape::Arg;
    std::vector<PointShape> shapes;
    for (Arg process : {Arg::None, Arg::String, Arg::Number}) {
      shapes.push_back(PointShape{{{"process", process}, {"syscall", Arg::None}}});
      shapes.push_back(PointShape{{{"process", process}, {"syscall", Arg::None}, {"return", Arg::None}}});
    }
    return shapes;
  }

  std::vector<ast::ResolvedProbe> resolve(const ast::ProbePoint &point) const override {
    const auto &c = point.components;
    const bool at_return = c.size() == 3 && c[2].name == "return";
    if (c.size() > 3 || (c.size() == 3 && !at_return) || c[1].string_arg || c[1].number_arg ||
        (at_return && (c[2].string_arg || c[2].number_arg)))
      probe_error(point, "process.syscall takes the forms process(\"PATH\").syscall, process(PID).syscall and "
                         "process.syscall, each with an optional .return");
    const std::string event = at_return ? "sys_exit" : "sys_enter";
    const Btf &types = kernel_.btf();
    if (!types.handle()) probe_error(point, "process.syscall needs kernel BTF: " + types.load_error());
    const auto *args = types.tracepoint_args(event);
    if (!args || args->size() != 2)
      probe_error(point, "process.syscall needs the raw_syscalls:" + event + " tracepoint, which this kernel does "
                         "not have");
    ast::ResolvedProbe probe;
    probe.provider = this;
    probe.kind = ast::ProbeKind::Perf;  // a kernel probe its provider attaches
    probe.section = "tp_btf/" + event;
    probe.native_calls_only = true;
    std::string subject = "process";
    if (c[0].string_arg) {
      subject = "process(\"" +
                filter_by_executable(probe, *c[0].string_arg, point, "process(\"" + *c[0].string_arg + "\")") + "\")";
    } else if (c[0].number_arg) {
      if (*c[0].number_arg <= 0) probe_error(point, "process(PID) needs a positive process id");
      probe.pid = *c[0].number_arg;
      subject = "process(" + std::to_string(probe.pid) + ")";
    } else {
      const ProcessTarget &target = kernel_.process_target();
      if (target.command.empty() && target.pid <= 0)
        probe_error(point, "process.syscall without a path or pid needs a target process (-c CMD or -x PID)");
      probe.pid = ast::ResolvedProbe::kTargetPid;
    }
    probe.name = subject + ".syscall" + (at_return ? ".return" : "");
    probe.point = probe.name;
    probe.context_vars = call_variable_names(at_return, number_);
    return {probe};
  }
};

}  // namespace

std::unique_ptr<Provider> make_syscall_provider(const KernelInfo &kernel) {
  return std::make_unique<SyscallProvider>(kernel);
}

std::unique_ptr<Provider> make_process_syscall_provider(const KernelInfo &kernel) {
  return std::make_unique<ProcessSyscallProvider>(kernel);
}

}  // namespace ntap
