// The process.begin / process.end provider (see process_lifecycle.h).
#include "kernel/providers/process_lifecycle.h"

#include <bpf/libbpf.h>

#include <algorithm>

#include "kernel/btf.h"
#include "kernel/kernel_info.h"
#include "kernel/providers/executable_filter.h"
#include "kernel/syscalls.h"

namespace ntap {
namespace {

class ProcessLifecycleProvider final : public Provider {
 public:
  explicit ProcessLifecycleProvider(const KernelInfo &kernel) : kernel_(kernel) {}
  std::string_view family() const override { return "process.begin/end"; }
  ast::Side side() const override { return ast::Side::Kernel; }

  bool handles(const ast::ProbePoint &point) const override {
    const auto &c = point.components;
    return c.size() == 2 && c[0].name == "process" && (c[1].name == "begin" || c[1].name == "end");
  }

  std::vector<PointShape> list_components() const override {
    using Arg = PointShape::Arg;
    std::vector<PointShape> shapes;
    for (Arg process : {Arg::None, Arg::String})
      for (const char *when : {"begin", "end"}) shapes.push_back(PointShape{{{"process", process}, {when, Arg::None}}});
    return shapes;
  }

  std::vector<ast::ResolvedProbe> resolve(const ast::ProbePoint &point) const override {
    const auto &c = point.components;
    const bool at_end = c[1].name == "end";
    if (c[1].string_arg || c[1].number_arg) probe_error(point, "'." + c[1].name + "' takes no argument");
    if (c[0].number_arg && *c[0].number_arg <= 0) probe_error(point, "process(PID) needs a positive process id");
    if (c[0].string_arg && c[0].string_arg->empty()) probe_error(point, "process(\"\") needs the path of an executable");
    const std::string event = at_end ? "sched_process_exit" : "sched_process_exec";
    const Btf &types = kernel_.btf();
    if (!types.handle()) probe_error(point, "process." + c[1].name + " needs kernel BTF: " + types.load_error());
    const auto *args = types.tracepoint_args(event);
    if (!args) probe_error(point, "process." + c[1].name + " needs the sched:" + event + " tracepoint, which this "
                                  "kernel does not have");
    ast::ResolvedProbe probe;
    probe.provider = this;
    probe.kind = ast::ProbeKind::Perf;  // a kernel probe its provider attaches
    probe.section = "tp_btf/" + event;
    std::string subject = "process";
    if (c[0].number_arg) {
      probe.pid = *c[0].number_arg;
      subject = "process(" + std::to_string(probe.pid) + ")";
    } else if (c[0].string_arg)
      subject = "process(\"" +
                filter_by_executable(probe, *c[0].string_arg, point, "process(\"" + *c[0].string_arg + "\")") + "\")";
    probe.name = subject + "." + c[1].name;
    probe.point = probe.name;
    // Once per process: the exit of its last thread (kernels since 6.16 say
    // so in group_dead; before, every thread's exit fires).
    if (at_end && args->size() >= 2 && (*args)[1].name == "group_dead") {
      btf::AccessResult access = types.resolve_access_path((*args)[1].type_id, btf::AccessStart::Value, {}, false);
      if (access.path) {
        probe.filter_arg = 1;
        probe.filter_steps = access.path->steps;
        probe.filter_value = 1;
      }
    }
    std::vector<ast::ResolvedProbe> probes{probe};
    if (at_end) {
      add_exec_as_end(probe, probes);
      return probes;
    }
    // A fork's child is a new process id, never process(PID)'s.
    if (!probe.pid) add_forked_children(probe, probes);
    add_running_processes(probe, probes);
    return probes;
  }

  // stap's process.begin/.end have no context variables.
  bool resolve_target(const ast::ResolvedProbe &, ast::TargetVarExpr &) const override { return false; }

  bpf_link *attach(const ast::ResolvedProbe &, bpf_program *prog) const override {
    return bpf_program__attach_trace(prog);  // tp_btf: the target is in the section name
  }

 private:
  // A process also begins as a fork's child (stap's task finder reports the
  // clone), in the child's context: the return of fork, vfork, clone or
  // clone3 that gives 0 in a task leading its thread group. raw_syscalls'
  // sys_exit fires there, before the child's first instruction; the call's
  // number is regs->orig_ax, as for kernel.syscall("NAME").return. Without
  // that event (or pt_regs' orig_ax) only execs begin.
  void add_forked_children(const ast::ResolvedProbe &exec, std::vector<ast::ResolvedProbe> &probes) const {
    const Btf &types = kernel_.btf();
    const auto *args = types.tracepoint_args("sys_exit");
    if (!args || args->size() != 2) return;
    btf::AccessResult number =
        types.resolve_access_path((*args)[0].type_id, btf::AccessStart::Value, {{"orig_ax", false}}, false);
    if (!number.path) return;
    for (const char *call : {"fork", "vfork", "clone", "clone3"}) {
      const std::optional<int> id = syscall_number(call);
      if (!id) continue;
      ast::ResolvedProbe child = exec;
      child.section = "tp_btf/sys_exit";
      child.filter_arg = 0;
      child.filter_steps = number.path->steps;
      child.filter_value = *id;
      child.new_process_only = true;
      child.native_calls_only = true;
      probes.push_back(std::move(child));
    }
  }

  // stap's task finder also reports the processes running when the script
  // starts, each in its own context when it next runs in the kernel. A
  // program cannot run in another task's context, so each begins at its
  // first system call entry or exit once the probes are attached (a process
  // waiting in a call begins when the call returns), or when the scheduler
  // switches it out still runnable (sched_switch runs in the switched-out
  // task's context: a process computing without system calls, rescheduled
  // on its way back to user space); the runtime lists them just before
  // attaching (ResolvedProbe::begins_running_process). Only runnable ones
  // (prev_state 0, TASK_RUNNING): a task switched out to wait is in a call,
  // or exiting, which must not begin it after its end.
  void add_running_processes(const ast::ResolvedProbe &exec, std::vector<ast::ResolvedProbe> &probes) const {
    const Btf &types = kernel_.btf();
    for (const char *event : {"sys_enter", "sys_exit"}) {
      if (!types.tracepoint_args(event)) continue;
      ast::ResolvedProbe running = exec;
      running.section = std::string("tp_btf/") + event;
      running.begins_running_process = true;
      probes.push_back(std::move(running));
    }
    const auto *args = types.tracepoint_args("sched_switch");
    if (!args) return;
    auto state = std::find_if(args->begin(), args->end(), [](const auto &arg) { return arg.name == "prev_state"; });
    if (state == args->end()) return;
    btf::AccessResult value = types.resolve_access_path(state->type_id, btf::AccessStart::Value, {}, false);
    if (!value.path) return;
    ast::ResolvedProbe running = exec;
    running.section = "tp_btf/sched_switch";
    running.begins_running_process = true;
    running.filter_arg = static_cast<int>(state - args->begin());
    running.filter_steps = value.path->steps;
    running.filter_value = 0;  // TASK_RUNNING
    probes.push_back(std::move(running));
  }

  // An exec ends the program that was running (stap's task finder reports
  // it as the process's end): sched_prepare_exec (Linux 6.10) fires past the
  // point of no return while the task still runs the old program, so
  // process("PATH").end's filter and the probe's execname() see the
  // program that ends. Older kernels end a process only at its exit.
  void add_exec_as_end(const ast::ResolvedProbe &exit, std::vector<ast::ResolvedProbe> &probes) const {
    if (!kernel_.btf().tracepoint_args("sched_prepare_exec")) return;
    ast::ResolvedProbe exec = exit;
    exec.section = "tp_btf/sched_prepare_exec";
    exec.filter_arg = -1;
    exec.filter_steps.clear();
    probes.push_back(std::move(exec));
  }

  const KernelInfo &kernel_;
};

}  // namespace

std::unique_ptr<Provider> make_process_lifecycle_provider(const KernelInfo &kernel) {
  return std::make_unique<ProcessLifecycleProvider>(kernel);
}

}  // namespace ntap
