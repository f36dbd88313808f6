// The closed form against independent oracles: M* built by hand from the serial reference
// counts and diagonalized densely by LAPACK (dsyev), on every rank count, for both eigensolvers
// (block Lanczos in double and in single precision, SLEPc) and both operators (sparse, dense).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "qwem/block_lanczos.hpp"
#include "qwem/eigen.hpp"
#include "qwem/target.hpp"
#include "reference.hpp"
#include "test_util.hpp"

extern "C" void dsyev_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
                       double* work, const int* lwork, int* info);

namespace {

const MPI_Comm kWorld = MPI_COMM_WORLD;
using qwem::EigenSolverKind;
using qwem::OperatorKind;
using qwem::TargetKind;

// Dense M* (or PPMI) from the reference counts, by the formulas of SCIENCE.md section 2,
// column-major, and its eigen-decomposition (ascending).
struct DenseOracle {
  int n = 0;
  std::vector<double> matrix, a, w;  // the matrix; its eigenvectors (columns) and eigenvalues
  // ||M v - theta v|| / |theta| for a vector v (length n).
  double Residual(const std::vector<double>& v, double theta) const {
    double s = 0;
    for (int i = 0; i < n; ++i) {
      double mv = 0;
      for (int j = 0; j < n; ++j) mv += matrix[i + static_cast<std::size_t>(j) * n] * v[j];
      s += (mv - theta * v[i]) * (mv - theta * v[i]);
    }
    return std::sqrt(s) / std::abs(theta);
  }
};

DenseOracle Oracle(const qwem::ref::Counts& ref, TargetKind kind, int window, double nu) {
  DenseOracle o;
  o.n = static_cast<int>(ref.words.size());
  const double pair_norm = static_cast<double>(ref.n_pairs) * (window + 1) / 2.0;
  double uni = 0;
  for (auto c : ref.word_counts) uni += static_cast<double>(c);
  auto pmi = [&](const std::pair<int, int>& ij, std::int64_t c) {
    return std::log(c / pair_norm / (ref.word_counts[ij.first] / uni * (ref.word_counts[ij.second] / uni)));
  };
  // Unseen pairs: -2 for M*, 0 for PPMI, the smallest observed PMI for PMI (the documented floor).
  double fill = kind == TargetKind::kMStar ? -2.0 : 0.0;
  if (kind == TargetKind::kPMI) {
    fill = 1e300;
    for (const auto& [ij, c] : ref.C) fill = std::min(fill, pmi(ij, c));
  }
  o.matrix.assign(static_cast<std::size_t>(o.n) * o.n, fill);
  for (const auto& [ij, c] : ref.C) {
    const double p = c / pair_norm, q = ref.word_counts[ij.first] / uni * (ref.word_counts[ij.second] / uni);
    double v = kind == TargetKind::kMStar  ? 2 * (p - nu * q) / (p + nu * q)
               : kind == TargetKind::kPPMI ? std::max(pmi(ij, c), 0.0)
                                           : pmi(ij, c);
    o.matrix[ij.first + static_cast<std::size_t>(ij.second) * o.n] = v;
  }
  o.a = o.matrix;
  o.w.resize(o.n);
  int lwork = -1, info = 0;
  double query;
  dsyev_("V", "U", &o.n, o.a.data(), &o.n, o.w.data(), &query, &lwork, &info);
  lwork = static_cast<int>(query);
  std::vector<double> work(lwork);
  dsyev_("V", "U", &o.n, o.a.data(), &o.n, o.w.data(), work.data(), &lwork, &info);
  EXPECT_EQ(info, 0);
  return o;  // a: eigenvectors, columns, ascending eigenvalues
}

// Rank 0: all rows of a distributed row-major (rows x d) block (empty elsewhere).
std::vector<double> GatherRows(MPI_Comm comm, const std::vector<double>& local) {
  const int size = qwem::CommSize(comm);
  int n = static_cast<int>(local.size());
  std::vector<int> counts(size), displs(size, 0);
  MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, comm);
  for (int r = 1; r < size; ++r) displs[r] = displs[r - 1] + counts[r - 1];
  std::vector<double> all(qwem::CommRank(comm) == 0 ? displs[size - 1] + counts[size - 1] : 0);
  MPI_Gatherv(local.data(), n, MPI_DOUBLE, all.data(), counts.data(), displs.data(), MPI_DOUBLE, 0, comm);
  return all;
}

struct Setting {
  TargetKind kind = TargetKind::kMStar;
  OperatorKind op = OperatorKind::kSparse;
  EigenSolverKind solver = EigenSolverKind::kBlock;
  double tol = 1e-10;
  int block = 16;
  int ncv = 0;
};

// Runs counts -> target -> eigenpairs on `comm`; gathers eigenvectors to rank 0.
struct Distributed {
  qwem::EigenResult eig;
  std::vector<double> all_vectors;  // rank 0: V x d row-major
};

Distributed Solve(MPI_Comm comm, const std::string& corpus, std::int64_t V, int L, int d, const Setting& s) {
  qwem::CountOptions co;
  co.window = L;
  auto pipe = qwem::test::RunPipeline(comm, corpus, V, 1, co);
  const qwem::Target target = qwem::BuildTarget(comm, pipe.rows, pipe.vocab, {s.kind, 1.0});
  qwem::EigenOptions options;
  options.dim = d;
  options.tol = s.tol;
  options.solver = s.solver;
  options.block = s.block;
  options.ncv = s.ncv;
  Distributed out;
  out.eig = qwem::ComputeEigenpairs(comm, target, options, s.op, {});
  out.all_vectors = GatherRows(comm, out.eig.vectors);
  return out;
}

// Eigenvalues, eigenvectors and residuals against LAPACK on the bundled corpus (V = 400). At a
// tight tolerance everything matches to 1e-8; at a loose one, the symmetric eigenproblem's
// bounds: |theta - lambda| <= ||r|| and sin(angle) <= ||r|| / gap, with ||r|| the reported
// residual, which must itself equal the residual computed here with the dense matrix.
void ExpectMatchesLapack(const Setting& s, int d = 12, std::int64_t V = 400) {
  const std::string corpus = qwem::test::ShareDir() + "/corpus";
  const int L = 8;
  const auto got = Solve(kWorld, corpus, V, L, d, s);
  ASSERT_EQ(got.eig.dim(), d);
  EXPECT_GE(got.eig.n_converged, d);
  if (s.solver == EigenSolverKind::kBlock && V < d + 3 * s.block) {
    EXPECT_EQ(got.eig.solver, "scalapack-pdsyevr");  // too small for blocks: the dense solve
  } else {
    EXPECT_EQ(got.eig.op.chosen, s.op);
  }
  if (qwem::CommRank(kWorld) != 0) return;
  const auto ref = qwem::ref::Count(qwem::ref::ReadDocuments(corpus), V, 1, L);
  const DenseOracle o = Oracle(ref, s.kind, L, 1.0);
  const bool tight = s.tol < 1e-8;
  for (int k = 0; k < d; ++k) {
    const double want = o.w[o.n - 1 - k], theta = got.eig.eigenvalues[k];
    std::vector<double> v(o.n);
    double dot = 0;
    for (int i = 0; i < o.n; ++i) {
      v[i] = got.all_vectors[static_cast<std::size_t>(i) * d + k];
      dot += v[i] * o.a[i + static_cast<std::size_t>(o.n - 1 - k) * o.n];
    }
    const double residual = o.Residual(v, theta);
    EXPECT_LE(got.eig.residuals[k], s.tol) << "pair " << k;
    if (s.solver != EigenSolverKind::kSlepc) {  // block and ScaLAPACK report true residuals
      EXPECT_NEAR(got.eig.residuals[k], residual, 1e-6 * s.tol + 1e-12) << "pair " << k;
    }
    if (tight) {
      EXPECT_NEAR(theta, want, 1e-8 * std::abs(want)) << "eigenvalue " << k;
      EXPECT_NEAR(std::abs(dot), 1.0, 1e-7) << "eigenvector " << k;  // equal up to sign (simple eigenvalues)
    } else {
      const double r = residual * std::abs(theta);
      const double gap = std::min(k > 0 ? o.w[o.n - k] - want : 1e300, want - o.w[o.n - 2 - k]);
      EXPECT_LE(std::abs(theta - want), r) << "eigenvalue " << k;
      EXPECT_GE(std::abs(dot), std::sqrt(std::max(0.0, 1 - (r / gap) * (r / gap))) - 1e-12) << "eigenvector " << k;
    }
  }
}

TEST(ClosedForm, BlockMStarSparseMatchesLapack) { ExpectMatchesLapack({TargetKind::kMStar, OperatorKind::kSparse}); }
TEST(ClosedForm, BlockMStarDenseMatchesLapack) { ExpectMatchesLapack({TargetKind::kMStar, OperatorKind::kDense}); }
TEST(ClosedForm, BlockPpmiMatchesLapack) { ExpectMatchesLapack({TargetKind::kPPMI, OperatorKind::kSparse}); }
TEST(ClosedForm, BlockPmiWithItsFloorMatchesLapack) { ExpectMatchesLapack({TargetKind::kPMI, OperatorKind::kSparse}); }
TEST(ClosedForm, BlockSinglePrecisionWithinItsTolerance) {
  ExpectMatchesLapack({TargetKind::kMStar, OperatorKind::kSparse, EigenSolverKind::kBlock, 1e-4, 32});
}
TEST(ClosedForm, BlockOnATinyVocabularyFallsBackToTheDenseSolve) {
  ExpectMatchesLapack({TargetKind::kMStar, OperatorKind::kSparse, EigenSolverKind::kBlock, 1e-10, 16}, 20, 50);
}
TEST(ClosedForm, BlockManyRestartsAndLocking) {
  // 40 pairs in blocks of 16 with a basis of 88 columns: pairs lock over many restarts.
  ExpectMatchesLapack({TargetKind::kMStar, OperatorKind::kSparse, EigenSolverKind::kBlock, 1e-10, 16, 88}, 40);
}
TEST(ClosedForm, ScalapackMStarMatchesLapack) {
  ExpectMatchesLapack({TargetKind::kMStar, OperatorKind::kDense, EigenSolverKind::kScalapack});
}
TEST(ClosedForm, ScalapackPmiManyPairsMatchLapack) {
  ExpectMatchesLapack({TargetKind::kPMI, OperatorKind::kDense, EigenSolverKind::kScalapack}, 150);
}
TEST(ClosedForm, SlepcMStarSparseMatchesLapack) {
  ExpectMatchesLapack({TargetKind::kMStar, OperatorKind::kSparse, EigenSolverKind::kSlepc});
}
TEST(ClosedForm, SlepcMStarDenseMatchesLapack) {
  ExpectMatchesLapack({TargetKind::kMStar, OperatorKind::kDense, EigenSolverKind::kSlepc});
}

// Eigenpairs to rounding, eigenvector signs included, whatever the rank count.
void ExpectSameOnEverySubcommunicator(const Setting& s, double value_tol, double vector_tol) {
  const std::string corpus = qwem::test::ShareDir() + "/corpus";
  const int world = qwem::CommSize(kWorld), rank = qwem::CommRank(kWorld);
  const int d = 20;
  const auto full = Solve(kWorld, corpus, 300, 6, d, s);
  for (int k = 1; k < world; ++k) {
    MPI_Comm sub;
    MPI_Comm_split(kWorld, rank < k ? 0 : MPI_UNDEFINED, rank, &sub);
    if (sub == MPI_COMM_NULL) continue;
    const auto part = Solve(sub, corpus, 300, 6, d, s);
    if (rank == 0) {
      for (int j = 0; j < d; ++j)
        EXPECT_NEAR(part.eig.eigenvalues[j], full.eig.eigenvalues[j], value_tol * std::abs(full.eig.eigenvalues[j]));
      ASSERT_EQ(part.all_vectors.size(), full.all_vectors.size());
      for (std::size_t i = 0; i < full.all_vectors.size(); ++i)
        ASSERT_NEAR(part.all_vectors[i], full.all_vectors[i], vector_tol) << k << " ranks, entry " << i;
    }
    MPI_Comm_free(&sub);
  }
}

TEST(ClosedForm, BlockIdenticalOnEverySubcommunicatorSize) { ExpectSameOnEverySubcommunicator({}, 1e-12, 1e-9); }
TEST(ClosedForm, BlockSinglePrecisionIdenticalOnEverySubcommunicatorSize) {
  ExpectSameOnEverySubcommunicator({TargetKind::kMStar, OperatorKind::kSparse, EigenSolverKind::kBlock, 1e-4, 16}, 1e-9,
                                   1e-6);
}
TEST(ClosedForm, ScalapackIdenticalOnEverySubcommunicatorSize) {
  ExpectSameOnEverySubcommunicator({TargetKind::kMStar, OperatorKind::kDense, EigenSolverKind::kScalapack}, 1e-12,
                                   1e-9);
}
TEST(ClosedForm, SlepcIdenticalOnEverySubcommunicatorSize) {
  ExpectSameOnEverySubcommunicator({TargetKind::kMStar, OperatorKind::kSparse, EigenSolverKind::kSlepc}, 1e-9, 1e-7);
}

// A diagonal operator built by hand (one entry per row): eigenvalue 5 on every 20th row, 3 on
// the next five, 1 elsewhere. The Krylov space of a block of 16 has 10 + 16 + 16 dimensions, so
// the third block is partly dependent and must be completed by random columns, and the top 8
// pairs share one eigenvalue.
TEST(BlockLanczos, DependentBlocksAndARepeatedEigenvalue) {
  const int size = qwem::CommSize(kWorld), rank = qwem::CommRank(kWorld);
  const qwem::global_int_t V = 200;
  qwem::CooccurrenceRows rows;
  rows.n_words = V;
  for (int r = 0; r <= size; ++r) rows.row_ranges.push_back(V * r / size);
  rows.row_begin = rows.row_ranges[rank];
  rows.row_end = rows.row_ranges[rank + 1];
  qwem::Target target;
  target.pattern = &rows;
  rows.row_ptr.push_back(0);
  for (qwem::global_int_t i = rows.row_begin; i < rows.row_end; ++i) {
    rows.cols.push_back(static_cast<qwem::word_id_t>(i));
    rows.values.push_back(1);
    rows.row_ptr.push_back(rows.row_ptr.back() + 1);
    target.values.push_back(i % 20 == 0 ? 5.0 : i % 20 <= 5 ? 3.0 : 1.0);
  }
  for (qwem::Precision precision : {qwem::Precision::kDouble, qwem::Precision::kSingle}) {
    qwem::BlockOperator A(kWorld, target, OperatorKind::kSparse, 16, true, true);
    qwem::BlockLanczosOptions options;
    options.nev = 8;
    options.tol = precision == qwem::Precision::kDouble ? 1e-10 : 1e-6;
    options.precision = precision;
    const qwem::BlockLanczosResult r = qwem::SolveBlockLanczos(kWorld, A, options);
    ASSERT_EQ(r.n_converged, 8);
    // In double the dependent columns are found; in single, rounding noise of 1e-8 is a direction.
    if (precision == qwem::Precision::kDouble) {
      EXPECT_GT(r.replaced_columns, 0);
    }
    for (int k = 0; k < 8; ++k) {
      EXPECT_NEAR(r.eigenvalues[k], 5.0, 1e-9);
      EXPECT_LE(r.residuals[k], options.tol);
    }
    // Orthonormal, and inside the eigenspace (zero off the rows with 5).
    const int n = static_cast<int>(A.n_local());
    std::vector<double> gram(64, 0.0);
    double outside = 0;
    for (int a = 0; a < 8; ++a) {
      for (int b = 0; b < 8; ++b)
        for (int i = 0; i < n; ++i) gram[a * 8 + b] += r.vectors[a * n + i] * r.vectors[b * n + i];
      for (int i = 0; i < n; ++i)
        if ((A.row_begin() + i) % 20 != 0) outside = std::max(outside, std::abs(r.vectors[a * n + i]));
    }
    MPI_Allreduce(MPI_IN_PLACE, gram.data(), 64, MPI_DOUBLE, MPI_SUM, kWorld);
    for (int a = 0; a < 8; ++a)
      for (int b = 0; b < 8; ++b) EXPECT_NEAR(gram[a * 8 + b], a == b ? 1.0 : 0.0, 1e-12);
    EXPECT_LT(outside, 10 * options.tol);
  }
}

// Single precision that runs out of its share of the products goes on in double: the pairs it
// locked and checked stay, the others converge with double products, and all match LAPACK.
TEST(BlockLanczos, SinglePrecisionHandsOverToDouble) {
  const std::string corpus = qwem::test::ShareDir() + "/corpus";
  const std::int64_t V = 400;
  const int L = 8, d = 24;
  qwem::CountOptions co;
  co.window = L;
  auto pipe = qwem::test::RunPipeline(kWorld, corpus, V, 1, co);
  const qwem::Target target = qwem::BuildTarget(kWorld, pipe.rows, pipe.vocab, {TargetKind::kMStar, 1.0});
  qwem::BlockOperator A(kWorld, target, OperatorKind::kSparse, 16, true, true);
  qwem::BlockLanczosOptions options;
  options.nev = d;
  options.tol = 1e-9;
  options.precision = qwem::Precision::kSingle;
  options.single_products = 160;  // ten blocks: not enough for 24 pairs at this tolerance
  const qwem::BlockLanczosResult r = qwem::SolveBlockLanczos(kWorld, A, options);
  ASSERT_EQ(r.n_converged, d);
  EXPECT_GT(r.double_products, 0);
  EXPECT_GT(r.products - r.double_products, 0);
  // Row-major rows for the comparison.
  const int n = static_cast<int>(A.n_local());
  std::vector<double> rows_major(static_cast<std::size_t>(n) * d);
  for (int k = 0; k < d; ++k)
    for (int i = 0; i < n; ++i) rows_major[static_cast<std::size_t>(i) * d + k] = r.vectors[k * n + i];
  const std::vector<double> all = GatherRows(kWorld, rows_major);
  if (qwem::CommRank(kWorld) != 0) return;
  const DenseOracle o = Oracle(qwem::ref::Count(qwem::ref::ReadDocuments(corpus), V, 1, L), TargetKind::kMStar, L, 1.0);
  for (int k = 0; k < d; ++k) {
    EXPECT_NEAR(r.eigenvalues[k], o.w[o.n - 1 - k], 1e-8 * std::abs(o.w[o.n - 1 - k])) << "eigenvalue " << k;
    EXPECT_LE(r.residuals[k], 1e-9);
    double dot = 0;
    for (int i = 0; i < o.n; ++i)
      dot += all[static_cast<std::size_t>(i) * d + k] * o.a[i + static_cast<std::size_t>(o.n - 1 - k) * o.n];
    EXPECT_NEAR(std::abs(dot), 1.0, 1e-7) << "eigenvector " << k;
  }
}

TEST(ClosedForm, FullSpectrumMatchesLapack) {
  const std::string corpus = qwem::test::ShareDir() + "/corpus";
  const std::int64_t V = 300;
  const int L = 8;
  qwem::CountOptions co;
  co.window = L;
  auto pipe = qwem::test::RunPipeline(kWorld, corpus, V, 1, co);
  const qwem::Target target = qwem::BuildTarget(kWorld, pipe.rows, pipe.vocab, {TargetKind::kMStar, 1.0});
  const std::vector<double> all = qwem::ComputeFullSpectrum(kWorld, target);
  ASSERT_EQ(all.size(), static_cast<std::size_t>(V));
  if (qwem::CommRank(kWorld) != 0) return;
  const DenseOracle o = Oracle(qwem::ref::Count(qwem::ref::ReadDocuments(corpus), V, 1, L), TargetKind::kMStar, L, 1.0);
  const double scale = std::max(std::abs(o.w.front()), std::abs(o.w.back()));
  for (int k = 0; k < V; ++k) EXPECT_NEAR(all[k], o.w[V - 1 - k], 1e-9 * scale) << "eigenvalue " << k;
}

TEST(ClosedForm, EmbeddingsScaleEigenvectorsByClampedPowers) {
  qwem::EigenResult eig;
  eig.eigenvalues = {4.0, -1.0};
  eig.vectors = {1.0, 2.0, 3.0, 4.0};  // two rows, d = 2
  const auto w = qwem::ComputeEmbeddings(eig, 0.5);
  EXPECT_EQ(w, (std::vector<double>{2.0, 0.0, 6.0, 0.0}));  // sqrt(4) = 2; max(-1, 0) = 0
}

}  // namespace
