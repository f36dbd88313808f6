// The closed form against independent oracles: M* built by hand from the serial reference
// counts and diagonalized densely by LAPACK (dsyev), on every rank count.
#include <gtest/gtest.h>

#include <cmath>

#include "qwem/eigen.hpp"
#include "qwem/target.hpp"
#include "reference.hpp"
#include "test_util.hpp"

extern "C" void dsyev_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
                       double* work, const int* lwork, int* info);

namespace {

const MPI_Comm kWorld = MPI_COMM_WORLD;

// Dense M* (or PPMI) from the reference counts, by the formulas of SCIENCE.md section 2,
// column-major, and its eigen-decomposition (ascending).
struct DenseOracle {
  int n = 0;
  std::vector<double> a, w;
};

DenseOracle Oracle(const qwem::ref::Counts& ref, qwem::TargetKind kind, int window, double nu) {
  DenseOracle o;
  o.n = static_cast<int>(ref.words.size());
  const double pair_norm = static_cast<double>(ref.n_pairs) * (window + 1) / 2.0;
  double uni = 0;
  for (auto c : ref.word_counts) uni += static_cast<double>(c);
  auto pmi = [&](const std::pair<int, int>& ij, std::int64_t c) {
    return std::log(c / pair_norm / (ref.word_counts[ij.first] / uni * (ref.word_counts[ij.second] / uni)));
  };
  // Unseen pairs: -2 for M*, 0 for PPMI, the smallest observed PMI for PMI (the documented floor).
  double fill = kind == qwem::TargetKind::kMStar ? -2.0 : 0.0;
  if (kind == qwem::TargetKind::kPMI) {
    fill = 1e300;
    for (const auto& [ij, c] : ref.C) fill = std::min(fill, pmi(ij, c));
  }
  o.a.assign(static_cast<std::size_t>(o.n) * o.n, fill);
  for (const auto& [ij, c] : ref.C) {
    const double p = c / pair_norm, q = ref.word_counts[ij.first] / uni * (ref.word_counts[ij.second] / uni);
    double v = kind == qwem::TargetKind::kMStar  ? 2 * (p - nu * q) / (p + nu * q)
               : kind == qwem::TargetKind::kPPMI ? std::max(pmi(ij, c), 0.0)
                                                 : pmi(ij, c);
    o.a[ij.first + static_cast<std::size_t>(ij.second) * o.n] = v;
  }
  std::vector<double> m = o.a;
  o.w.resize(o.n);
  int lwork = -1, info = 0;
  double query;
  dsyev_("V", "U", &o.n, m.data(), &o.n, o.w.data(), &query, &lwork, &info);
  lwork = static_cast<int>(query);
  std::vector<double> work(lwork);
  dsyev_("V", "U", &o.n, m.data(), &o.n, o.w.data(), work.data(), &lwork, &info);
  EXPECT_EQ(info, 0);
  o.a = m;  // eigenvectors, columns, ascending eigenvalues
  return o;
}

// Runs counts -> target -> operator -> eigenpairs on `comm`; gathers eigenvectors to rank 0.
struct Distributed {
  qwem::EigenResult eig;
  std::vector<double> all_vectors;  // rank 0: V x d row-major
  qwem::OperatorChoice choice;
};

Distributed Solve(MPI_Comm comm, const std::string& corpus, std::int64_t V, int L, int d, qwem::TargetKind kind,
                  qwem::OperatorKind op_kind) {
  qwem::CountOptions co;
  co.window = L;
  auto pipe = qwem::test::RunPipeline(comm, corpus, V, 1, co);
  qwem::Target target;
  EXPECT_EQ(qwem::BuildTarget(comm, pipe.rows, pipe.vocab, {kind, 1.0}, &target), 0);
  Distributed out;
  qwem::OwnedMat op;
  EXPECT_EQ(qwem::CreateOperator(target, op_kind, &op, &out.choice), 0);
  qwem::EigenOptions options;
  options.dim = d;
  options.tol = 1e-10;
  EXPECT_EQ(qwem::SolveTopEigenpairs(op, options, {}, &out.eig), 0);
  const int size = qwem::CommSize(comm);
  int n = static_cast<int>(out.eig.vectors.size());
  std::vector<int> counts(size), displs(size, 0);
  MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, comm);
  for (int r = 1; r < size; ++r) displs[r] = displs[r - 1] + counts[r - 1];
  if (qwem::CommRank(comm) == 0) out.all_vectors.resize(displs[size - 1] + counts[size - 1]);
  MPI_Gatherv(out.eig.vectors.data(), n, MPI_DOUBLE, out.all_vectors.data(), counts.data(), displs.data(), MPI_DOUBLE,
              0, comm);
  return out;
}

void ExpectMatchesLapack(qwem::TargetKind kind, qwem::OperatorKind op_kind) {
  const std::string corpus = qwem::test::ShareDir() + "/corpus";
  const std::int64_t V = 400;
  const int L = 8, d = 12;
  const auto got = Solve(kWorld, corpus, V, L, d, kind, op_kind);
  ASSERT_EQ(got.eig.dim(), d);
  EXPECT_GE(got.eig.n_converged, d);
  if (qwem::CommRank(kWorld) != 0) return;
  const auto ref = qwem::ref::Count(qwem::ref::ReadDocuments(corpus), V, 1, L);
  const DenseOracle o = Oracle(ref, kind, L, 1.0);
  for (int k = 0; k < d; ++k) {
    const double want = o.w[o.n - 1 - k];
    EXPECT_NEAR(got.eig.eigenvalues[k], want, 1e-8 * std::abs(want)) << "eigenvalue " << k;
    // Eigenvectors equal up to sign (the eigenvalues here are simple).
    double dot = 0;
    for (int i = 0; i < o.n; ++i)
      dot +=
          got.all_vectors[static_cast<std::size_t>(i) * d + k] * o.a[i + static_cast<std::size_t>(o.n - 1 - k) * o.n];
    EXPECT_NEAR(std::abs(dot), 1.0, 1e-7) << "eigenvector " << k;
    EXPECT_LT(got.eig.residuals[k], 1e-9);
  }
}

TEST(ClosedForm, MStarSparsePlusRankOneMatchesLapack) {
  ExpectMatchesLapack(qwem::TargetKind::kMStar, qwem::OperatorKind::kSparse);
}

TEST(ClosedForm, MStarDenseMatchesLapack) { ExpectMatchesLapack(qwem::TargetKind::kMStar, qwem::OperatorKind::kDense); }

TEST(ClosedForm, PpmiMatchesLapack) { ExpectMatchesLapack(qwem::TargetKind::kPPMI, qwem::OperatorKind::kSparse); }

TEST(ClosedForm, PmiWithItsFloorMatchesLapack) {
  ExpectMatchesLapack(qwem::TargetKind::kPMI, qwem::OperatorKind::kSparse);
}

TEST(ClosedForm, IdenticalOnEverySubcommunicatorSize) {
  // Eigenpairs to rounding, eigenvector signs included, whatever the rank count.
  const std::string corpus = qwem::test::ShareDir() + "/corpus";
  const int world = qwem::CommSize(kWorld), rank = qwem::CommRank(kWorld);
  const auto full = Solve(kWorld, corpus, 300, 6, 8, qwem::TargetKind::kMStar, qwem::OperatorKind::kSparse);
  for (int k = 1; k < world; ++k) {
    MPI_Comm sub;
    MPI_Comm_split(kWorld, rank < k ? 0 : MPI_UNDEFINED, rank, &sub);
    if (sub == MPI_COMM_NULL) continue;
    const auto part = Solve(sub, corpus, 300, 6, 8, qwem::TargetKind::kMStar, qwem::OperatorKind::kSparse);
    if (rank == 0) {
      for (int j = 0; j < 8; ++j)
        EXPECT_NEAR(part.eig.eigenvalues[j], full.eig.eigenvalues[j], 1e-9 * std::abs(full.eig.eigenvalues[j]));
      ASSERT_EQ(part.all_vectors.size(), full.all_vectors.size());
      for (std::size_t i = 0; i < full.all_vectors.size(); ++i)
        ASSERT_NEAR(part.all_vectors[i], full.all_vectors[i], 1e-7) << k << " ranks, entry " << i;
    }
    MPI_Comm_free(&sub);
  }
}

TEST(ClosedForm, FullSpectrumMatchesLapack) {
  const std::string corpus = qwem::test::ShareDir() + "/corpus";
  const std::int64_t V = 300;
  const int L = 8;
  qwem::CountOptions co;
  co.window = L;
  auto pipe = qwem::test::RunPipeline(kWorld, corpus, V, 1, co);
  qwem::Target target;
  ASSERT_EQ(qwem::BuildTarget(kWorld, pipe.rows, pipe.vocab, {qwem::TargetKind::kMStar, 1.0}, &target), 0);
  qwem::OwnedMat dense;
  ASSERT_EQ(qwem::CreateDenseTarget(target, &dense), 0);
  std::vector<double> all;
  ASSERT_EQ(qwem::SolveFullSpectrum(dense, &all), 0);
  ASSERT_EQ(all.size(), static_cast<std::size_t>(V));
  if (qwem::CommRank(kWorld) != 0) return;
  const DenseOracle o =
      Oracle(qwem::ref::Count(qwem::ref::ReadDocuments(corpus), V, 1, L), qwem::TargetKind::kMStar, L, 1.0);
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
