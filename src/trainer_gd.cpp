// gd: deterministic full-batch gradient descent on ||M* - W W^T||_F^2 / V^2 with the distributed
// sparse + rank-one M*, W <- W + eta (4 / V^2) (M* W - W (W^T W)). Each rank holds its rows of W.
#include <cmath>

#include "qwem/blas.hpp"
#include "qwem/petsc_handle.hpp"
#include "qwem/random.hpp"
#include "trainer_strategies.hpp"

namespace qwem {

namespace {

class GdTrainer final : public Trainer {
 public:
  GdTrainer(MPI_Comm comm, const TrainingSetup& setup, const CooccurrenceRows& layout, const Target& target)
      : Trainer(comm, setup, layout), rank_one_(target.rank_one) {
    W_.assign(static_cast<std::size_t>(row_end_ - row_begin_) * d_, 0.0);
    mstar_norm2_ = TargetNormSquared(comm, target);
    PetscThrow(AssembleTargetMatrix(comm, target, &S_), "AssembleTargetMatrix");
    PetscThrow(MatCreateDense(comm_, static_cast<PetscInt>(row_end_ - row_begin_), PETSC_DECIDE,
                              static_cast<PetscInt>(n_words_), d_, nullptr, W_dense_.out()),
               "MatCreateDense");
  }

  void Initialize() override {
    W_ = InitialRows(setup_.train.seed, setup_.train.EntryStd(d_), row_begin_, row_end_, d_);
    step_ = 0;
  }

  void Restore(global_int_t step, const std::vector<double>& local_rows, const std::vector<double>&) override {
    if (local_rows.size() != W_.size()) throw std::runtime_error("GdTrainer::Restore: wrong number of rows");
    W_ = local_rows;
    step_ = step;
  }

  void Step() override;

  // The exact ||M* - W W^T||_F^2 / V^2, mean over the steps since the last call.
  double TakeLoss() override {
    const double mean = n_steps_ > 0 ? loss_sum_ / n_steps_ : std::nan("");
    loss_sum_ = 0;
    n_steps_ = 0;
    return mean;
  }

  // tau = 8 sum eta / V^2.
  double Tau(global_int_t t) const override { return TauPerRate(setup_, n_words_) * SumOfRates(t); }

  LocalRows Rows() const override { return LocalRows{W_.data(), row_begin_, row_end_, n_words_, d_}; }

 private:
  OwnedMat S_;  // the target's sparse part; M* = S + rank_one_ 1 1^T
  double rank_one_;
  std::vector<double> W_;       // this rank's rows, row-major
  OwnedMat W_dense_, Y_dense_;  // W (column-major, for the product) and S W
  double mstar_norm2_ = 0;
  double loss_sum_ = 0;
  int n_steps_ = 0;
};

void GdTrainer::Step() {
  const int n = static_cast<int>(row_end_ - row_begin_), d = d_;
  const double eta = LearningRate(step_);
  // W (row-major, n x d) into the dense PETSc matrix (column-major), then Y = S W.
  PetscScalar* a;
  PetscInt lda;
  PetscThrow(MatDenseGetLDA(W_dense_, &lda), "MatDenseGetLDA");
  PetscThrow(MatDenseGetArrayWrite(W_dense_, &a), "MatDenseGetArrayWrite");
  for (int r = 0; r < n; ++r)
    for (int k = 0; k < d; ++k) a[r + static_cast<std::size_t>(k) * lda] = W_[static_cast<std::size_t>(r) * d + k];
  PetscThrow(MatDenseRestoreArrayWrite(W_dense_, &a), "MatDenseRestoreArrayWrite");
  PetscThrow(
      MatMatMult(S_, W_dense_, Y_dense_.get() ? MAT_REUSE_MATRIX : MAT_INITIAL_MATRIX, PETSC_DEFAULT, Y_dense_.inout()),
      "MatMatMult");
  // 1^T W and the Gram matrix W^T W, all-reduced.
  std::vector<double> reduce(static_cast<std::size_t>(d) * d + d + 1, 0.0);
  double* gram = reduce.data();
  double* colsum = gram + static_cast<std::size_t>(d) * d;
  const double one = 1, zero = 0;
  if (n > 0) dgemm_("N", "T", &d, &d, &n, &one, W_.data(), &d, W_.data(), &d, &zero, gram, &d);
  for (int r = 0; r < n; ++r)
    for (int k = 0; k < d; ++k) colsum[k] += W_[static_cast<std::size_t>(r) * d + k];
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, reduce.data(), d * d + d, MPI_DOUBLE, MPI_SUM, comm_));
  // M* W = S W + c 1 (1^T W), row-major; trace(W^T M* W) for the loss.
  std::vector<double> mw(static_cast<std::size_t>(n) * d), wg(static_cast<std::size_t>(n) * d);
  const PetscScalar* y;
  PetscInt ldy;
  PetscThrow(MatDenseGetLDA(Y_dense_, &ldy), "MatDenseGetLDA");
  PetscThrow(MatDenseGetArrayRead(Y_dense_, &y), "MatDenseGetArrayRead");
  double trace = 0;
  for (int r = 0; r < n; ++r)
    for (int k = 0; k < d; ++k) {
      const std::size_t at = static_cast<std::size_t>(r) * d + k;
      mw[at] = y[r + static_cast<std::size_t>(k) * ldy] + rank_one_ * colsum[k];
      trace += W_[at] * mw[at];
    }
  PetscThrow(MatDenseRestoreArrayRead(Y_dense_, &y), "MatDenseRestoreArrayRead");
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, &trace, 1, MPI_DOUBLE, MPI_SUM, comm_));
  double gram2 = 0;
  for (int k = 0; k < d * d; ++k) gram2 += gram[k] * gram[k];
  const double v2 = static_cast<double>(n_words_) * static_cast<double>(n_words_);
  loss_sum_ += (mstar_norm2_ - 2.0 * trace + gram2) / v2;
  n_steps_ += 1;
  if (n > 0) dgemm_("N", "N", &d, &n, &d, &one, gram, &d, W_.data(), &d, &zero, wg.data(), &d);
  const double f = eta * 4.0 / v2;
  for (std::size_t k = 0; k < W_.size(); ++k) W_[k] += f * (mw[k] - wg[k]);
  ++step_;
}

}  // namespace

std::unique_ptr<Trainer> CreateGdTrainer(MPI_Comm comm, const TrainingSetup& setup, TrainingInputs& inputs) {
  if (!inputs.target || !inputs.target->pattern) throw std::logic_error("gd needs the target matrix");
  return std::make_unique<GdTrainer>(comm, setup, inputs.counts, *inputs.target);
}

}  // namespace qwem
