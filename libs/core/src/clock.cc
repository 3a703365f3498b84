#include "kubesync/core/clock.h"

#include <cstdio>
#include <ctime>
#include <thread>

namespace kubesync {

void SystemClock::SleepFor(std::chrono::nanoseconds d) const { std::this_thread::sleep_for(d); }

const SystemClock& SystemClock::Get() {
  static const SystemClock clock;
  return clock;
}

std::string FormatRfc3339(WallTime t, int fraction_digits) {
  using namespace std::chrono;
  const auto since_epoch = t.time_since_epoch();
  auto secs = duration_cast<seconds>(since_epoch);
  auto nanos = duration_cast<nanoseconds>(since_epoch - secs).count();
  if (nanos < 0) {
    secs -= seconds(1);
    nanos += 1'000'000'000;
  }
  const std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (fraction_digits > 0) {
    if (fraction_digits > 9) fraction_digits = 9;
    char frac[32];
    std::snprintf(frac, sizeof(frac), "%09lld", static_cast<long long>(nanos));
    out += '.';
    out.append(frac, static_cast<std::size_t>(fraction_digits));
  }
  out += 'Z';
  return out;
}

namespace {

bool ReadDigits(std::string_view s, std::size_t& pos, int count, int& out) {
  out = 0;
  for (int i = 0; i < count; ++i) {
    if (pos >= s.size() || s[pos] < '0' || s[pos] > '9') return false;
    out = out * 10 + (s[pos++] - '0');
  }
  return true;
}

bool Expect(std::string_view s, std::size_t& pos, char c) {
  if (pos >= s.size() || (s[pos] != c && !(c == 'T' && s[pos] == 't'))) return false;
  ++pos;
  return true;
}

}  // namespace

Result<WallTime> ParseRfc3339(std::string_view text) {
  const auto bad = [&] {
    return InvalidArgumentError("invalid RFC 3339 time \"" + std::string(text) + "\"");
  };
  std::size_t pos = 0;
  int year, mon, day, hour, min, sec;
  if (!ReadDigits(text, pos, 4, year) || !Expect(text, pos, '-') || !ReadDigits(text, pos, 2, mon) ||
      !Expect(text, pos, '-') || !ReadDigits(text, pos, 2, day) || !Expect(text, pos, 'T') ||
      !ReadDigits(text, pos, 2, hour) || !Expect(text, pos, ':') || !ReadDigits(text, pos, 2, min) ||
      !Expect(text, pos, ':') || !ReadDigits(text, pos, 2, sec)) {
    return bad();
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return bad();
  long long nanos = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 9) {
        nanos = nanos * 10 + (text[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    if (digits == 0) return bad();
    for (; digits < 9; ++digits) nanos *= 10;
  }
  long offset_seconds = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!ReadDigits(text, pos, 2, oh) || !Expect(text, pos, ':') || !ReadDigits(text, pos, 2, om)) {
      return bad();
    }
    offset_seconds = sign * (oh * 3600L + om * 60L);
  } else {
    return bad();
  }
  if (pos != text.size()) return bad();
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  const std::time_t tt = timegm(&tm);
  using namespace std::chrono;
  return WallTime(duration_cast<WallTime::duration>(seconds(tt - offset_seconds) + nanoseconds(nanos)));
}

}  // namespace kubesync
