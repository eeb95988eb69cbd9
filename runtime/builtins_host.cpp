// The user-side builtins (ntap_fn_* of abi/runtime_api.h), one small function
// each. User probes run in the ntap process, so "current process" builtins
// describe ntap itself, as stap's begin/end/timer probes describe stap.
// String functions are in builtins_string.cpp.
#include <arpa/inet.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "abi/runtime_api.h"
#include "runtime/session.h"
#include "kernel/dwarf_lines.h"
#include "kernel/symbols.h"
#include "runtime/timefmt.h"

namespace {

constexpr int64_t kAfInet = 2;

using ntap::local_zone;
using ntap::LocalZone;

// sprint_syms()'s text for the hex addresses in `callers` (separated by
// spaces, each as strtol(word, 16) reads it): one line per address, the
// word as written, " : ", what `symdata` says of it. Cut after the last
// whole line that fits in a string, as stap's tapset function cuts it.
std::string symbolized_lines(ntap_rt *rt, const char *callers, const std::function<std::string(uint64_t)> &symdata) {
  std::string text;
  std::istringstream words(callers ? callers : "");
  std::string word;
  while (words >> word) {
    const uint64_t address = std::strtoull(word.c_str(), nullptr, 16);
    std::string line = " " + word + " : " + symdata(address) + "\n";
    if (text.size() + line.size() > rt->max_string_bytes()) break;
    text += line;
  }
  return text;
}

// stap's error for a frame deeper than the stack goes.
void fail_at_end_of_stack(ntap_rt *rt, int64_t depth, uint32_t site) {
  ntap_fail_with_message(rt, site, fmt::format("reached end of stack before unwinding to level {}", depth).c_str());
}

}  // namespace

extern "C" {

// ---------------------------------------------------------------- control

void ntap_fn_exit(ntap_rt *rt) { rt->exit_requested = true; }

void ntap_fn_warn(ntap_rt *rt, const char *msg) {
  // As stap's _stp_warn: one line on stderr (Output::warning).
  rt->output->warning(msg ? msg : "");
}

void ntap_fn_log(ntap_rt *rt, const char *msg) {
  std::string line = msg ? msg : "";
  line += '\n';
  rt->output->write(line);
}

// ---------------------------------------------------------------- process

const char *ntap_fn_execname(ntap_rt *) { return "ntap"; }

const char *ntap_fn_pp(ntap_rt *rt) { return rt->probe_point; }

const char *ntap_fn_pn(ntap_rt *rt) { return rt->probe_name; }

int64_t ntap_fn_pid(ntap_rt *) { return getpid(); }

int64_t ntap_fn_tid(ntap_rt *) { return gettid(); }

int64_t ntap_fn_ppid(ntap_rt *) { return getppid(); }

const char *ntap_fn_pexecname(ntap_rt *rt) {
  std::ifstream comm("/proc/" + std::to_string(getppid()) + "/comm");
  std::string name;
  std::getline(comm, name);
  return rt->arena.keep(name);
}

int64_t ntap_fn_uid(ntap_rt *) { return getuid(); }
int64_t ntap_fn_gid(ntap_rt *) { return getgid(); }
int64_t ntap_fn_euid(ntap_rt *) { return geteuid(); }
int64_t ntap_fn_egid(ntap_rt *) { return getegid(); }

int64_t ntap_fn_target(ntap_rt *rt) { return rt->builtins.target_pid; }

// stap's randint: [0, n) for n up to 2^20 (unsigned: a negative n is too
// wide); 0 for n = 0.
constexpr uint64_t kRandintMax = 1u << 20;

int64_t ntap_fn_randint(ntap_rt *rt, int64_t n, uint32_t site) {
  if (static_cast<uint64_t>(n) > kRandintMax) {
    ntap_fail_at(rt, site);
    return 0;
  }
  if (n == 0) return 0;
  static thread_local std::minstd_rand engine{std::random_device{}()};
  return static_cast<int64_t>(engine() % static_cast<uint64_t>(n));
}

int64_t ntap_fn_cpu(ntap_rt *) {
  const int cpu = sched_getcpu();
  return cpu < 0 ? 0 : cpu;
}

// ---------------------------------------------------------------- time

int64_t ntap_fn_gettimeofday_s(ntap_rt *) { return ntap::realtime_ns() / 1000000000; }
int64_t ntap_fn_gettimeofday_ms(ntap_rt *) { return ntap::realtime_ns() / 1000000; }
int64_t ntap_fn_gettimeofday_us(ntap_rt *) { return ntap::realtime_ns() / 1000; }
int64_t ntap_fn_gettimeofday_ns(ntap_rt *) { return ntap::realtime_ns(); }

// The kernel side reads the same clock with bpf_ktime_get_ns, so times taken
// in kernel and user probes can be subtracted.
int64_t ntap_fn_local_clock_ns(ntap_rt *) { return ntap::monotonic_ns(); }
int64_t ntap_fn_local_clock_us(ntap_rt *) { return ntap::monotonic_ns() / 1000; }
int64_t ntap_fn_local_clock_ms(ntap_rt *) { return ntap::monotonic_ns() / 1000000; }
int64_t ntap_fn_local_clock_s(ntap_rt *) { return ntap::monotonic_ns() / 1000000000; }
int64_t ntap_fn_cpu_clock_ns(ntap_rt *, int64_t) { return ntap::monotonic_ns(); }
int64_t ntap_fn_cpu_clock_us(ntap_rt *, int64_t) { return ntap::monotonic_ns() / 1000; }
int64_t ntap_fn_cpu_clock_ms(ntap_rt *, int64_t) { return ntap::monotonic_ns() / 1000000; }
int64_t ntap_fn_cpu_clock_s(ntap_rt *, int64_t) { return ntap::monotonic_ns() / 1000000000; }

const char *ntap_fn_ctime(ntap_rt *rt, int64_t epoch_seconds) {
  return rt->arena.keep(ntap::ctime_string(epoch_seconds));
}

const char *ntap_fn_tz_ctime(ntap_rt *rt, int64_t epoch_seconds) {
  return rt->arena.keep(ntap::tz_ctime_string(epoch_seconds));
}

// Seconds west of UTC, as stap reports it (UTC-7 gives 25200).
int64_t ntap_fn_tz_gmtoff(ntap_rt *) { return -local_zone(ntap::realtime_ns() / 1000000000).seconds_east; }

const char *ntap_fn_tz_name(ntap_rt *rt) {
  return rt->arena.keep(local_zone(ntap::realtime_ns() / 1000000000).name);
}

// ---------------------------------------------------------------- symbols

const char *ntap_fn_symname(ntap_rt *rt, int64_t address) {
  return rt->arena.keep(rt->kernel->symbols().symname(static_cast<uint64_t>(address)));
}

const char *ntap_fn_symdata(ntap_rt *rt, int64_t address) {
  return rt->arena.keep(rt->kernel->symbols().symdata(static_cast<uint64_t>(address)));
}

const char *ntap_fn_symfileline(ntap_rt *rt, int64_t address) {
  return rt->arena.keep(rt->kernel->source_lines().symfileline(static_cast<uint64_t>(address)));
}

const char *ntap_fn_symfile(ntap_rt *rt, int64_t address) {
  return rt->arena.keep(rt->kernel->source_lines().symfile(static_cast<uint64_t>(address)));
}

const char *ntap_fn_symline(ntap_rt *rt, int64_t address) {
  return rt->arena.keep(rt->kernel->source_lines().symline(static_cast<uint64_t>(address)));
}

const char *ntap_fn_drop_reason_name(ntap_rt *rt, int64_t reason) {
  return rt->arena.keep(rt->kernel->drop_reasons().name(reason));
}

// ---------------------------------------------------------------- stacks
// User probes run in the ntap process: there is no probed stack to unwind,
// so asking for a frame is stap's error at the end of a stack, and the
// addresses sprint_syms()/sprint_usyms() get come from the script's text.

int64_t ntap_fn_stack(ntap_rt *rt, int64_t n, uint32_t site) {
  fail_at_end_of_stack(rt, n, site);
  return 0;
}

int64_t ntap_fn_ustack(ntap_rt *rt, int64_t n, uint32_t site) { return ntap_fn_stack(rt, n, site); }

// callers(-1) is every frame there is (none); callers(n) for n >= 0 wants
// n + 1 of them.
const char *ntap_fn_callers(ntap_rt *rt, int64_t n, uint32_t site) {
  if (n >= 0) fail_at_end_of_stack(rt, n, site);
  return "";
}

const char *ntap_fn_ucallers(ntap_rt *rt, int64_t n, uint32_t site) { return ntap_fn_callers(rt, n, site); }

const char *ntap_fn_sprint_syms(ntap_rt *rt, const char *callers) {
  return rt->arena.keep(
      symbolized_lines(rt, callers, [&](uint64_t address) { return rt->kernel->symbols().symdata(address); }));
}

// User addresses in a user probe are the ntap process's own.
const char *ntap_fn_sprint_usyms(ntap_rt *rt, const char *callers) {
  return rt->arena.keep(symbolized_lines(rt, callers, [&](uint64_t address) {
    return rt->builtins.own_symbols.symdata(getpid(), address, "");
  }));
}

// ---------------------------------------------------------------- network

// stap converts the low 16/32 bits (the C argument types) and zero-extends.
int64_t ntap_fn_ntohs(ntap_rt *, int64_t x) { return ntohs(static_cast<uint16_t>(x)); }
int64_t ntap_fn_ntohl(ntap_rt *, int64_t x) { return ntohl(static_cast<uint32_t>(x)); }
int64_t ntap_fn_ntohll(ntap_rt *, int64_t x) { return static_cast<int64_t>(be64toh(static_cast<uint64_t>(x))); }
int64_t ntap_fn_htons(ntap_rt *, int64_t x) { return htons(static_cast<uint16_t>(x)); }
int64_t ntap_fn_htonl(ntap_rt *, int64_t x) { return htonl(static_cast<uint32_t>(x)); }
int64_t ntap_fn_htonll(ntap_rt *, int64_t x) { return static_cast<int64_t>(htobe64(static_cast<uint64_t>(x))); }

// The address's four bytes in memory order (network order: 127.0.0.1 is
// 0x0100007f on a little-endian machine), as the kernel's %pI4 prints them.
const char *ntap_fn_ip_ntop(ntap_rt *rt, int64_t address) {
  const auto bits = static_cast<uint32_t>(address);
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &bits, text, sizeof text);
  return rt->arena.keep(text);
}

// AF_INET formats like ip_ntop. An AF_INET6 address is a pointer to kernel
// memory, which user probes cannot read: that, and any other family, fails
// at `site`.
const char *ntap_fn_format_ipaddr(ntap_rt *rt, int64_t address, int64_t family, uint32_t site) {
  if (family != kAfInet) {
    ntap_fail_at(rt, site);
    return "";
  }
  return ntap_fn_ip_ntop(rt, address);
}

// The ntap process's own arguments (user probes run in it), from
// /proc/self/cmdline: arguments first..last (last < 0: to the end) joined
// by `delimiter`.
const char *ntap_fn_cmdline_args(ntap_rt *rt, int64_t first, int64_t last, const char *delimiter) {
  std::ifstream file("/proc/self/cmdline", std::ios::binary);
  std::string text, argument;
  int64_t index = 0;
  while (std::getline(file, argument, '\0')) {
    if (index >= first && (last < 0 || index <= last)) {
      if (index > first) text += delimiter;
      text += argument;
    }
    ++index;
  }
  return rt->arena.keep(text);
}

const char *ntap_fn_cmdline_arg(ntap_rt *rt, int64_t n) { return ntap_fn_cmdline_args(rt, n, n, ""); }

const char *ntap_fn_cmdline_str(ntap_rt *rt) { return ntap_fn_cmdline_args(rt, 0, -1, " "); }

}  // extern "C"
