#include "qwem/trainer.hpp"

#include <algorithm>
#include <cmath>

#include "qwem/format.hpp"
#include "trainer_strategies.hpp"

namespace qwem {

double ScheduledRate(const TrainOptions& options, double t) {
  const double drop = options.lr_drop > 0 && t >= static_cast<double>(options.lr_drop) ? options.lr_drop_factor : 1.0;
  if (options.lr_schedule != LrSchedule::kLinear || options.steps <= 0) return options.lr * drop;
  return options.lr * drop * std::max(1e-4, 1.0 - t / static_cast<double>(options.steps));
}

Trainer::Trainer(MPI_Comm comm, const TrainingSetup& setup, const CooccurrenceRows& layout)
    : comm_(comm),
      rank_(CommRank(comm)),
      size_(CommSize(comm)),
      setup_(setup),
      n_words_(layout.n_words),
      d_(setup.dim),
      row_begin_(layout.row_begin),
      row_end_(layout.row_end) {}

std::vector<double> Trainer::CopyRows() const {
  const LocalRows r = Rows();
  return std::vector<double>(r.data, r.data + static_cast<std::size_t>(r.row_end - r.row_begin) * d_);
}

double Trainer::SumOfRates(global_int_t t) const {
  const TrainOptions& o = setup_.train;
  if (o.lr_schedule != LrSchedule::kLinear) {
    const global_int_t before = o.lr_drop > 0 ? std::min(t, o.lr_drop) : t;
    return o.lr * (static_cast<double>(before) + o.lr_drop_factor * static_cast<double>(t - before));
  }
  double sum = 0;
  for (global_int_t s = 0; s < t; ++s) sum += LearningRate(s);
  return sum;
}

double TauPerRate(const TrainingSetup& setup, global_int_t V) {
  if (setup.mode == Mode::kGd) return 8.0 / (static_cast<double>(V) * static_cast<double>(V));
  return (setup.train.loss == LossKind::kQwem ? 2.0 : 1.0) * ReweightConstant(setup.nu, V);
}

namespace {

// The sum of the rates that takes tau to the horizon of --steps auto: 1.25 times the latest tau
// at which the theory's curve of one of the top d modes reaches 0.9 lambda_k.
double HorizonRateSum(const TrainingSetup& setup, const std::vector<double>& eigenvalues, global_int_t V) {
  const TrainOptions& t = setup.train;
  const double s2 = t.init_scale * t.init_scale;
  const double a0 = t.convention == TheoryConvention::kReference ? s2 : setup.dim * s2;
  double tau_end = 0;
  for (int k = 0; k < setup.dim && k < static_cast<int>(eigenvalues.size()); ++k) {
    const double lambda = eigenvalues[k];
    if (lambda > a0 * 10 / 9) tau_end = std::max(tau_end, std::log(9 * (lambda / a0 - 1)) / lambda);
  }
  if (tau_end <= 0)
    throw Error("the theory's horizon (--steps auto, --lr-drop auto): no mode of the top --dim " +
                std::to_string(setup.dim) + " has a positive eigenvalue to switch on");
  return 1.25 * tau_end / TauPerRate(setup, V);
}

// A step count worked out from the theory, rounded up to a whole step (at least 1); what names
// the option for the error when a tiny --lr puts it out of range.
global_int_t WholeSteps(double steps, const std::string& what) {
  if (!(steps < 1e15)) throw Error(what + " is out of range (raise --lr)");
  return std::max<global_int_t>(1, static_cast<global_int_t>(std::ceil(steps)));
}

}  // namespace

global_int_t AutoLrDrop(const TrainingSetup& setup, const std::vector<double>& eigenvalues, global_int_t V) {
  return WholeSteps(0.9 * HorizonRateSum(setup, eigenvalues, V) / setup.train.lr, "--lr-drop auto: the step");
}

global_int_t AutoSteps(const TrainingSetup& setup, const std::vector<double>& eigenvalues, global_int_t V) {
  const TrainOptions& t = setup.train;
  const double rate_sum = HorizonRateSum(setup, eigenvalues, V);
  double steps = t.lr_schedule == LrSchedule::kLinear ? 2 * rate_sum / t.lr - 1 : rate_sum / t.lr;
  if (t.lr_drop > 0 && steps > static_cast<double>(t.lr_drop))  // constant (Check): the rest at the dropped rate
    steps =
        static_cast<double>(t.lr_drop) + (rate_sum - t.lr * static_cast<double>(t.lr_drop)) / (t.lr * t.lr_drop_factor);
  return WholeSteps(steps, "--steps auto: the horizon");
}

double TrainingBytesPerRank(const TrainingSetup& setup, global_int_t n_words, int n_ranks) {
  const double V = static_cast<double>(n_words), d = setup.dim, P = n_ranks;
  const TrainOptions& t = setup.train;
  if (setup.mode == Mode::kGd) return 8.0 * (V / P) * d * 6;  // W, its PETSc copy, S W, M* W, W G, gradient
  if (t.sampling == Sampling::kWindows) {
    const double padded = std::ceil(d / 16) * 16;
    return 4.0 * V * padded * (t.output_vectors == OutputVectors::kSeparate ? 4 : 2) + 8.0 * V * d;
  }
  // The replica (and its float copy in single precision) and the gradient of the rows updated
  // here; per positive its drawn record, its slot in the batch and its place in the sorted draws;
  // per negative a pair and a looked-up count.
  const double B = static_cast<double>(t.batch), K = t.negatives;
  const double gradient_rows = t.sync_every == 1 ? V / P : V;
  const double replica = (t.precision == PairPrecision::kSingle ? 12.0 : 8.0) * V * d;
  return replica + 8.0 * gradient_rows * d + B * (24 + 24 + 16) + B * K * (24 + 8);
}

void CheckTrainingMemory(MPI_Comm comm, const TrainingSetup& setup, global_int_t n_words) {
  const NodeMemory node = NodeMemoryShare(comm);
  const double need = TrainingBytesPerRank(setup, n_words, CommSize(comm));
  AgreeOrThrow(comm, need <= node.per_rank,
               "the training would take about " + FormatBytes(need) + " per rank (" + std::to_string(node.ranks_here) +
                   " ranks on a node of " + FormatBytes(node.bytes) + "): lower --batch, --negatives or --dim");
}

std::unique_ptr<Trainer> CreateTrainer(MPI_Comm comm, const TrainingSetup& setup, TrainingInputs inputs) {
  if (setup.mode == Mode::kGd) return CreateGdTrainer(comm, setup, inputs);
  if (setup.train.sampling == Sampling::kWindows) return CreateWindowTrainer(comm, setup, inputs);
  return CreatePairTrainer(comm, setup, inputs);
}

}  // namespace qwem
