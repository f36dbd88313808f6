#include "qwem/report.hpp"

#include "qwem/blas.hpp"

#include <petsclog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "qwem/format.hpp"
#include "qwem/h5io.hpp"
#include "qwem/memory.hpp"
#include "qwem/provenance.hpp"
#include "qwem/theory.hpp"

namespace qwem {

Report::Report(MPI_Comm comm, double progress_seconds)
    : comm_(comm), rank_(CommRank(comm)), progress_seconds_(progress_seconds) {
  QWEM_MPI(MPI_Barrier(comm_));
  t_start_ = MPI_Wtime();
}

double Report::Elapsed() const { return MPI_Wtime() - t_start_; }

void Report::Say(const std::string& text) const {
  if (rank_ != 0) return;
  std::printf("[%8.2f s] %s\n", Elapsed(), text.c_str());
  std::fflush(stdout);
}

void Report::Warn(const std::string& text) const {
  if (rank_ != 0) return;
  std::fflush(stdout);
  std::fprintf(stderr, "qwem-dist: warning: %s\n", text.c_str());
  std::fflush(stderr);
}

ProgressLines Report::Lines() const {
  return {[this](const std::string& line) { Say(line); }, progress_seconds_};
}

void Report::Begin(const std::string& phase) {
  QWEM_MPI(MPI_Barrier(comm_));
  if (stage_open_) PetscThrow(PetscLogStagePop(), "PetscLogStagePop");
  auto [at, fresh] = stages_.try_emplace(phase, 0);
  if (fresh) {
    PetscLogStage stage;
    PetscThrow(PetscLogStageRegister(phase.c_str(), &stage), "PetscLogStageRegister");
    at->second = stage;
  }
  PetscThrow(PetscLogStagePush(at->second), "PetscLogStagePush");
  stage_open_ = true;
  phase_ = phase;
  t_phase_ = MPI_Wtime();
  cpu_phase_ = ProcessCpuSeconds();
}

double Report::End(const std::string& detail) {
  // A rank's CPU time up to its own end of the phase, not its wait for the others (MPI polls).
  const CpuSeconds cpu = ProcessCpuSeconds();
  // The barrier makes the phase time the slowest rank's time.
  QWEM_MPI(MPI_Barrier(comm_));
  if (stage_open_) PetscThrow(PetscLogStagePop(), "PetscLogStagePop");
  stage_open_ = false;
  const double seconds = MPI_Wtime() - t_phase_;
  double cpu_sum[2] = {cpu.user - cpu_phase_.user, cpu.system - cpu_phase_.system};
  QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, cpu_sum, 2, MPI_DOUBLE, MPI_SUM, comm_));
  global_int_t rss = PeakRssBytes(), rss_max = 0;
  QWEM_MPI(MPI_Allreduce(&rss, &rss_max, 1, MPI_INT64_T, MPI_MAX, comm_));
  phases_.push_back({phase_, seconds, rss_max, cpu_sum[0], cpu_sum[1]});
  Say(phase_ + ": " + detail +
      Format(" (%.2f s, peak RSS %s/rank max)", seconds, FormatBytes(static_cast<double>(rss_max)).c_str()));
  return seconds;
}

void Report::Start(const Placement& placement, const std::string& command_line, const EvalData& eval) const {
  Say("qwem-dist " + std::string(QWEM_VERSION) + " on " + placement.Describe());
  Say("command: " + command_line);
  Say("libraries: " + MpiVersion() + "; " + PetscVersion() + "; " + SlepcVersion() + "; HDF5 " + h5::LibraryVersion() +
      "; " + BlasDescription());
  for (const std::string& path : eval.skipped) Warn("default evaluation file '" + path + "' not found; skipped");
}

void Report::EndDiscover(const CorpusPlan& plan) {
  End(std::to_string(plan.files.size()) + " files, " + FormatBytes(static_cast<double>(plan.plain_bytes)) +
      " plain + " + FormatBytes(static_cast<double>(plan.gzip_bytes)) + " gzip");
}

void Report::EndRead(const ReadStats& stats, const CorpusOptions& options) {
  const double seconds = End(FormatBytes(static_cast<double>(stats.text_bytes)) + " of text, " +
                             FormatCount(static_cast<double>(stats.n_tokens)) + " tokens");
  Say("read rate: " + FormatCount(stats.text_bytes / 1e6 / seconds) + " MB/s, " +
      FormatCount(stats.n_tokens / seconds) + " tokens/s");
  if (stats.n_overlong > 0)
    Warn(std::to_string(stats.n_overlong) +
         " tokens longer than --max-token-bytes=" + std::to_string(options.max_token_bytes) + " were skipped");
}

void Report::EndVocabulary(const Vocabulary& vocab, const VocabOptions& options) {
  End(Format("V = %lld of %lld distinct words, %s tokens, coverage %.2f%%", static_cast<long long>(vocab.size()),
             static_cast<long long>(vocab.n_distinct_words),
             FormatCount(static_cast<double>(vocab.n_total_tokens)).c_str(), 100.0 * vocab.coverage()));
  if (vocab.clamped() && !options.read.empty())
    Warn(std::to_string(vocab.requested_size - vocab.size()) + " of the " + std::to_string(vocab.requested_size) +
         " words of --read-vocab do not occur in the corpus; using V = " + std::to_string(vocab.size()));
  else if (vocab.clamped())
    Warn("--vocab-size=" + std::to_string(options.size) + " but only " + std::to_string(vocab.size()) +
         " words reach --min-count=" + std::to_string(options.min_count) +
         "; using V = " + std::to_string(vocab.size()));
}

void Report::EndCount(const CountStats& stats, const Vocabulary& vocab, int window) {
  // Every in-vocabulary token is counted once as a first position.
  const auto positions = static_cast<double>(vocab.n_in_vocab_tokens);
  count_seconds_ =
      End(Format("L = %d, %s positions, %lld dense words, %d sparse flushes", window, FormatCount(positions).c_str(),
                 static_cast<long long>(stats.dense_words), stats.n_sparse_flushes));
  const double pair_loop = AllreduceMax(comm_, stats.kernel_seconds);
  const double per_rank = positions / CommSize(comm_);
  Say(Format("count rate: %s in-vocab tokens/s/rank (pair loop %.2f s: %s/s/rank)",
             FormatCount(per_rank / count_seconds_).c_str(), pair_loop, FormatCount(per_rank / pair_loop).c_str()));
}

void Report::EndLoadCounts(const CooccurrenceRows& counts, const Vocabulary& vocab, const std::string& path) {
  End(Format("V = %lld, L = %d, N = %s pairs, nnz = %s, from %s (the corpus is not read)",
             static_cast<long long>(vocab.size()), counts.window,
             FormatCount(static_cast<double>(counts.n_pairs)).c_str(),
             FormatCount(static_cast<double>(counts.nnz)).c_str(), path.c_str()));
}

void Report::EndReduce(const CooccurrenceRows& counts, const Vocabulary& vocab) {
  const double seconds = End(Format(
      "N = %s pairs, nnz = %s (%.1f%% dense), rows balanced by nonzeros",
      FormatCount(static_cast<double>(counts.n_pairs)).c_str(), FormatCount(static_cast<double>(counts.nnz)).c_str(),
      100.0 * static_cast<double>(counts.nnz) / (static_cast<double>(vocab.size()) * vocab.size())));
  const double per_rank = static_cast<double>(vocab.n_in_vocab_tokens) / CommSize(comm_);
  Say(Format("count + reduce: %s in-vocab tokens/s/rank", FormatCount(per_rank / (count_seconds_ + seconds)).c_str()));
}

void Report::EndTarget(const Target& target, const TargetOptions& options, const std::vector<double>& full_spectrum) {
  std::string how = Format("%s = sparse part (%s nonzeros) %+g 11^T", Name(options.kind),
                           FormatCount(static_cast<double>(target.nnz())).c_str(), target.rank_one);
  if (!full_spectrum.empty())
    how += "; full spectrum (" + std::to_string(full_spectrum.size()) + " eigenvalues, LAPACK)";
  End(how);
}

void Report::EndEigensolve(const EigenResult& eig, const std::string& loaded_from, int wanted) {
  if (!loaded_from.empty()) {
    End("loaded " + std::to_string(eig.dim()) + " eigenpairs of M* from " + loaded_from);
    if (eig.dim() < wanted)
      Warn(loaded_from + " holds " + std::to_string(eig.dim()) + " eigenpairs; the coupled theory wants " +
           std::to_string(wanted) + " (--theory-modes) and takes the modes beyond " + std::to_string(eig.dim()) +
           " as eigenvalue 0, so its curves for the last modes are too low (give a file with more: a closed-form run "
           "with --dim " +
           std::to_string(wanted) + ")");
    return;
  }
  double worst = 0;
  for (double r : eig.residuals) worst = std::max(worst, r);
  std::string top;
  for (int k = 0; k < std::min(5, eig.dim()); ++k) top += Format("%s%.1f", k ? ", " : "", eig.eigenvalues[k]);
  const std::string products = eig.n_matvecs >= 0 ? std::to_string(eig.n_matvecs) : "uncounted (explicit matrix)";
  std::string how = eig.solver;
  if (eig.block > 0) how += Format(", blocks of %d, %s products", eig.block, eig.precision.c_str());
  if (eig.refined > 0) how += Format(", %d pairs refined in double", eig.refined);
  how += std::string(", operator ") + Name(eig.op.chosen);
  if (!eig.op.reason.empty() && eig.op.reason != "requested") how += " (" + eig.op.reason + ")";
  End("top eigenvalues " + top +
      Format("; lambda_%d = %.1f; %lld converged, max rel. residual %.1e%s, %s products, %lld restarts (%s)", eig.dim(),
             eig.eigenvalues.back(), static_cast<long long>(eig.n_converged), worst,
             eig.tol > 0 ? Format(" (tol %.0e)", eig.tol).c_str() : "", products.c_str(),
             static_cast<long long>(eig.n_restarts), how.c_str()));
  if (eig.block > 0) {
    const BlockLanczosTimes& t = eig.times;
    Say(
        Format("eigensolve time (rank 0): products %.2f s (%.3f ms per column), orthogonalization %.2f s (%d of %d "
               "blocks twice), normalization %.2f s, Rayleigh-Ritz %.2f s, rotation %.2f s, double-precision check "
               "%.2f s",
               t.products, 1e3 * t.products / std::max<double>(1, static_cast<double>(eig.n_matvecs)), t.orthogonalize,
               eig.repeated_projections, eig.projections, t.normalize, t.rayleigh_ritz, t.rotate, t.verify));
  }
}

namespace {

// "; theory max error (top 10, lower is better) 0.012 (discrete curve 0.004, coupled 0.002); 10 of
// the top 10 modes switched on, switch-on tau within 3.1% of the theory (discrete 0.4%, coupled
// 0.05%)"
std::string TheoryLine(const TrainRecord& r) {
  const int n = std::min(10, r.n_modes);
  int on = 0;
  for (int k = 0; k < n && k < static_cast<int>(r.switch_on_measured.size()); ++k)
    on += std::isfinite(r.switch_on_measured[k]);
  const bool coupled = !r.theory_coupled.empty();
  std::string line = Format("; theory max error (top %d, lower is better) %.4f (discrete curve %.4f", n, r.MaxError(n),
                            r.DiscreteMaxError(n));
  if (coupled) line += Format(", coupled %.4f", r.CoupledMaxError(n));
  line += Format("); %d of the top %d modes switched on", on, n);
  const double e = SwitchOnError(r.switch_on_measured, r.switch_on_theory, n),
               ed = SwitchOnError(r.switch_on_measured, r.switch_on_discrete, n),
               ec = SwitchOnError(r.switch_on_measured, r.switch_on_coupled, n);
  if (on > 0 && std::isfinite(e)) {
    line += Format(", switch-on tau within %.1f%% of the theory (discrete %.1f%%", 100 * e, 100 * ed);
    line += coupled && std::isfinite(ec) ? Format(", coupled %.2f%%)", 100 * ec) : std::string(")");
  }
  return line;
}

// Where the steps' time went, as shares of the training time (each part's mean over the ranks), or "".
std::string PhasesLine(const TrainRecord& record) {
  if (record.step_phases.empty() || !(record.train_seconds > 0)) return "";
  std::string line = "; of the training time:";
  for (std::size_t k = 0; k < record.step_phases.size(); ++k)
    line += Format("%s %s %.0f%%", k ? "," : "", record.step_phases[k].name.c_str(),
                   100 * record.step_phases[k].seconds / record.train_seconds);
  return line;
}

}  // namespace

void Report::AutoHorizon(const TrainingSetup& setup) const {
  const TrainOptions& t = setup.train;
  if (t.lr_drop_auto)
    Say(Format("train: --lr-drop auto = %lld (0.9 of the theory's horizon; the rate x%g from there)",
               static_cast<long long>(t.lr_drop), t.lr_drop_factor));
  if (t.steps_auto)
    Say("train: --steps auto = " + std::to_string(t.steps) + " (the theory's top " + std::to_string(setup.dim) +
        " modes at 0.9 lambda_k, x1.25)");
}

void Report::EndTrain(const TrainRecord& record, global_int_t steps) {
  End(Format("%lld steps this run (%lld of %lld done)%s", static_cast<long long>(record.steps_this_run),
             static_cast<long long>(record.completed_steps), static_cast<long long>(steps),
             record.interrupted ? (", interrupted by signal " + std::to_string(record.stop_signal)).c_str() : "") +
      (record.n_modes > 0 ? TheoryLine(record) : std::string("; no theory curves (--no-theory)")) +
      PhasesLine(record));
  // A run that ends before its first mode switched on shows nothing of the dynamics: say how far
  // it got and how far mode 1 is, at this run's rate of tau per step.
  const bool none_on = std::none_of(record.switch_on_measured.begin(), record.switch_on_measured.end(),
                                    [](double t) { return std::isfinite(t); });
  if (record.n_modes > 0 && !record.interrupted && none_on && !record.tau.empty() && record.completed_steps > 0) {
    const double tau = record.tau.back(), tau_1 = HalfwayTime(record.eigenvalues[0], record.a0[0]);
    std::string line = Format("no mode switched on in %lld steps: tau reached %.3g, mode 1 switches on near tau %.3g",
                              static_cast<long long>(record.completed_steps), tau, tau_1);
    if (tau > 0 && std::isfinite(tau_1))
      line += Format(" (about %.3g steps at this run's rate); raise --steps or --lr",
                     tau_1 / tau * static_cast<double>(record.completed_steps));
    Warn(line);
  }
}

void Report::EndEvaluate(const Evaluation& ev, const Vocabulary& vocab, const EigenResult* eig) {
  End(ev.analogies ? "analogies, similarity and concepts" : "similarity and concepts");
  if (const AnalogyReport* a = ev.analogies ? &*ev.analogies : nullptr) {
    Say(
        Format("analogy (standard, 3CosAdd): %.1f%% of %lld in-vocabulary questions (of %lld); semantic %.1f%% "
               "of %lld, syntactic %.1f%% of %lld",
               100 * a->accuracy(false, -1), static_cast<long long>(a->total(false, -1)),
               static_cast<long long>(a->n_questions()), 100 * a->accuracy(false, 1),
               static_cast<long long>(a->total(false, 1)), 100 * a->accuracy(false, 0),
               static_cast<long long>(a->total(false, 0))));
    Say(Format("analogy (paper's pair protocol): %.1f%% of %lld; semantic %.1f%%, syntactic %.1f%%",
               100 * a->accuracy(true, -1), static_cast<long long>(a->total(true, -1)), 100 * a->accuracy(true, 1),
               100 * a->accuracy(true, 0)));
    for (const auto& sec : a->sections)
      Say(Format("  %-28s standard %5.1f%% of %5lld   pairs %5.1f%% of %6lld", sec.name.c_str(),
                 sec.total ? 100.0 * sec.correct / sec.total : 0.0, static_cast<long long>(sec.total),
                 sec.pair_total ? 100.0 * sec.pair_correct / sec.pair_total : 0.0,
                 static_cast<long long>(sec.pair_total)));
  }
  for (const auto& r : ev.similarity)
    Say("similarity " + r.name + ": Spearman " +
        (std::isnan(r.spearman) ? std::string("undefined (fewer than 2 pairs in vocabulary, or no spread)")
                                : Format("%.3f", r.spearman)) +
        Format(" on %lld of %lld pairs", static_cast<long long>(r.n_covered), static_cast<long long>(r.n_pairs)));
  for (std::size_t c = 0; eig && c < ev.concepts.size(); ++c) {
    std::string top, bottom;
    for (auto id : ev.concepts[c].top) top += " " + vocab.words[id];
    for (auto id : ev.concepts[c].bottom) bottom += " " + vocab.words[id];
    Say(Format("concept %zu (lambda %.1f): +", c + 1, eig->eigenvalues[c]) + top + "  |  -" + bottom);
  }
}

void Report::Summary(const std::string& path, const Vocabulary& vocab, int window, const CooccurrenceRows& counts,
                     const EigenResult* eig, Mode mode, const TrainOptions& train, const TrainRecord* record,
                     const Evaluation* ev) const {
  std::string summary = Format("done: wrote %s in %.2f s; %s tokens, V = %lld (coverage %.1f%%), L = %d, nnz = %lld",
                               path.c_str(), Elapsed(), FormatCount(static_cast<double>(vocab.n_total_tokens)).c_str(),
                               static_cast<long long>(vocab.size()), 100.0 * vocab.coverage(), window,
                               static_cast<long long>(counts.nnz));
  if (eig && !eig->eigenvalues.empty()) summary += Format(", lambda_1 = %.1f", eig->eigenvalues[0]);
  if (record && !record->step.empty()) {
    const std::string what =
        mode == Mode::kGd ? "gd on M*" : std::string("sgd ") + Name(train.loss) + " " + Name(train.sampling);
    summary += Format(", %s: %lld steps, s_1 = %.3g", what.c_str(), static_cast<long long>(record->completed_steps),
                      record->singular_values[record->singular_values.size() - record->dim]);
    if (record->n_overlap > 0) {
      const int k = std::min(5, record->n_overlap);
      summary += Format(", top-%d overlap %.3f, theory max error %.3f", k,
                        record->overlap[record->overlap.size() - record->n_overlap + k - 1], record->MaxError(10));
      if (!record->theory_coupled.empty()) summary += Format(" (coupled %.3f)", record->CoupledMaxError(10));
    }
  }
  if (ev && ev->analogies)
    summary += Format(", analogy %.1f%% of %lld", 100 * ev->analogies->accuracy(false, -1),
                      static_cast<long long>(ev->analogies->total(false, -1)));
  Say(summary);
}

}  // namespace qwem
