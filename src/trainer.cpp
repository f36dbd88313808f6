#include "qwem/trainer.hpp"

#include <algorithm>

#include "trainer_strategies.hpp"

namespace qwem {

double ScheduledRate(const TrainOptions& options, double t) {
  if (options.lr_schedule != LrSchedule::kLinear || options.steps <= 0) return options.lr;
  return options.lr * std::max(1e-4, 1.0 - t / static_cast<double>(options.steps));
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
  if (setup_.train.lr_schedule != LrSchedule::kLinear) return setup_.train.lr * static_cast<double>(t);
  double sum = 0;
  for (global_int_t s = 0; s < t; ++s) sum += LearningRate(s);
  return sum;
}

std::unique_ptr<Trainer> CreateTrainer(MPI_Comm comm, const TrainingSetup& setup, TrainingInputs inputs) {
  if (setup.mode == Mode::kGd) return CreateGdTrainer(comm, setup, inputs);
  if (setup.train.sampling == Sampling::kWindows) return CreateWindowTrainer(comm, setup, inputs);
  return CreatePairTrainer(comm, setup, inputs);
}

}  // namespace qwem
