#include "runtime/timefmt.h"

#include <time.h>

namespace ntap {
namespace {

constexpr int64_t kSecondsPerDay = 86400;
constexpr int64_t kEarliest = INT32_MIN;         // Fri Dec 13 20:45:52 1901
constexpr int64_t kLatest = 253402300799;        // Fri Dec 31 23:59:59 9999

// Days since 1970-01-01 to a proleptic Gregorian date (era-based civil
// calendar arithmetic; exact for every day in range, no tables, no libc).
void civil_from_days(int64_t days, int64_t &year, unsigned &month, unsigned &day) {
  days += 719468;  // shift the epoch to 0000-03-01
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned month_from_march = (5 * day_of_year + 2) / 153;
  day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
  month = month_from_march < 10 ? month_from_march + 3 : month_from_march - 9;
  year = static_cast<int64_t>(year_of_era) + era * 400 + (month <= 2 ? 1 : 0);
}

void two_digits(char *out, unsigned value) {
  out[0] = static_cast<char>('0' + value / 10);
  out[1] = static_cast<char>('0' + value % 10);
}

int64_t clock_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

bool format_ctime(int64_t t, char out[24]) {
  static constexpr char kWeekdays[] = "SunMonTueWedThuFriSat";
  static constexpr char kMonths[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (t < kEarliest || t > kLatest) return false;
  int64_t days = t / kSecondsPerDay;
  int64_t seconds_of_day = t % kSecondsPerDay;
  if (seconds_of_day < 0) {
    seconds_of_day += kSecondsPerDay;
    --days;
  }
  int64_t year;
  unsigned month, day;
  civil_from_days(days, year, month, day);
  unsigned weekday = static_cast<unsigned>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
  auto sod = static_cast<unsigned>(seconds_of_day);

  // "Www Mmm dd hh:mm:ss yyyy", the day of month space-padded like asctime.
  for (int i = 0; i < 3; ++i) out[i] = kWeekdays[3 * weekday + i];
  out[3] = ' ';
  for (int i = 0; i < 3; ++i) out[4 + i] = kMonths[3 * (month - 1) + i];
  out[7] = ' ';
  out[8] = day >= 10 ? static_cast<char>('0' + day / 10) : ' ';
  out[9] = static_cast<char>('0' + day % 10);
  out[10] = ' ';
  two_digits(out + 11, sod / 3600);
  out[13] = ':';
  two_digits(out + 14, sod / 60 % 60);
  out[16] = ':';
  two_digits(out + 17, sod % 60);
  out[19] = ' ';
  auto y = static_cast<unsigned>(year);
  two_digits(out + 20, y / 100);
  two_digits(out + 22, y % 100);
  return true;
}

LocalZone local_zone(int64_t epoch_seconds) {
  const time_t t = static_cast<time_t>(epoch_seconds);
  struct tm local {};
  LocalZone zone;
  if (localtime_r(&t, &local)) {
    zone.seconds_east = local.tm_gmtoff;
    zone.name = local.tm_zone ? local.tm_zone : "";
  }
  return zone;
}

std::string tz_ctime_string(int64_t epoch_seconds) {
  const LocalZone zone = local_zone(epoch_seconds);
  return ctime_string(epoch_seconds + zone.seconds_east) + " " + zone.name;
}

std::string ctime_string(int64_t epoch_seconds) {
  char buf[24];
  if (!format_ctime(epoch_seconds, buf)) return "<invalid time>";
  return std::string(buf, sizeof buf);
}

int64_t realtime_ns() { return clock_ns(CLOCK_REALTIME); }
int64_t monotonic_ns() { return clock_ns(CLOCK_MONOTONIC); }
int64_t boottime_ns() { return clock_ns(CLOCK_BOOTTIME); }

}  // namespace ntap
