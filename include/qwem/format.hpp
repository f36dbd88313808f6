// Text for progress lines and messages.
#pragma once

#include <string>

namespace qwem {

// printf into a std::string (up to 1 KiB).
[[gnu::format(printf, 1, 2)]] std::string Format(const char* format, ...);
std::string FormatCount(double n);           // 1.23M, 456.7k, 89
std::string FormatBytes(double bytes);       // 12.3 MiB, 1.50 GiB
std::string FormatTimeLeft(double seconds);  // ", about 0.2 s left", ", about 80 s left" (one decimal under 10 s)

}  // namespace qwem
