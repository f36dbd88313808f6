#include "qwem/format.hpp"

#include <cstdarg>
#include <cstdio>

namespace qwem {

std::string Format(const char* format, ...) {
  char line[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(line, sizeof line, format, args);
  va_end(args);
  return line;
}

std::string FormatCount(double n) {
  if (n >= 1e9) return Format("%.2fG", n / 1e9);
  if (n >= 1e6) return Format("%.2fM", n / 1e6);
  if (n >= 1e4) return Format("%.1fk", n / 1e3);
  return Format("%.0f", n);
}

std::string FormatTimeLeft(double seconds) {
  return Format(seconds < 10 ? ", about %.1f s left" : ", about %.0f s left", seconds);
}

std::string FormatBytes(double bytes) {
  const double gib = 1024.0 * 1024 * 1024;
  if (bytes >= gib) return Format("%.2f GiB", bytes / gib);
  return Format("%.1f MiB", bytes / (1024.0 * 1024));
}

}  // namespace qwem
