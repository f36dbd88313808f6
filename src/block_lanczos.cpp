#include "qwem/block_lanczos.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "qwem/blas.hpp"
#include "qwem/random.hpp"

namespace qwem {

namespace {

// CholQR is abandoned for a block when a column keeps less than this share of its squared norm
// after the earlier columns are removed (condition number about 1e7: CholQR2 is accurate below).
constexpr double kDependentShare = 1e-14;
// A column whose norm falls below this share of its original norm in the column-by-column
// fallback lies in the span of the basis: it is replaced by a random direction.
constexpr double kLostShare = 1e-10;

// A pair is locked when its Ritz residual is below this share of the tolerance: locking the
// others and rounding move it a little, and the residual checked at the end must stay below.
constexpr double kLockShare = 0.5;

const double kOne = 1, kZero = 0, kMinusOne = -1;

// Adds the wall time of its scope to a counter.
class Timed {
 public:
  explicit Timed(double* total) : total_(total), t0_(MPI_Wtime()) {}
  ~Timed() { *total_ += MPI_Wtime() - t0_; }

 private:
  double* total_;
  double t0_;
};

class Solver {
 public:
  Solver(MPI_Comm comm, BlockOperator& A, const BlockLanczosOptions& options, const RestartMonitor& monitor,
         const StopTest& stop)
      : comm_(comm),
        A_(A),
        options_(options),
        monitor_(monitor),
        stop_(stop),
        n_(static_cast<int>(A.n_local())),
        ld_(std::max(n_, 1)),
        b_(A.block()),
        nev_(options.nev),
        ncv_(ResolvedBasisSize(options, b_, A.n_global())),
        reorthogonalize_(options.tol >= 1e-6 ? 1e3 : std::sqrt(2.0)) {
    max_products_ = options.max_products > 0 ? options.max_products : 200 * static_cast<global_int_t>(ncv_);
    Q_.assign(static_cast<std::size_t>(ld_) * (ncv_ + b_), 0.0);
    T_.assign(static_cast<std::size_t>(ncv_) * ncv_, 0.0);
    W_.assign(static_cast<std::size_t>(ld_) * b_, 0.0);
  }

  BlockLanczosResult Run();

 private:
  double* Col(int j) { return Q_.data() + static_cast<std::size_t>(j) * ld_; }
  double& T(int i, int j) { return T_[i + static_cast<std::size_t>(j) * ncv_]; }

  void StartBlock(int salt);
  std::vector<double> Project(int k, double* W);
  std::vector<double> Normalize(double* W, int k);
  std::vector<double> NormalizeByColumns(double* W, int k, int salt);
  void Iterate(Precision precision, global_int_t budget);
  bool Restart(const std::vector<double>& R, global_int_t budget);
  std::vector<double> Verify();

  MPI_Comm comm_;
  BlockOperator& A_;
  const BlockLanczosOptions& options_;
  const RestartMonitor& monitor_;
  const StopTest& stop_;
  const int n_, ld_, b_, nev_, ncv_;
  global_int_t max_products_;
  std::vector<double> Q_;  // columns [0, nlock) locked, [nlock, nlock + m) active, then the next block
  std::vector<double> T_;  // Rayleigh quotient of the active columns (ncv x ncv, column-major)
  std::vector<double> W_;
  std::vector<double> locked_values_;
  int nlock_ = 0, m_ = 0, restarts_ = 0, stop_signal_ = 0, salt_ = 0;
  int warm_ = 0;      // after the last restart: unconverged Ritz vectors kept after the locked ones
  int replaced_ = 0;  // dependent columns replaced by random ones
  // Gram-Schmidt is repeated when a column keeps less than 1 / reorthogonalize_ of its norm. One
  // pass leaves components along the basis of about 1e-16 sqrt(k) ||W|| / ||W'||: at 1e3, about
  // 1e-11, far below what a tolerance of 1e-6 and more needs (and below single-precision
  // products' 1e-7); tighter tolerances take the classical sqrt(2).
  double reorthogonalize_;
  int second_passes_ = 0, first_passes_ = 0;
  BlockLanczosTimes times_;
};

// Random entries in [-1, 1) keyed by (seed, salt, global row, column): the same on any rank count.
void FillRandom(double* W, int ld, int n, int b, global_int_t row_begin, std::uint64_t seed, int salt) {
  for (int c = 0; c < b; ++c)
    for (int i = 0; i < n; ++i)
      W[i + static_cast<std::size_t>(c) * ld] =
          2.0 * ToUnit(CounterRandom(seed, 0x51ed + salt, static_cast<std::uint64_t>(row_begin + i), c)) - 1.0;
}

// The next block of the basis: random, orthonormal to the locked columns.
void Solver::StartBlock(int salt) {
  FillRandom(Col(nlock_), ld_, n_, b_, A_.row_begin(), options_.seed, salt);
  Project(nlock_, Col(nlock_));
  Normalize(Col(nlock_), nlock_);
  m_ = 0;
}

// W (n x b) minus its projection on the first k columns: classical Gram-Schmidt (two dgemm and
// one MPI_Allreduce), repeated when some column lost more than reorthogonalize_ of its norm in
// the first pass (Daniel, Gragg, Kaufman and Stewart's criterion). Returns the coefficients
// (k x b, column-major) of the pass or passes.
std::vector<double> Solver::Project(int k, double* W) {
  const Timed timed(&times_.orthogonalize);
  std::vector<double> total(static_cast<std::size_t>(k) * b_, 0.0), pass(total.size() + b_);
  if (k == 0) return total;
  ++first_passes_;
  auto column_norms = [&](double* out) {  // squared, local
    for (int c = 0; c < b_; ++c) {
      double s = 0;
      for (int i = 0; i < n_; ++i)
        s += W[i + static_cast<std::size_t>(c) * ld_] * W[i + static_cast<std::size_t>(c) * ld_];
      out[c] = s;
    }
  };
  std::vector<double> before(b_);
  for (int round = 0; round < 2; ++round) {
    dgemm_("T", "N", &k, &b_, &n_, &kOne, Q_.data(), &ld_, W, &ld_, &kZero, pass.data(), &k);
    if (round == 0) column_norms(pass.data() + total.size());
    QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, pass.data(), static_cast<int>(round == 0 ? pass.size() : total.size()),
                           MPI_DOUBLE, MPI_SUM, comm_));
    dgemm_("N", "N", &n_, &b_, &k, &kMinusOne, Q_.data(), &ld_, pass.data(), &k, &kOne, W, &ld_);
    for (std::size_t i = 0; i < total.size(); ++i) total[i] += pass[i];
    if (round == 1) break;
    std::copy(pass.end() - b_, pass.end(), before.begin());
    std::vector<double> after(b_);
    column_norms(after.data());
    QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, after.data(), b_, MPI_DOUBLE, MPI_SUM, comm_));
    bool again = false;
    for (int c = 0; c < b_; ++c) again |= before[c] > reorthogonalize_ * reorthogonalize_ * after[c];
    if (!again) break;
    ++second_passes_;
  }
  return total;
}

// W (n x b, orthogonal to the first k columns of Q) = W' R with W' orthonormal, by CholQR (twice
// unless the block is well conditioned for the tolerance, see reorthogonalize_); returns R (b x b, upper triangular,
// column-major). A numerically dependent block goes to NormalizeByColumns instead.
std::vector<double> Solver::Normalize(double* W, int k) {
  const Timed timed(&times_.normalize);
  std::vector<double> R(static_cast<std::size_t>(b_) * b_, 0.0), G(R.size()), U(R.size());
  for (int c = 0; c < b_; ++c) R[c + static_cast<std::size_t>(c) * b_] = 1.0;
  for (int round = 0; round < 2; ++round) {
    dgemm_("T", "N", &b_, &b_, &n_, &kOne, W, &ld_, W, &ld_, &kZero, G.data(), &b_);
    QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, G.data(), static_cast<int>(G.size()), MPI_DOUBLE, MPI_SUM, comm_));
    U = G;
    int info = 0;
    dpotrf_("U", &b_, U.data(), &b_, &info);
    bool ok = info == 0;
    double kept = 1;  // the smallest share of a column's squared norm left after the earlier ones
    for (int c = 0; ok && c < b_; ++c) {
      const double g = G[c + static_cast<std::size_t>(c) * b_], u = U[c + static_cast<std::size_t>(c) * b_];
      ok = g > 0 && u * u >= kDependentShare * g;
      if (ok) kept = std::min(kept, u * u / g);
    }
    if (!ok) {
      // W = W' R_cols with R_cols from the fallback; the total is R_cols R.
      const std::vector<double> Rc = NormalizeByColumns(W, k, ++salt_);
      std::vector<double> total(R.size());
      dgemm_("N", "N", &b_, &b_, &b_, &kOne, Rc.data(), &b_, R.data(), &b_, &kZero, total.data(), &b_);
      return total;
    }
    for (int c = 0; c < b_; ++c)
      for (int r = c + 1; r < b_; ++r) U[r + static_cast<std::size_t>(c) * b_] = 0.0;
    dtrsm_("R", "U", "N", "N", &n_, &b_, &kOne, U.data(), &b_, W, &ld_);
    std::vector<double> total(R.size());
    dgemm_("N", "N", &b_, &b_, &b_, &kOne, U.data(), &b_, R.data(), &b_, &kZero, total.data(), &b_);
    R.swap(total);
    // One round leaves W' orthonormal to about 1e-16 times the block's squared condition number,
    // which `kept` bounds from below: a second round only where that matters (as in Project).
    if (round == 0 && kept * reorthogonalize_ * reorthogonalize_ > 1) break;
  }
  return R;
}

// Modified Gram-Schmidt over the block's columns, each column projected twice against the first
// k columns of Q and the block's earlier columns. A column that loses almost all of its norm is
// replaced by a random one (orthogonalized the same way) with a zero on R's diagonal, so that the
// basis stays orthonormal and W = W' R still holds to rounding.
std::vector<double> Solver::NormalizeByColumns(double* W, int k, int salt) {
  std::vector<double> R(static_cast<std::size_t>(b_) * b_, 0.0);
  std::vector<double> h(static_cast<std::size_t>(k) + b_), random(ld_);
  auto project = [&](double* w, int c, double* coeff) {  // two passes against Q[:, :k] and W[:, :c]
    for (int round = 0; round < 2; ++round) {
      const int one = 1;
      if (k > 0) dgemm_("T", "N", &k, &one, &n_, &kOne, Q_.data(), &ld_, w, &ld_, &kZero, h.data(), &k);
      if (c > 0) dgemm_("T", "N", &c, &one, &n_, &kOne, W, &ld_, w, &ld_, &kZero, h.data() + k, &c);
      QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, h.data(), k + c, MPI_DOUBLE, MPI_SUM, comm_));
      if (k > 0) dgemm_("N", "N", &n_, &one, &k, &kMinusOne, Q_.data(), &ld_, h.data(), &k, &kOne, w, &ld_);
      if (c > 0) dgemm_("N", "N", &n_, &one, &c, &kMinusOne, W, &ld_, h.data() + k, &c, &kOne, w, &ld_);
      if (coeff)
        for (int i = 0; i < c; ++i) coeff[i] += h[k + i];
    }
  };
  auto norm = [&](const double* w) {
    double s = 0;
    for (int i = 0; i < n_; ++i) s += w[i] * w[i];
    QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, &s, 1, MPI_DOUBLE, MPI_SUM, comm_));
    return std::sqrt(s);
  };
  for (int c = 0; c < b_; ++c) {
    double* w = W + static_cast<std::size_t>(c) * ld_;
    double* rc = R.data() + static_cast<std::size_t>(c) * b_;
    const double before = norm(w);
    project(w, c, rc);
    double after = norm(w);
    if (after > kLostShare * before && after > 0) {
      rc[c] = after;
    } else {  // dependent: a random direction instead, R's diagonal 0
      ++replaced_;
      FillRandom(random.data(), ld_, n_, 1, A_.row_begin(), options_.seed, 0x10000 * salt + c);
      std::copy(random.begin(), random.begin() + n_, w);
      project(w, c, nullptr);
      after = norm(w);
    }
    for (int i = 0; i < n_; ++i) w[i] /= after;
  }
  return R;
}

// Expands the basis block by block; at a full basis, Rayleigh-Ritz, locking and a thick restart,
// until nev pairs are locked, `budget` column products are spent or a stop signal comes.
void Solver::Iterate(Precision precision, global_int_t budget) {
  warm_ = 0;
  while (nlock_ < nev_ && stop_signal_ == 0) {
    const int j = nlock_ + m_;  // the block to expand
    {
      const Timed timed(&times_.products);
      A_.Apply(Col(j), ld_, W_.data(), ld_, precision);
    }
    const int k = j + b_;
    const std::vector<double> C = Project(k, W_.data());
    // The new block column of T (active rows), mirrored; its diagonal block symmetrized.
    for (int c = 0; c < b_; ++c)
      for (int r = 0; r < m_; ++r) T(r, m_ + c) = T(m_ + c, r) = C[nlock_ + r + static_cast<std::size_t>(c) * k];
    for (int c = 0; c < b_; ++c)
      for (int r = 0; r < b_; ++r)
        T(m_ + r, m_ + c) =
            0.5 * (C[j + r + static_cast<std::size_t>(c) * k] + C[j + c + static_cast<std::size_t>(r) * k]);
    m_ += b_;
    const std::vector<double> R = Normalize(W_.data(), k);
    std::copy(W_.begin(), W_.end(), Q_.begin() + static_cast<std::ptrdiff_t>(nlock_ + m_) * ld_);
    const bool full = nlock_ + m_ + b_ > ncv_;
    if ((full || A_.products() >= budget) && !Restart(R, budget)) return;
  }
}

// Rayleigh-Ritz on the active basis (rank 0 diagonalizes T and broadcasts the Ritz pairs),
// locking of the converged leading pairs, and the thick restart: the next wanted Ritz vectors
// and the next block (R: its coefficients) become the new basis. Returns false when iterating
// should end (nev locked, the budget spent, or a stop signal); then up to b unconverged Ritz
// vectors are kept after the locked ones (warm_), for a solve that continues in double.
bool Solver::Restart(const std::vector<double>& R, global_int_t budget) {
  const int m = m_;
  std::vector<double> theta(m), Y(static_cast<std::size_t>(m) * m);
  double t0 = MPI_Wtime();
  if (CommRank(comm_) == 0) {
    for (int c = 0; c < m; ++c)
      for (int r = 0; r < m; ++r) Y[r + static_cast<std::size_t>(c) * m] = T(r, c);
    int lwork = -1, liwork = -1, info = 0, iquery = 0;
    double query = 0;
    dsyevd_("V", "U", &m, Y.data(), &m, theta.data(), &query, &lwork, &iquery, &liwork, &info);
    lwork = static_cast<int>(query);
    liwork = iquery;
    std::vector<double> work(lwork);
    std::vector<int> iwork(liwork);
    dsyevd_("V", "U", &m, Y.data(), &m, theta.data(), work.data(), &lwork, iwork.data(), &liwork, &info);
    if (info != 0)
      throw std::runtime_error("dsyevd failed on the Rayleigh quotient (info " + std::to_string(info) + ")");
    // Descending order.
    std::reverse(theta.begin(), theta.end());
    for (int c = 0; c < m / 2; ++c)
      std::swap_ranges(Y.begin() + static_cast<std::ptrdiff_t>(c) * m,
                       Y.begin() + static_cast<std::ptrdiff_t>(c + 1) * m,
                       Y.begin() + static_cast<std::ptrdiff_t>(m - 1 - c) * m);
  }
  QWEM_MPI(MPI_Bcast(theta.data(), m, MPI_DOUBLE, 0, comm_));
  QWEM_MPI(MPI_Bcast(Y.data(), static_cast<int>(Y.size()), MPI_DOUBLE, 0, comm_));
  times_.rayleigh_ritz += MPI_Wtime() - t0;

  // R y_last (y_last: the last b entries of Ritz vector i): its norm is the Ritz residual, and
  // it is the coupling of a kept Ritz vector to the next block.
  auto coupling = [&](int i, int r) {
    double v = 0;
    for (int c = r; c < b_; ++c)
      v += R[r + static_cast<std::size_t>(c) * b_] * Y[m - b_ + c + static_cast<std::size_t>(i) * m];
    return v;
  };
  auto residual = [&](int i) {
    double s = 0;
    for (int r = 0; r < b_; ++r) s += coupling(i, r) * coupling(i, r);
    return std::sqrt(s);
  };
  int nconv = 0;
  while (nconv < m && nlock_ + nconv < nev_ && residual(nconv) <= kLockShare * options_.tol * std::abs(theta[nconv]))
    ++nconv;
  ++restarts_;
  if (monitor_) monitor_(restarts_, nlock_ + nconv, A_.products());
  if (stop_) stop_signal_ = stop_();

  const int remaining = nev_ - nlock_ - nconv;
  const bool go_on = remaining > 0 && stop_signal_ == 0 && A_.products() < budget;
  // Going on: keep the wanted Ritz vectors and half of the rest of the basis (Krylov-Schur's
  // usual share), leaving room for at least two blocks. Stopping: up to b unconverged ones.
  int keep = 0;
  if (go_on) {
    const int free_cols = ncv_ - nlock_ - nconv;
    keep = std::min({std::max(remaining, free_cols / 2), free_cols - 2 * b_, m - nconv});
    if (keep < 1)
      throw Error("the eigensolver's basis (--eig-ncv " + std::to_string(ncv_) + ") is too small for " +
                  std::to_string(nev_) + " eigenpairs in blocks of " + std::to_string(b_));
  } else if (remaining > 0 && stop_signal_ == 0) {
    keep = std::min(b_, m - nconv);
  }
  const int rotate = nconv + keep;
  if (rotate > 0) {
    const Timed timed(&times_.rotate);
    std::vector<double> X(static_cast<std::size_t>(ld_) * rotate);
    dgemm_("N", "N", &n_, &rotate, &m, &kOne, Col(nlock_), &ld_, Y.data(), &m, &kZero, X.data(), &ld_);
    std::copy(X.begin(), X.end(), Q_.begin() + static_cast<std::ptrdiff_t>(nlock_) * ld_);
  }
  locked_values_.insert(locked_values_.end(), theta.begin(), theta.begin() + nconv);
  if (!go_on) {
    nlock_ += nconv;
    m_ = 0;
    warm_ = keep;
    return false;
  }
  // The next block moves down next to the kept vectors; its coupling to them is R y_last.
  std::memmove(Col(nlock_ + rotate), Col(nlock_ + m), sizeof(double) * static_cast<std::size_t>(ld_) * b_);
  std::fill(T_.begin(), T_.end(), 0.0);
  for (int i = 0; i < keep; ++i) {
    T(i, i) = theta[nconv + i];
    for (int r = 0; r < b_; ++r) T(keep + r, i) = T(i, keep + r) = coupling(nconv + i, r);
  }
  nlock_ += nconv;
  m_ = keep;
  return true;
}

// The locked pairs with double-precision products: each eigenvalue becomes the Rayleigh quotient
// x^T A x (its error is of the order of the squared residual), and the relative residual
// ||A x - theta x|| / |theta| is returned.
std::vector<double> Solver::Verify() {
  const Timed timed(&times_.verify);
  std::vector<double> res(nlock_, 0.0);
  std::vector<double> X(static_cast<std::size_t>(ld_) * b_), AX(X.size()), sums(b_);
  for (int start = 0; start < nlock_; start += b_) {
    const int cols = std::min(b_, nlock_ - start);
    std::fill(X.begin(), X.end(), 0.0);
    std::copy(Col(start), Col(start) + static_cast<std::size_t>(ld_) * cols, X.begin());
    A_.Apply(X.data(), ld_, AX.data(), ld_, Precision::kDouble);
    auto x = [&](int i, int c) { return X[i + static_cast<std::size_t>(c) * ld_]; };
    auto ax = [&](int i, int c) { return AX[i + static_cast<std::size_t>(c) * ld_]; };
    for (int pass = 0; pass < 2; ++pass) {  // x^T A x, then ||A x - theta x||^2 (no cancellation)
      std::fill(sums.begin(), sums.end(), 0.0);
      for (int c = 0; c < cols; ++c)
        for (int i = 0; i < n_; ++i) {
          const double r = pass == 0 ? x(i, c) : ax(i, c) - locked_values_[start + c] * x(i, c);
          sums[c] += pass == 0 ? r * ax(i, c) : r * r;
        }
      QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, sums.data(), cols, MPI_DOUBLE, MPI_SUM, comm_));
      for (int c = 0; c < cols; ++c) (pass == 0 ? locked_values_[start + c] : res[start + c]) = sums[c];
    }
  }
  for (int i = 0; i < nlock_; ++i) res[i] = std::sqrt(res[i]) / std::abs(locked_values_[i]);
  return res;
}

BlockLanczosResult Solver::Run() {
  BlockLanczosResult result;
  StartBlock(0);
  const bool single = options_.precision == Precision::kSingle;
  // Single precision gets at most half of the products, so that double precision has the rest.
  Iterate(options_.precision, !single                        ? max_products_
                              : options_.single_products > 0 ? std::min(options_.single_products, max_products_ / 2)
                                                             : max_products_ / 2);
  std::vector<double> res = Verify();
  if (stop_signal_ == 0 && A_.products() < max_products_) {
    // Pairs whose double-precision residual misses the tolerance, and pairs not yet converged,
    // are iterated with double products: the passing pairs stay locked; the failing ones, then
    // the kept Ritz vectors, then random columns start the basis.
    std::vector<int> pass, start;
    for (int i = 0; i < nlock_; ++i) (res[i] <= options_.tol ? pass : start).push_back(i);
    result.refined = static_cast<int>(start.size());
    if (!start.empty() || nlock_ < nev_) {
      for (int i = 0; i < warm_; ++i) start.push_back(nlock_ + i);
      const std::vector<double> old(Q_.begin(), Q_.begin() + static_cast<std::ptrdiff_t>(nlock_ + warm_) * ld_);
      const std::vector<double> values = locked_values_;
      auto column = [&](int i) { return old.begin() + static_cast<std::ptrdiff_t>(i) * ld_; };
      locked_values_.clear();
      nlock_ = 0;
      for (int i : pass) {
        std::copy(column(i), column(i + 1), Col(nlock_++));
        locked_values_.push_back(values[i]);
      }
      FillRandom(Col(nlock_), ld_, n_, b_, A_.row_begin(), options_.seed, ++salt_);
      for (int c = 0; c < std::min<int>(b_, static_cast<int>(start.size())); ++c)
        std::copy(column(start[c]), column(start[c] + 1), Col(nlock_ + c));
      Project(nlock_, Col(nlock_));
      Normalize(Col(nlock_), nlock_);
      m_ = 0;
      std::fill(T_.begin(), T_.end(), 0.0);
      Iterate(Precision::kDouble, max_products_);
      res = Verify();
    }
  }
  // Descending order (a pair locked at a later restart may exceed an earlier one).
  std::vector<int> order(nlock_);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return locked_values_[a] > locked_values_[b]; });
  const int nout = std::min(nlock_, nev_);
  result.n_converged = nout;
  result.vectors.resize(static_cast<std::size_t>(n_) * nout);
  for (int c = 0; c < nout; ++c) {
    result.eigenvalues.push_back(locked_values_[order[c]]);
    result.residuals.push_back(res[order[c]]);
    std::copy(Col(order[c]), Col(order[c]) + n_, result.vectors.begin() + static_cast<std::ptrdiff_t>(c) * n_);
  }
  result.restarts = restarts_;
  result.ncv = ncv_;
  result.products = A_.products();
  result.double_products = A_.double_products();
  result.replaced_columns = replaced_;
  result.projections = first_passes_;
  result.repeated_projections = second_passes_;
  result.times = times_;
  result.stop_signal = stop_signal_;
  return result;
}

}  // namespace

bool BlockLanczosFits(const BlockLanczosOptions& options, int b, global_int_t n_global) {
  return ResolvedBasisSize(options, b, n_global) >= options.nev + 2 * b;
}

int ResolvedBasisSize(const BlockLanczosOptions& options, int b, global_int_t n_global) {
  const global_int_t wanted = options.ncv > 0 ? options.ncv : std::max(5 * options.nev / 2, options.nev + 8 * b);
  return static_cast<int>(std::min<global_int_t>(wanted, n_global - b));
}

BlockLanczosResult SolveBlockLanczos(MPI_Comm comm, BlockOperator& A, const BlockLanczosOptions& options,
                                     const RestartMonitor& monitor, const StopTest& stop) {
  if (!BlockLanczosFits(options, A.block(), A.n_global()))
    throw Error("the block eigensolver's basis (" +
                std::to_string(ResolvedBasisSize(options, A.block(), A.n_global())) +
                " columns, at most V - b) has no room for " + std::to_string(options.nev) +
                " eigenpairs and two blocks of " + std::to_string(A.block()) +
                ": raise --eig-ncv, lower --dim or "
                "--eig-block, or use --eigensolver scalapack");
  Solver solver(comm, A, options, monitor, stop);
  return solver.Run();
}

}  // namespace qwem
