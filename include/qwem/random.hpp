// Counter-based random numbers (a pure function of their key, so a draw never depends on which
// rank makes it or in what order), the alias tables that sample words from them, and the small
// Gaussian initialization W0 every training mode starts from.
#pragma once

#include <cstdint>
#include <vector>

#include "qwem/common.hpp"

namespace qwem {

// A 64-bit random number: a pure function of (seed, step, index, lane).
// (Inline: pair sampling draws a few per sample, millions per second.)
inline std::uint64_t Mix64(std::uint64_t z) {  // splitmix64's finalizer
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
inline std::uint64_t CounterRandom(std::uint64_t seed, std::uint64_t step, std::uint64_t index, std::uint64_t lane) {
  return Mix64(Mix64(Mix64(Mix64(seed) ^ step) ^ index) ^ lane);
}
// A uniform double in [0, 1) from the top 53 bits of r.
inline double ToUnit(std::uint64_t r) { return static_cast<double>(r >> 11) * 0x1.0p-53; }
// floor(r / 2^64 * n) for 0 <= n < 2^63: a uniform integer in [0, n).
inline global_int_t Scale(std::uint64_t r, global_int_t n) {
  return static_cast<global_int_t>((static_cast<unsigned __int128>(r) * static_cast<std::uint64_t>(n)) >> 64);
}

// Walker's alias table over weights (replicated, deterministic).
class AliasTable {
 public:
  AliasTable() = default;
  explicit AliasTable(const std::vector<double>& weights);
  // Draws an index from one 64-bit random number.
  word_id_t Draw(std::uint64_t r) const;
  std::size_t size() const { return prob_.size(); }

 private:
  std::vector<double> prob_;
  std::vector<word_id_t> alias_;
};

// Not collective. Rows [row_begin, row_end) of W0 (row-major, d columns): entries N(0, scale^2)
// by Box-Muller on two counter-based uniforms keyed by (seed, row, column), so every rank count
// starts from the same W0.
std::vector<double> InitialRows(std::uint64_t seed, double scale, global_int_t row_begin, global_int_t row_end, int d);

}  // namespace qwem
