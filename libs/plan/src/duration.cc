#include <cmath>
#include <string>

#include "kubesync/plan/parse.h"

namespace kubesync::plan {
namespace {

Status BadDuration(std::string_view text, std::string_view why) {
  return InvalidArgumentError("invalid duration \"" + std::string(text) + "\": " + std::string(why) +
                              " (want a duration such as \"1h0m0s\", \"3h25m12s\", \"90m\" or \"45s\")");
}

}  // namespace

// Go's time.ParseDuration grammar, restricted to the units the documents use (h, m, s) and
// to whole seconds: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+ .
Result<std::chrono::seconds> ParseDuration(std::string_view text) {
  if (text.empty()) return BadDuration(text, "empty");
  std::size_t i = 0;
  if (text[0] == '-') return BadDuration(text, "must be positive");
  if (text[0] == '+') ++i;
  if (i == text.size()) return BadDuration(text, "missing number");
  long double total = 0;
  while (i < text.size()) {
    const std::size_t start = i;
    long double value = 0;
    bool digits = false;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      value = value * 10 + (text[i] - '0');
      digits = true;
      ++i;
    }
    if (i < text.size() && text[i] == '.') {
      ++i;
      long double scale = 0.1L;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        value += (text[i] - '0') * scale;
        scale /= 10;
        digits = true;
        ++i;
      }
    }
    if (!digits) return BadDuration(text, "expected a number at \"" + std::string(text.substr(start)) + "\"");
    const std::size_t unit_start = i;
    while (i < text.size() && !(text[i] >= '0' && text[i] <= '9') && text[i] != '.') ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty())
      return BadDuration(text, "missing unit after \"" + std::string(text.substr(start, i - start)) + "\"");
    long double factor;
    if (unit == "h") {
      factor = 3600;
    } else if (unit == "m") {
      factor = 60;
    } else if (unit == "s") {
      factor = 1;
    } else {
      return BadDuration(text, "unknown unit \"" + std::string(unit) + "\" (use h, m and s)");
    }
    total += value * factor;
    if (total > 1e12L) return BadDuration(text, "too long");
  }
  const long double rounded = std::round(total);
  if (std::fabs(total - rounded) > 1e-6L) return BadDuration(text, "must be a whole number of seconds");
  if (rounded <= 0) return BadDuration(text, "must be positive");
  return std::chrono::seconds(static_cast<long long>(rounded));
}

std::string FormatDuration(std::chrono::seconds d) {
  long long s = d.count();
  if (s == 0) return "0s";
  std::string sign;
  if (s < 0) {
    sign = "-";
    s = -s;
  }
  const long long h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
  if (h > 0) return sign + std::to_string(h) + "h" + std::to_string(m) + "m" + std::to_string(sec) + "s";
  if (m > 0) return sign + std::to_string(m) + "m" + std::to_string(sec) + "s";
  return sign + std::to_string(sec) + "s";
}

}  // namespace kubesync::plan
