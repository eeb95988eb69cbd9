// The builtin functions: signatures and the sides each may run on.
#include "frontend/builtins.h"

#include <algorithm>

namespace ntap {
namespace {

using ast::Type;
constexpr unsigned kBoth = Builtin::Kernel | Builtin::User;
// Rendered in user space: computed there in user probes, carried as a number
// from kernel probes and rendered when the record is printed.
constexpr unsigned kDeferredInKernel = Builtin::User | Builtin::Kernel | Builtin::Deferred;

const std::vector<Builtin> kBuiltins = {
    // printf(fmt, ...): formatted output; kernel probes send a ring-buffer record.
    {"printf", Type::Long, {Type::String}, Builtin::Format | Builtin::Variadic | kBoth | Builtin::NoReturnValue},
    // sprintf(fmt, ...): formatted string; in kernel probes through bpf_snprintf,
    // which knows fewer conversions (codegen/bpf/sprintf_bpf.cpp).
    {"sprintf", Type::String, {Type::String}, Builtin::Format | Builtin::Variadic | kBoth},
    // print(...): each argument in its natural format, no separator.
    {"print", Type::Long, {}, Builtin::Variadic | kBoth | Builtin::NoReturnValue},
    // println(...): like print, then a newline.
    {"println", Type::Long, {}, Builtin::Variadic | kBoth | Builtin::NoReturnValue},
    // sprint(...)/sprintln(...): the text print/println would write, as a string.
    {"sprint", Type::String, {}, Builtin::Variadic | kBoth},
    {"sprintln", Type::String, {}, Builtin::Variadic | kBoth},
    // printd(delim, ...)/printdln(delim, ...): the values joined by a literal
    // delimiter (printdln adds a newline); sprintd/sprintdln return the text.
    {"printd", Type::Long, {Type::String}, Builtin::Variadic | Builtin::Delimited | kBoth | Builtin::NoReturnValue},
    {"printdln", Type::Long, {Type::String}, Builtin::Variadic | Builtin::Delimited | kBoth | Builtin::NoReturnValue},
    {"sprintd", Type::String, {Type::String}, Builtin::Variadic | Builtin::Delimited | kBoth},
    {"sprintdln", Type::String, {Type::String}, Builtin::Variadic | Builtin::Delimited | kBoth},

    // ---- control
    // exit(): end the run after the current probe (end probes still run).
    {"exit", Type::Long, {}, kBoth | Builtin::NoReturnValue},
    // abort(): like exit(), but leaves the current probe handler at once.
    {"abort", Type::Long, {}, kBoth | Builtin::NoReturnValue},
    // error(msg): a run-time error: the probe stops, error and end probes run, exit status 1.
    // In kernel probes a computed message travels in the error record.
    {"error", Type::Long, {Type::String}, kBoth | Builtin::NoReturnValue},
    // assert(cond[, msg]): error(msg, default "Assertion failed") when cond is 0.
    {"assert", Type::Long, {Type::Long}, Builtin::Variadic | Builtin::NotOutput | kBoth | Builtin::NoReturnValue},
    // warn(msg): "WARNING: msg" on stderr.
    {"warn", Type::Long, {Type::String}, kBoth | Builtin::NoReturnValue},
    // log(msg): msg and a newline to the output.
    {"log", Type::Long, {Type::String}, kBoth | Builtin::NoReturnValue},

    // pp(): the probe point that fired, fully resolved (aliases and wildcards
    // expanded), as stap spells it: kernel.trace("skb:kfree_skb"), timer.ms(100).
    {"pp", Type::String, {}, kBoth},
    // pn(): the probe point as the script named it: the alias (wildcards
    // expanded) for a probe on an alias, else what pp() gives.
    {"pn", Type::String, {}, kBoth},

    // ---- process (user probes describe ntap itself, as stap's describe stapio)
    // execname(): the current task's command name.
    {"execname", Type::String, {}, kBoth},
    // pid(): the current process (thread group) id.
    {"pid", Type::Long, {}, kBoth},
    // tid(): the current thread id.
    {"tid", Type::Long, {}, kBoth},
    // ppid(): the parent process id. In kernel probes this and pexecname,
    // euid, egid read the current task_struct (ast::Program::task_paths).
    {"ppid", Type::Long, {}, kBoth},
    // pexecname(): the parent process's command name.
    {"pexecname", Type::String, {}, kBoth},
    // uid()/gid(): real user and group ids; euid()/egid(): effective ones.
    {"uid", Type::Long, {}, kBoth},
    {"gid", Type::Long, {}, kBoth},
    {"euid", Type::Long, {}, kBoth},
    {"egid", Type::Long, {}, kBoth},
    // target(): the process given with -x PID or started with -c CMD (0 when none).
    {"target", Type::Long, {}, kBoth},
    // cpu(): the CPU the probe runs on.
    {"cpu", Type::Long, {}, kBoth},

    // ---- time
    // gettimeofday_s(): wall-clock seconds since the epoch.
    {"gettimeofday_s", Type::Long, {}, kBoth},
    // gettimeofday_ms(): wall-clock milliseconds since the epoch.
    {"gettimeofday_ms", Type::Long, {}, kBoth},
    // gettimeofday_us(): wall-clock microseconds since the epoch.
    {"gettimeofday_us", Type::Long, {}, kBoth},
    // gettimeofday_ns(): wall-clock nanoseconds since the epoch.
    {"gettimeofday_ns", Type::Long, {}, kBoth},
    // local_clock_*(): the monotonic clock (ns since boot, not counting suspend).
    {"local_clock_ns", Type::Long, {}, kBoth},
    {"local_clock_us", Type::Long, {}, kBoth},
    {"local_clock_ms", Type::Long, {}, kBoth},
    {"local_clock_s", Type::Long, {}, kBoth},
    // cpu_clock_*(cpu): the clock of a CPU; all CPUs share the monotonic clock here.
    {"cpu_clock_ns", Type::Long, {Type::Long}, kBoth},
    {"cpu_clock_us", Type::Long, {Type::Long}, kBoth},
    {"cpu_clock_ms", Type::Long, {Type::Long}, kBoth},
    {"cpu_clock_s", Type::Long, {Type::Long}, kBoth},
    // ---- kernel memory (tapset "memory" functions; kernel probes only): a bad
    // address is a run-time error, "kernel read fault at 0x...".
    // kernel_string(addr): the NUL-terminated string at addr.
    {"kernel_string", Type::String, {Type::Long}, Builtin::Kernel},
    // kernel_string_n(addr, n): at most n bytes of it.
    {"kernel_string_n", Type::String, {Type::Long, Type::Long}, Builtin::Kernel},
    // kernel_string_at(addr): the text at addr, read by sprintf itself where it
    // formats it ("" when unreadable). Not a SystemTap function: what $var$
    // expands char arrays and pointers to (passes/pretty_print.h);
    // only a sprintf argument.
    {"kernel_string_at", Type::String, {Type::Long}, Builtin::Kernel},
    // kernel_long/int/short/char/pointer(addr): the number of that C type at addr.
    {"kernel_long", Type::Long, {Type::Long}, Builtin::Kernel},
    {"kernel_int", Type::Long, {Type::Long}, Builtin::Kernel},
    {"kernel_short", Type::Long, {Type::Long}, Builtin::Kernel},
    {"kernel_char", Type::Long, {Type::Long}, Builtin::Kernel},
    {"kernel_pointer", Type::Long, {Type::Long}, Builtin::Kernel},
    // ---- user memory (tapset "uconversions"; kernel probes only): the
    // current process's memory, through bpf_probe_read_user(_str).
    // user_string(addr[, err_msg]): a fault is stap's error, or err_msg.
    {"user_string", Type::String, {Type::Long}, Builtin::Kernel | Builtin::Variadic | Builtin::NotOutput},
    // user_string_n(addr, n[, err_msg]): at most n bytes.
    {"user_string_n", Type::String, {Type::Long, Type::Long}, Builtin::Kernel | Builtin::Variadic | Builtin::NotOutput},
    // user_string_warn(addr), user_string_n_warn(addr, n): a fault warns and gives "".
    {"user_string_warn", Type::String, {Type::Long}, Builtin::Kernel},
    {"user_string_n_warn", Type::String, {Type::Long, Type::Long}, Builtin::Kernel},
    // user_string_quoted(addr), user_string_n_quoted(addr, n): "text" with
    // escapes, NULL for 0, the address in hex on a fault.
    {"user_string_quoted", Type::String, {Type::Long}, Builtin::Kernel},
    {"user_string_n_quoted", Type::String, {Type::Long, Type::Long}, Builtin::Kernel},
    // user_long/ulong/int/short/ushort/char(addr): 0 on a fault; the _warn
    // forms also warn, the _error forms raise stap's error.
    {"user_long", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_long_warn", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_long_error", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_ulong", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_ulong_warn", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_ulong_error", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_int", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_int_warn", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_int_error", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_short", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_short_warn", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_short_error", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_ushort", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_ushort_warn", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_ushort_error", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_char", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_char_warn", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_char_error", Type::Long, {Type::Long}, Builtin::Kernel},
    // user_int8..64, user_uint8..64(addr): fixed-size integers, 0 on a fault.
    {"user_int8", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_int16", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_int32", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_int64", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_uint8", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_uint16", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_uint32", Type::Long, {Type::Long}, Builtin::Kernel},
    {"user_uint64", Type::Long, {Type::Long}, Builtin::Kernel},
    // jiffies(): the kernel's jiffies counter (bpf_jiffies64; kernel probes only).
    {"jiffies", Type::Long, {}, Builtin::Kernel},
    // task_current(): the current task's struct task_struct address.
    {"task_current", Type::Long, {}, Builtin::Kernel},
    // tz_ctime(secs): ctime in the local time zone, with its name: "Wed Jun 30 14:49:08 1993 PDT".
    {"tz_ctime", Type::String, {Type::Long}, kDeferredInKernel},
    // tz_gmtoff(): the local time zone's offset in seconds west of UTC.
    {"tz_gmtoff", Type::Long, {}, Builtin::User},
    // tz_name(): the local time zone's abbreviation ("PDT").
    {"tz_name", Type::String, {}, Builtin::User},

    // ---- strings (results are cut at MAXSTRINGLEN - 1 bytes); strlen, substr,
    // stringat and isinstr also run in kernel probes (bounded byte loops)
    // strlen(s): its length in bytes.
    {"strlen", Type::Long, {Type::String}, kBoth},
    // matched(n): subexpression n (0: the whole match) of the last successful =~.
    {"matched", Type::String, {Type::Long}, Builtin::User},
    // substr(str, start, length): `length` bytes from `start` (0-based).
    {"substr", Type::String, {Type::String, Type::Long, Type::Long}, kBoth},
    // stringat(str, pos): the byte at pos; an error when pos is out of bounds.
    {"stringat", Type::Long, {Type::String, Type::Long}, kBoth},
    // randint(n): a random number in [0, n); n above 2^20 is stap's
    // run-time error "range too wide".
    {"randint", Type::Long, {Type::Long}, kBoth},
    // isinstr(s1, s2): 1 when s1 contains s2.
    {"isinstr", Type::Long, {Type::String, Type::String}, kBoth},
    // strtol(str, base): the number in str (base 0: C prefixes), like the kernel's simple_strtol.
    {"strtol", Type::Long, {Type::String, Type::Long}, kBoth},
    // isdigit(str): non-zero when str starts with a digit.
    {"isdigit", Type::Long, {Type::String}, kBoth},
    // str_replace(str, search, replacement): every occurrence replaced.
    {"str_replace", Type::String, {Type::String, Type::String, Type::String}, Builtin::User},
    // tokenize(str, delims): the first token of str; then tokenize("", delims) gives the next ones.
    {"tokenize", Type::String, {Type::String, Type::String}, Builtin::User},
    // text_str(str): non-printable characters as C escapes.
    {"text_str", Type::String, {Type::String}, Builtin::User},
    // text_strn(str, len, quoted): text_str cut to len, optionally "quoted"... when cut.
    {"text_strn", Type::String, {Type::String, Type::Long, Type::Long}, Builtin::User},

    // ---- network byte order
    {"ntohs", Type::Long, {Type::Long}, kBoth},
    {"ntohl", Type::Long, {Type::Long}, kBoth},
    {"ntohll", Type::Long, {Type::Long}, kBoth},
    {"htons", Type::Long, {Type::Long}, kBoth},
    {"htonl", Type::Long, {Type::Long}, kBoth},
    {"htonll", Type::Long, {Type::Long}, kBoth},
    // ip_ntop(addr): dotted IPv4 text of a 32-bit address in network order ("127.0.0.1").
    {"ip_ntop", Type::String, {Type::Long}, kBoth},
    // format_ipaddr(addr, family): as ip_ntop for AF_INET (2); for AF_INET6 (10)
    // addr points to the in6_addr, which only kernel probes can read.
    {"format_ipaddr", Type::String, {Type::Long, Type::Long}, kBoth},
    // cmdline_args(n, m, delim): the current process's arguments n..m (m
    // -1: to the last) joined by delim; cmdline_arg(n); cmdline_str(): all,
    // joined by spaces. In user probes, ntap's own.
    {"cmdline_args", Type::String, {Type::Long, Type::Long, Type::String}, kBoth},
    {"cmdline_arg", Type::String, {Type::Long}, kBoth},
    {"cmdline_str", Type::String, {}, kBoth},
    // __user_ip6_text(addr): the in6_addr at addr in the probed process's
    // memory as the kernel's %pI6 prints it (stap's sockaddr readers).
    {"__user_ip6_text", Type::String, {Type::Long}, Builtin::Kernel},

    // ctime(secs): "Wed Jun 30 21:49:08 1993" for seconds since the epoch.
    {"ctime", Type::String, {Type::Long}, kDeferredInKernel},
    // symname(addr): the kernel symbol containing addr ("tcp_v4_rcv"), hex when unknown.
    {"symname", Type::String, {Type::Long}, kDeferredInKernel},
    // symdata(addr): "tcp_v4_rcv+0xaa/0x8d0 [kernel]".
    {"symdata", Type::String, {Type::Long}, kDeferredInKernel},
    // ---- kernel stacks and probe addresses (kernel probes). A stack is taken
    // with bpf_get_stackid and travels as its id; user space reads it from
    // the stack map and symbolizes it from kallsyms (decision 6).
    // backtrace(): the stack as hex addresses, "0xffffffff81234567 0x...".
    {"backtrace", Type::String, {}, Builtin::Kernel | Builtin::Deferred},
    // sprint_backtrace(): one line per frame, " 0xffffffff81234567 : tcp_v4_rcv+0x12/0x345 [kernel]".
    // print_backtrace() is print(sprint_backtrace()) (passes/resolve_symbols.cpp).
    {"sprint_backtrace", Type::String, {}, Builtin::Kernel | Builtin::Deferred},
    // sprint_stack(backtrace()): those lines for a stack backtrace() took;
    // print_stack(bt) is print(sprint_stack(bt)).
    {"sprint_stack", Type::String, {Type::String}, Builtin::Kernel | Builtin::Deferred},
    // stack(n): the address at depth n of the stack backtrace() takes (0:
    // its first frame); callers(n): its frames 0..n in hex, as backtrace()
    // writes them (n = -1: all of them). In kernel probes they travel as
    // the stack's id and n, so stack(n) is only a print argument or what
    // symname(), symdata() and symfile*() render; in user probes, which
    // have no probed stack, stack(n) and callers(n >= 0) are stap's error
    // "reached end of stack before unwinding to level n".
    {"stack", Type::Long, {Type::Long}, kDeferredInKernel},
    {"callers", Type::String, {Type::Long}, kDeferredInKernel},
    // sprint_syms(callers): each hex address of the text on a line of its
    // own, " 0xADDR : symdata(ADDR)"; in kernel probes the text must be
    // callers(n) or backtrace() itself. print_syms(s) is print(sprint_syms(s)).
    {"sprint_syms", Type::String, {Type::String}, kDeferredInKernel},
    // addr(): the kernel address the probe interrupted (perf probes; 0 in
    // user mode and in tracepoints, which have no registers, as in stap).
    {"addr", Type::Long, {}, Builtin::Kernel},
    // probefunc()/probemod(): the function (module) of addr(); in
    // tracepoints, of the function that hit the tracepoint (from its stack).
    {"probefunc", Type::String, {}, Builtin::Kernel | Builtin::Deferred},
    {"probemod", Type::String, {}, Builtin::Kernel | Builtin::Deferred},
    // ppfunc(): the function name in pp() ("" when pp() names none, as for tracepoints).
    {"ppfunc", Type::String, {}, kBoth},
    // symfileline(addr), symfile(addr), symline(addr): "net/core/dev.c:4321",
    // its file, its line, from the kernel's DWARF debug info (--vmlinux);
    // the address in hex when there is none.
    {"symfileline", Type::String, {Type::Long}, kDeferredInKernel},
    {"symfile", Type::String, {Type::Long}, kDeferredInKernel},
    {"symline", Type::String, {Type::Long}, kDeferredInKernel},
    // drop_reason_name(r): the kernel's name of an enum skb_drop_reason value.
    {"drop_reason_name", Type::String, {Type::Long}, kDeferredInKernel},

    // @perf's generated accounting (frontend/perf_counters.h;
    // codegen/bpf/perf_counters_bpf.cpp): a context switch ($prev, $next), a
    // fork ($child), a tracked process beginning, and @perf(K) itself: the
    // current thread's count of counter K of Program::perf_counters (K a
    // literal).
    {"__perf_counter_switch", Type::Long, {Type::Long, Type::Long}, Builtin::Kernel | Builtin::NoReturnValue},
    {"__perf_counter_fork", Type::Long, {Type::Long}, Builtin::Kernel | Builtin::NoReturnValue},
    {"__perf_counter_track", Type::Long, {}, Builtin::Kernel | Builtin::NoReturnValue},
    {"__perf_counter_value", Type::Long, {Type::Long}, Builtin::Kernel},

    // ---- user space, in process probes
    // __plt_name(): in a process(...).plt probe, the imported function whose
    // PLT entry fired; what $$name becomes (passes/resolve_probes.cpp).
    {"__plt_name", Type::String, {}, Builtin::Kernel},
    // uaddr(): the user-space address the probed thread is at (the probe's
    // address; in .return probes the return address); 0 in other kernel probes.
    {"uaddr", Type::Long, {}, Builtin::Kernel},
    // usymname(addr): the function of the probed process containing addr
    // ("main"), hex when unknown; read from the process's mappings and the
    // mapped file's ELF symbols when the output is formatted.
    {"usymname", Type::String, {Type::Long}, Builtin::Kernel | Builtin::Deferred},
    // usymdata(addr): "main+0x4/0x2a [/usr/bin/prog]".
    {"usymdata", Type::String, {Type::Long}, Builtin::Kernel | Builtin::Deferred},
    // ubacktrace(): the probed thread's user stack (bpf_get_stackid with
    // BPF_F_USER_STACK) as stap prints it: hex addresses, space separated.
    {"ubacktrace", Type::String, {}, Builtin::Kernel | Builtin::Deferred},
    // sprint_ubacktrace(): the same stack, one symbolized frame per line
    // (print_ubacktrace() in the tapset prints it).
    {"sprint_ubacktrace", Type::String, {}, Builtin::Kernel | Builtin::Deferred},
    // sprint_ustack(ubacktrace()): those lines for a stack ubacktrace() took;
    // print_ustack(stk) is print(sprint_ustack(stk)).
    {"sprint_ustack", Type::String, {Type::String}, Builtin::Kernel | Builtin::Deferred},
    // ustack(n), ucallers(n), sprint_usyms(callers), print_usyms(callers):
    // stack(n), callers(n), sprint_syms and print_syms of the user stack
    // (ubacktrace()'s), with usymdata()'s text on each line. In user probes
    // the addresses are the ntap process's own.
    {"ustack", Type::Long, {Type::Long}, kDeferredInKernel},
    {"ucallers", Type::String, {Type::Long}, kDeferredInKernel},
    {"sprint_usyms", Type::String, {Type::String}, kDeferredInKernel},
};

}  // namespace

const Builtin *find_builtin(std::string_view name) {
  auto it = std::find_if(kBuiltins.begin(), kBuiltins.end(), [&](const Builtin &b) { return b.name == name; });
  return it == kBuiltins.end() ? nullptr : &*it;
}

const std::vector<Builtin> &all_builtins() { return kBuiltins; }

}  // namespace ntap
