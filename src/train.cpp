#include "qwem/train.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <limits>

#include "qwem/checkpoint.hpp"
#include "qwem/format.hpp"
#include "qwem/signals.hpp"
#include "qwem/spectrum.hpp"
#include "qwem/theory.hpp"

namespace qwem {

double TrainRecord::MaxError(int n) const {
  return TheoryMaxError(singular_values, dim, theory, n_modes, eigenvalues, n);
}

double TrainRecord::DiscreteMaxError(int n) const {
  return TheoryMaxError(singular_values, dim, theory_discrete, n_modes, eigenvalues, n);
}

double TrainRecord::CoupledMaxError(int n) const {
  if (theory_coupled.empty()) return std::nan("");
  return TheoryMaxError(singular_values, dim, theory_coupled, dim, eigenvalues, n);
}

namespace {

constexpr double kExactCoupledBudget = 1e9;

// The discrete curves and the switch-on times of every record so far (recomputed whole, so a
// resumed run needs nothing more from its checkpoint than a_0).
void FinishTheory(const Trainer& trainer, TrainRecord& rec) {
  if (rec.n_modes == 0 || rec.step.empty()) return;
  rec.theory_discrete = DiscreteTheory(
      rec.eigenvalues, rec.a0, [&](global_int_t u) { return trainer.TauIncrement(u); }, rec.step,
      &rec.switch_on_discrete);
  rec.switch_on_measured = MeasuredHalfwayTimes(rec.mode_squares, rec.n_modes, rec.tau, rec.eigenvalues);
  rec.switch_on_theory.clear();
  for (int k = 0; k < rec.n_modes; ++k) rec.switch_on_theory.push_back(HalfwayTime(rec.eigenvalues[k], rec.a0[k]));
  rec.theory_coupled.clear();
  rec.switch_on_coupled.clear();
  if (!rec.initial_projections.empty()) {
    CoupledTheory start(rec.coupled_eigenvalues, rec.initial_projections, rec.initial_gram, rec.dim);
    // Exact steps when the run's steps cost at most kExactCoupledBudget multiply-adds (about a
    // second; gd and small d), else the chunked solution (paper-size SGD: d = 200, 400 modes).
    const double cost = CoupledTheory::ExactStepCost(static_cast<int>(rec.coupled_eigenvalues.size()), rec.dim) *
                        static_cast<double>(rec.step.back());
    start.UseExactSteps(cost <= kExactCoupledBudget);
    rec.coupled_exact_steps = start.exact_steps();
    rec.theory_coupled = CoupledTheoryCurves(
        start, [&](global_int_t u) { return trainer.TauIncrement(u); }, rec.step, rec.n_modes, &rec.switch_on_coupled);
  }
}

}  // namespace

std::vector<global_int_t> RecordSteps(global_int_t steps, global_int_t every, int n) {
  std::vector<global_int_t> out{0};
  if (every > 0) {
    for (global_int_t s = every; s < steps; s += every) out.push_back(s);
  } else if (steps > 1 && n > 1) {
    const double top = std::log(static_cast<double>(steps));
    for (int m = 0; m < n; ++m) out.push_back(std::llround(std::exp(top * m / (n - 1))));
  }
  out.push_back(steps);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

TrainedState CaptureState(const Trainer& trainer) {
  return {trainer.row_begin(), trainer.row_end(), trainer.CopyRows(), trainer.CopyOutputRows()};
}

void RunTraining(MPI_Comm comm, Trainer& trainer, const EigenResult* eig, const AnalogyProbe& evaluate,
                 const ProgressLines& progress, TrainRecord& rec) {
  InstallStopHandlers();
  const TrainOptions& schedule = trainer.setup().train;
  const bool sgd = trainer.setup().mode == Mode::kSgd;
  const global_int_t steps = schedule.steps;
  const int d = trainer.setup().dim;
  auto say = [&](const std::string& line) {
    if (progress.say) progress.say(line);
  };
  const int n_eig = eig ? std::min(eig->dim(), d) : 0;
  const double* vectors = eig && n_eig > 0 ? eig->vectors.data() : nullptr;
  const int stride = eig ? eig->dim() : 0;
  rec.dim = d;
  rec.n_modes = n_eig;
  rec.n_overlap = std::min(n_eig, 10);
  if (eig) rec.eigenvalues.assign(eig->eigenvalues.begin(), eig->eigenvalues.begin() + n_eig);
  if (rec.a0.empty() && n_eig > 0) {
    if (trainer.step() != 0) throw Error("cannot draw theory curves: the resumed file has no initial projections");
    // The reference convention's a_0 is the expected squared projection, the same for every mode.
    const TrainOptions& t = trainer.setup().train;
    rec.a0 = t.convention == TheoryConvention::kReference
                 ? std::vector<double>(n_eig, t.init_scale * t.init_scale)
                 : ProjectedSquares(comm, trainer.Rows(), vectors, stride, n_eig);
    // The coupled theory starts from W0's projections on every eigenpair given (not only the top d).
    InitialProjections p = ProjectInitialRows(comm, trainer.Rows(), vectors, stride);
    rec.coupled_eigenvalues = eig->eigenvalues;
    rec.initial_projections = std::move(p.projections);
    rec.initial_gram = std::move(p.gram);
  }
  const std::vector<global_int_t> records = RecordSteps(steps, schedule.log_every, 200);
  const std::vector<global_int_t> checkpoints = RecordSteps(steps, 0, schedule.checkpoints + 1);
  auto is_checkpoint = [&](global_int_t s) {
    return s > 0 && (s == steps || std::binary_search(checkpoints.begin() + 1, checkpoints.end(), s));
  };
  auto is_eval = [&](global_int_t s) {
    if (!evaluate) return false;
    return schedule.eval_every > 0 ? (s % schedule.eval_every == 0 || s == steps) : (s == 0 || is_checkpoint(s));
  };

  const double t0 = MPI_Wtime();
  double last_print = -1e9;
  const global_int_t first_step = trainer.step();
  const double updates0 = trainer.LocalUpdates();
  const std::vector<PhaseSeconds> phases0 = trainer.StepPhases();
  // Progress lines at least this often (0: off, only the checkpoint and final records print).
  const double print_every = progress.seconds > 0 ? progress.seconds : std::numeric_limits<double>::infinity();
  // ", 12.3 steps/s, 80 s left, 4.5M pair updates/s (rank 0's rows)" (empty before the first step).
  auto rate_since_start = [&](global_int_t s, double now) {
    const double done = static_cast<double>(s - first_step);
    if (done <= 0 || now <= 0) return std::string();
    char b[160];
    std::snprintf(b, sizeof b, ", %.3g steps/s, %.0f s left", done / now, static_cast<double>(steps - s) * now / done);
    std::string rate = b;
    if (sgd) rate += ", " + FormatCount((trainer.LocalUpdates() - updates0) / now) + " pair updates/s (rank 0's rows)";
    return rate;
  };
  auto measure = [&](global_int_t s, bool force_print) {
    const LocalRows W = trainer.Rows();
    bool finite = true;
    for (std::size_t k = 0; k < static_cast<std::size_t>(W.row_end - W.row_begin) * d && finite; ++k)
      finite = std::isfinite(W.data[k]);
    AgreeOrThrow(comm, finite,
                 "training diverged before step " + std::to_string(s) + " (W is not finite): lower --lr" +
                     (sgd ? " or raise --batch" : ""));
    const SpectrumSnapshot snap = MeasureSpectrum(comm, W, vectors, stride, rec.n_overlap, n_eig);
    const double tau = trainer.Tau(s);
    const double loss = trainer.TakeLoss();
    rec.step.push_back(s);
    rec.tau.push_back(tau);
    rec.lr.push_back(trainer.LearningRate(s));
    rec.loss.push_back(s == first_step ? std::nan("") : loss);
    rec.seconds.push_back(MPI_Wtime() - t0);
    rec.singular_values.insert(rec.singular_values.end(), snap.singular_values.begin(), snap.singular_values.end());
    for (int k = 0; k < n_eig; ++k)
      rec.theory.push_back(std::sqrt(TheorySquaredSingularValue(rec.eigenvalues[k], rec.a0[k], tau)));
    rec.mode_squares.insert(rec.mode_squares.end(), snap.mode_squares.begin(), snap.mode_squares.end());
    rec.overlap.insert(rec.overlap.end(), snap.overlap.begin(), snap.overlap.end());
    std::string acc;
    if (is_eval(s)) {
      const auto [standard, pair] = evaluate(W);
      rec.eval_step.push_back(s);
      rec.analogy.push_back(standard);
      rec.analogy_pair.push_back(pair);
      char b[64];
      std::snprintf(b, sizeof b, ", analogy %.1f%%", 100 * standard);
      acc = b;
    }
    if (is_checkpoint(s)) {
      rec.checkpoint_step.push_back(s);
      rec.checkpoint_rows.push_back(trainer.CopyRows());
    }
    const double now = MPI_Wtime() - t0;
    if (force_print || is_checkpoint(s) || now - last_print >= print_every) {
      last_print = now;
      char line[512];
      std::string sv;
      for (int k = 0; k < std::min(d, 4); ++k) {
        char b[32];
        std::snprintf(b, sizeof b, "%s%.3g", k ? " " : "", snap.singular_values[k]);
        sv += b;
      }
      std::string ov;
      if (!snap.overlap.empty()) {
        const int k = static_cast<int>(std::min<std::size_t>(5, snap.overlap.size()));
        char b[64];
        std::snprintf(b, sizeof b, ", top-%d overlap %.3f", k, snap.overlap[k - 1]);
        ov = b;
      }
      const std::string rate = rate_since_start(s, now);
      // No loss before the run's first step (recorded as NaN).
      char loss[48] = "";
      if (s != first_step) std::snprintf(loss, sizeof loss, ", loss %.4g", rec.loss.back());
      std::snprintf(line, sizeof line, "train: step %lld/%lld, tau %.4g%s, s = %s ...%s%s%s, %.1f s",
                    static_cast<long long>(s), static_cast<long long>(steps), tau, loss, sv.c_str(), ov.c_str(),
                    acc.c_str(), rate.c_str(), now);
      say(line);
    }
  };

  if (rec.step.empty() || rec.step.back() != trainer.step()) measure(trainer.step(), true);
  std::size_t next = std::upper_bound(records.begin(), records.end(), trainer.step()) - records.begin();
  rec.interrupted = false;
  while (trainer.step() < steps) {
    // Stop together on a signal (one int all-reduced per step).
    const int stop = AgreedStopSignal(comm);
    if (stop) {
      rec.interrupted = true;
      rec.stop_signal = stop;
      break;
    }
    trainer.Step();
    const global_int_t s = trainer.step();
    const bool record_now = next < records.size() && records[next] == s;
    if (record_now || is_checkpoint(s) || is_eval(s)) {
      if (record_now) ++next;
      measure(s, s == steps);
    } else if (MPI_Wtime() - t0 - last_print >= print_every) {
      // A plain periodic line between records (not collective: rank 0's clock and counters).
      last_print = MPI_Wtime() - t0;
      char line[256];
      std::snprintf(line, sizeof line, "train: step %lld/%lld%s, %.1f s", static_cast<long long>(s),
                    static_cast<long long>(steps), rate_since_start(s, last_print).c_str(), last_print);
      say(line);
    }
  }
  if (rec.interrupted && (rec.checkpoint_step.empty() || rec.checkpoint_step.back() != trainer.step())) {
    // The state at the interruption is the last checkpoint (resume starts from it).
    if (rec.step.empty() || rec.step.back() != trainer.step()) measure(trainer.step(), true);
    if (rec.checkpoint_step.empty() || rec.checkpoint_step.back() != trainer.step()) {
      rec.checkpoint_step.push_back(trainer.step());
      rec.checkpoint_rows.push_back(trainer.CopyRows());
    }
  }
  rec.completed_steps = trainer.step();
  FinishTheory(trainer, rec);
  rec.train_seconds = AllreduceMax(comm, MPI_Wtime() - t0);
  rec.steps_this_run = trainer.step() - first_step;
  if (sgd && rec.train_seconds > 0)
    rec.updates_per_second_per_rank = AllreduceSum(comm, static_cast<global_int_t>(trainer.LocalUpdates() - updates0)) /
                                      (rec.train_seconds * CommSize(comm));
  // Each part's mean over the ranks (waits inside a collective count in its part), so that the
  // parts add up to at most the training time.
  rec.step_phases = trainer.StepPhases();
  std::vector<double> seconds(rec.step_phases.size());
  for (std::size_t k = 0; k < seconds.size(); ++k) seconds[k] = rec.step_phases[k].seconds - phases0[k].seconds;
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, seconds.data(), static_cast<int>(seconds.size()), MPI_DOUBLE, MPI_SUM, comm));
  for (std::size_t k = 0; k < seconds.size(); ++k) rec.step_phases[k].seconds = seconds[k] / CommSize(comm);
}

TrainingResult Train(MPI_Comm comm, const TrainingSetup& setup, TrainingInputs inputs, const EigenResult* eig,
                     const AnalogyQuestions* questions, const ProgressLines& progress) {
  const Vocabulary& vocab = inputs.vocab;
  const std::unique_ptr<Trainer> trainer = CreateTrainer(comm, setup, std::move(inputs));
  TrainingResult result;
  if (!setup.train.resume.empty()) {
    TrainedState state;
    result.record = ReadTraining(comm, setup.train.resume, setup, vocab, trainer->row_begin(), trainer->row_end(),
                                 trainer->has_output_vectors(), &state);
    trainer->Restore(result.record.completed_steps, state.W, state.C);
    if (progress.say)
      progress.say("resuming from " + setup.train.resume + " at step " + std::to_string(result.record.completed_steps));
  } else {
    trainer->Initialize();
  }
  AnalogyProbe probe;
  if (questions)
    probe = [&](const LocalRows& W) {
      const AnalogyReport r = EvaluateAnalogies(comm, W, vocab, *questions, 20000);
      return std::make_pair(r.accuracy(false, -1), r.accuracy(true, -1));
    };
  RunTraining(comm, *trainer, eig, probe, progress, result.record);
  result.state = CaptureState(*trainer);
  return result;
}

Embeddings TrainedEmbeddings(const TrainingResult& result, const TrainingSetup& setup, global_int_t n_words,
                             EmbeddingSum sum) {
  std::string how = std::string("W trained by --mode ") + Name(setup.mode);
  if (setup.mode == Mode::kSgd)
    how += std::string(" --loss ") + Name(setup.train.loss) + " --sampling " + Name(setup.train.sampling);
  Embeddings e{result.state.W, result.state.row_begin, result.state.row_end, n_words, setup.dim, "", std::nullopt};
  if (sum == EmbeddingSum::kWPlusC) {
    if (result.state.C.size() != e.data.size()) throw Error("--embeddings w+c: this training has no output vectors C");
    for (std::size_t k = 0; k < e.data.size(); ++k) e.data[k] += result.state.C[k];
    how = "W + C (input plus output vectors), " + how;
  }
  e.formula = how + " (see /train)" + (setup.train.theory ? "; the closed form is /spectrum" : "");
  return e;
}

}  // namespace qwem
