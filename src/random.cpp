#include "qwem/random.hpp"

#include <cmath>
#include <numeric>

namespace qwem {

AliasTable::AliasTable(const std::vector<double>& weights) {
  const std::size_t n = weights.size();
  prob_.assign(n, 1.0);
  alias_.resize(n);
  std::iota(alias_.begin(), alias_.end(), 0);
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  if (n == 0 || total <= 0) return;
  std::vector<double> scaled(n);
  std::vector<word_id_t> small, large;
  for (std::size_t i = 0; i < n; ++i) {
    scaled[i] = weights[i] * static_cast<double>(n) / total;
    (scaled[i] < 1.0 ? small : large).push_back(static_cast<word_id_t>(i));
  }
  while (!small.empty() && !large.empty()) {
    const word_id_t s = small.back(), l = large.back();
    small.pop_back();
    prob_[s] = scaled[s];
    alias_[s] = l;
    scaled[l] -= 1.0 - scaled[s];
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  // Leftovers are 1 up to rounding.
  for (word_id_t i : small) prob_[i] = 1.0;
  for (word_id_t i : large) prob_[i] = 1.0;
}

word_id_t AliasTable::Draw(std::uint64_t r) const {
  const auto n = static_cast<std::uint64_t>(prob_.size());
  const unsigned __int128 p = static_cast<unsigned __int128>(r) * n;
  const auto column = static_cast<std::size_t>(p >> 64);
  const double frac = static_cast<double>(static_cast<std::uint64_t>(p) >> 11) * 0x1.0p-53;
  return frac < prob_[column] ? static_cast<word_id_t>(column) : alias_[column];
}

std::vector<double> InitialRows(std::uint64_t seed, double scale, global_int_t row_begin, global_int_t row_end, int d) {
  std::vector<double> W(static_cast<std::size_t>(row_end - row_begin) * d);
  for (global_int_t i = row_begin; i < row_end; ++i)
    for (int k = 0; k < d; ++k) {
      const std::uint64_t key = static_cast<std::uint64_t>(i) * d + k;
      const double u1 = 1.0 - ToUnit(CounterRandom(seed, ~std::uint64_t{0}, key, 0));
      const double u2 = ToUnit(CounterRandom(seed, ~std::uint64_t{0}, key, 1));
      W[(i - row_begin) * d + k] = scale * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
    }
  return W;
}

}  // namespace qwem
