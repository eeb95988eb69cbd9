// Time as scripts see it: stap's ctime() and the clocks behind
// gettimeofday_*() and the kernel's timestamps.
#pragma once
#include <cstdint>
#include <string>

namespace ntap {

// stap's ctime(): "Wed Jun 30 21:49:08 1993" (asctime layout without the
// newline, always 24 characters), in UTC. Times before the 32-bit epoch range
// (1901-12-13 20:45:52) or after year 9999 give "<invalid time>".
std::string ctime_string(int64_t epoch_seconds);

// Writes the 24 characters of ctime_string (no NUL) to `out`; returns false
// (writing nothing) when the time is out of range.
bool format_ctime(int64_t epoch_seconds, char out[24]);

// The local time zone in force at `epoch_seconds` (TZ, else /etc/localtime).
struct LocalZone {
  int64_t seconds_east = 0;
  std::string name;
};
LocalZone local_zone(int64_t epoch_seconds);

// stap's tz_ctime: ctime(secs - tz_gmtoff()) . " " . tz_name().
std::string tz_ctime_string(int64_t epoch_seconds);

int64_t realtime_ns();   // CLOCK_REALTIME: gettimeofday_*()
int64_t monotonic_ns();  // CLOCK_MONOTONIC: bpf_ktime_get_ns()
int64_t boottime_ns();   // CLOCK_BOOTTIME: bpf_ktime_get_boot_ns()

}  // namespace ntap
