// windows: word2vec's own stream on each rank's shard (WindowSgns, window_sgns.hpp), behind the
// Trainer interface: its replica (float) is copied out as this rank's rows of W when asked.
#include <cmath>

#include "qwem/random.hpp"
#include "qwem/window_sgns.hpp"
#include "trainer_strategies.hpp"

namespace qwem {

namespace {

class WindowTrainer final : public Trainer {
 public:
  WindowTrainer(MPI_Comm comm, const TrainingSetup& setup, const CooccurrenceRows& layout, const Vocabulary& vocab,
                std::vector<word_id_t> tokens)
      : Trainer(comm, setup, layout),
        engine_(comm, setup, std::move(tokens), vocab.counts, vocab.n_in_vocab_tokens),
        layout_(layout) {
    W_.assign(static_cast<std::size_t>(row_end_ - row_begin_) * d_, 0.0);
  }

  void Initialize() override {
    const std::vector<double> W0 = InitialRows(setup_.train.seed, setup_.train.EntryStd(d_), 0, n_words_, d_);
    engine_.SetW(W0.data());
    step_ = 0;
  }

  void Restore(global_int_t step, const std::vector<double>& local_rows,
               const std::vector<double>& local_output_rows) override {
    if (static_cast<global_int_t>(local_rows.size()) != (row_end_ - row_begin_) * d_ ||
        (has_output_vectors() && local_output_rows.size() != local_rows.size()))
      throw std::runtime_error("WindowTrainer::Restore: wrong number of rows");
    step_ = step;
    const std::vector<double> W = GatherRows(local_rows);
    const std::vector<double> C = has_output_vectors() ? GatherRows(local_output_rows) : std::vector<double>();
    engine_.SetW(W.data(), C.empty() ? nullptr : C.data());
  }

  void Step() override {
    engine_.Step(step_);
    ++step_;
  }

  // The mean SGNS loss per positive since the last call (its negatives included).
  double TakeLoss() override {
    double v[2] = {engine_.loss_sum() - loss_taken_, engine_.n_positive() - positives_taken_};
    loss_taken_ = engine_.loss_sum();
    positives_taken_ = engine_.n_positive();
    QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_DOUBLE, MPI_SUM, comm_));
    return v[1] > 0 ? v[0] / v[1] : std::nan("");
  }

  // eta is alpha per pair, and a step trains about ExpectedPositivesPerStep() positives: tau =
  // c sum alpha E[positives per step] (qualitative, as for pair-sampled SGNS).
  double Tau(global_int_t t) const override {
    return ReweightConstant(setup_.nu, n_words_) * (SumOfRates(t) * engine_.ExpectedPositivesPerStep());
  }

  double LocalUpdates() const override { return engine_.n_updates(); }

  LocalRows Rows() const override {
    engine_.GetRows(row_begin_, row_end_, W_.data());
    return LocalRows{W_.data(), row_begin_, row_end_, n_words_, d_};
  }

  bool has_output_vectors() const override { return engine_.separate_output(); }

  std::vector<double> CopyOutputRows() const override {
    if (!has_output_vectors()) return {};
    std::vector<double> out(static_cast<std::size_t>(row_end_ - row_begin_) * d_);
    engine_.GetRows(row_begin_, row_end_, out.data(), true);
    return out;
  }

 private:
  // Collective. Every rank's rows, in row order (V x d).
  std::vector<double> GatherRows(const std::vector<double>& rows) const {
    std::vector<int> sizes(size_), displs(size_);
    for (int r = 0; r < size_; ++r) {
      sizes[r] = static_cast<int>((layout_.row_ranges[r + 1] - layout_.row_ranges[r]) * d_);
      displs[r] = static_cast<int>(layout_.row_ranges[r] * d_);
    }
    std::vector<double> all(static_cast<std::size_t>(n_words_) * d_);
    QWEM_MPI(MPI_Allgatherv(rows.data(), sizes[rank_], MPI_DOUBLE, all.data(), sizes.data(), displs.data(), MPI_DOUBLE,
                            comm_));
    return all;
  }

  WindowSgns engine_;
  const CooccurrenceRows& layout_;
  mutable std::vector<double> W_;  // this rank's rows, copied from the replica by Rows()
  double loss_taken_ = 0, positives_taken_ = 0;
};

}  // namespace

std::unique_ptr<Trainer> CreateWindowTrainer(MPI_Comm comm, const TrainingSetup& setup, TrainingInputs& inputs) {
  return std::make_unique<WindowTrainer>(comm, setup, inputs.counts, inputs.vocab, std::move(inputs.tokens));
}

}  // namespace qwem
