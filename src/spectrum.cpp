#include "qwem/spectrum.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "qwem/blas.hpp"

namespace qwem {

namespace {

// B = W^T E (d x m, column-major), all-reduced; E's first m columns (row-major, stride n_eig).
std::vector<double> ProjectOnEigenvectors(MPI_Comm comm, const LocalRows& W, const double* E, int n_eig, int m) {
  const int d = W.dim, n = static_cast<int>(W.row_end - W.row_begin);
  std::vector<double> b(static_cast<std::size_t>(d) * m, 0.0);
  const double one = 1, zero = 0;
  if (n > 0 && m > 0) dgemm_("N", "T", &d, &m, &n, &one, W.data, &d, E, &n_eig, &zero, b.data(), &d);
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, b.data(), static_cast<int>(b.size()), MPI_DOUBLE, MPI_SUM, comm));
  return b;
}

// W^T W (d x d), all-reduced: the same on every rank.
std::vector<double> GramMatrix(MPI_Comm comm, const LocalRows& W) {
  const int d = W.dim, n = static_cast<int>(W.row_end - W.row_begin);
  std::vector<double> gram(static_cast<std::size_t>(d) * d, 0.0);
  const double one = 1, zero = 0;
  if (n > 0) dgemm_("N", "T", &d, &d, &n, &one, W.data, &d, W.data, &d, &zero, gram.data(), &d);
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, gram.data(), d * d, MPI_DOUBLE, MPI_SUM, comm));
  return gram;
}

}  // namespace

SpectrumSnapshot MeasureSpectrum(MPI_Comm comm, const LocalRows& W, const double* eigenvectors, int n_eigenvectors,
                                 int overlap_k, int mode_k) {
  const int d = W.dim;
  std::vector<double> gram = GramMatrix(comm, W);
  // The same all-reduced Gram matrix on every rank, so every rank agrees on this error.
  for (double g : gram)
    if (!std::isfinite(g)) throw Error("training diverged (W overflowed): lower --lr");
  const std::vector<double> w = SymmetricEigen(gram, d, "the Gram matrix");
  SpectrumSnapshot snap;
  snap.singular_values.resize(d);
  for (int a = 0; a < d; ++a) snap.singular_values[a] = std::sqrt(std::max(0.0, w[d - 1 - a]));
  const int m = std::min({overlap_k, n_eigenvectors, d}), modes = std::min(mode_k, n_eigenvectors);
  if (!eigenvectors || std::max(m, modes) <= 0) return snap;
  const std::vector<double> b = ProjectOnEigenvectors(comm, W, eigenvectors, n_eigenvectors, std::max(m, modes));
  snap.mode_squares.assign(std::max(modes, 0), 0.0);
  for (int k = 0; k < modes; ++k)
    for (int r = 0; r < d; ++r)
      snap.mode_squares[k] += b[static_cast<std::size_t>(k) * d + r] * b[static_cast<std::size_t>(k) * d + r];
  if (m <= 0) return snap;
  // U_k^T V_k = S_k^-1 Q_k^T (W^T V_k), with Q the Gram eigenvectors (descending); b's first m
  // columns.
  std::vector<double> c(static_cast<std::size_t>(d) * m);
  const double one = 1, zero = 0;
  dgemm_("T", "N", &d, &m, &d, &one, gram.data(), &d, b.data(), &d, &zero, c.data(), &d);
  for (int k = 1; k <= m; ++k) {
    double sum = 0;
    for (int a = 0; a < k; ++a) {
      const double s = snap.singular_values[a];
      if (s <= 0) continue;
      for (int e = 0; e < k; ++e) {
        const double v = c[(d - 1 - a) + static_cast<std::size_t>(e) * d] / s;
        sum += v * v;
      }
    }
    snap.overlap.push_back(sum / k);
  }
  return snap;
}

std::vector<double> ProjectedSquares(MPI_Comm comm, const LocalRows& W, const double* eigenvectors, int n_eigenvectors,
                                     int n) {
  const int d = W.dim, m = std::min(n, n_eigenvectors);
  std::vector<double> b = ProjectOnEigenvectors(comm, W, eigenvectors, n_eigenvectors, m);
  // Gram-Schmidt over u_k = W^T v_k in eigenvalue order: mode k grows from the part of u_k that
  // the earlier (faster) modes have not claimed.
  std::vector<double> a0(m, 0.0);
  for (int k = 0; k < m; ++k) {
    double* u = b.data() + static_cast<std::size_t>(k) * d;
    for (int j = 0; j < k; ++j) {
      const double* q = b.data() + static_cast<std::size_t>(j) * d;
      double qq = 0, qu = 0;
      for (int r = 0; r < d; ++r) qq += q[r] * q[r], qu += q[r] * u[r];
      if (qq > 0)
        for (int r = 0; r < d; ++r) u[r] -= qu / qq * q[r];
    }
    for (int r = 0; r < d; ++r) a0[k] += u[r] * u[r];
  }
  return a0;
}

InitialProjections ProjectInitialRows(MPI_Comm comm, const LocalRows& W, const double* eigenvectors,
                                      int n_eigenvectors) {
  return {ProjectOnEigenvectors(comm, W, eigenvectors, n_eigenvectors, n_eigenvectors), GramMatrix(comm, W)};
}

}  // namespace qwem
