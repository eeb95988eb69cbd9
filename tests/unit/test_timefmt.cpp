// ctime() as stap prints it, and the clocks.
#include <catch2/catch.hpp>

#include <time.h>

#include <random>
#include <string>

#include "runtime/timefmt.h"

using ntap::ctime_string;

namespace {

// glibc's answer (gmtime + asctime, newline dropped) for comparison.
std::string libc_ctime(int64_t t) {
  time_t value = static_cast<time_t>(t);
  struct tm tm {};
  char buf[64];
  REQUIRE(gmtime_r(&value, &tm));
  REQUIRE(asctime_r(&tm, buf));
  std::string s(buf);
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace

TEST_CASE("ctime: stap's documented example", "[timefmt]") {
  CHECK(ctime_string(741476948) == "Wed Jun 30 21:49:08 1993");
}

TEST_CASE("ctime: the epoch and single-digit days", "[timefmt]") {
  CHECK(ctime_string(0) == "Thu Jan  1 00:00:00 1970");
  CHECK(ctime_string(86399) == "Thu Jan  1 23:59:59 1970");
  CHECK(ctime_string(-1) == "Wed Dec 31 23:59:59 1969");
}

TEST_CASE("ctime: leap days and century rules", "[timefmt]") {
  CHECK(ctime_string(951782400) == "Tue Feb 29 00:00:00 2000");
  CHECK(ctime_string(4107542400) == "Mon Mar  1 00:00:00 2100");  // 2100 is not a leap year
  CHECK(ctime_string(1709164800) == "Thu Feb 29 00:00:00 2024");
}

TEST_CASE("ctime: range limits", "[timefmt]") {
  CHECK(ctime_string(INT32_MIN) == "Fri Dec 13 20:45:52 1901");
  CHECK(ctime_string(int64_t{INT32_MIN} - 1) == "<invalid time>");
  CHECK(ctime_string(253402300799) == "Fri Dec 31 23:59:59 9999");
  CHECK(ctime_string(253402300800) == "<invalid time>");
  CHECK(ctime_string(INT64_MAX) == "<invalid time>");
  CHECK(ctime_string(INT64_MIN) == "<invalid time>");
}

TEST_CASE("ctime: always 24 characters, agreeing with gmtime+asctime", "[timefmt]") {
  std::mt19937_64 rng(2024);
  std::uniform_int_distribution<int64_t> in_range(INT32_MIN, 253402300799);
  for (int i = 0; i < 20000; ++i) {
    int64_t t = in_range(rng);
    std::string ours = ctime_string(t);
    INFO("t = " << t);
    REQUIRE(ours.size() == 24);
    REQUIRE(ours == libc_ctime(t));
  }
}

TEST_CASE("ctime: format_ctime writes exactly 24 bytes", "[timefmt]") {
  char buf[26];
  buf[24] = '#';
  buf[25] = '#';
  REQUIRE(ntap::format_ctime(741476948, buf));
  CHECK(std::string(buf, 24) == "Wed Jun 30 21:49:08 1993");
  CHECK(buf[24] == '#');
  CHECK_FALSE(ntap::format_ctime(253402300800, buf));
}

TEST_CASE("clocks: realtime matches time(), monotonic and boottime advance", "[timefmt]") {
  int64_t now_s = static_cast<int64_t>(::time(nullptr));
  int64_t real = ntap::realtime_ns();
  CHECK(real / 1000000000 >= now_s);
  CHECK(real / 1000000000 <= now_s + 2);
  int64_t mono1 = ntap::monotonic_ns();
  int64_t boot1 = ntap::boottime_ns();
  int64_t mono2 = ntap::monotonic_ns();
  int64_t boot2 = ntap::boottime_ns();
  CHECK(mono2 >= mono1);
  CHECK(boot2 >= boot1);
  CHECK(boot1 >= mono1);  // boot time also counts suspended time
  CHECK(mono1 > 0);
}
