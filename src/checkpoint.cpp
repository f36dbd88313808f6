#include "qwem/checkpoint.hpp"

#include <cmath>
#include <cstdio>
#include <variant>

#include "qwem/theory.hpp"

namespace qwem {

std::string VocabularyFingerprint(const Vocabulary& vocab) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  auto mix = [&](const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t k = 0; k < n; ++k) h = (h ^ b[k]) * 1099511628211ULL;
  };
  for (global_int_t i = 0; i < vocab.size(); ++i) {
    mix(vocab.words[i].data(), vocab.words[i].size() + 1);  // with the terminating NUL
    mix(&vocab.counts[i], sizeof(global_int_t));
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

namespace {

// One setting a resumed run must share with the run that wrote the checkpoint: stored as a
// number or as text, compared as text (h5::InputFile::AttributeText). A setting added after files
// were written is recorded only when it is not at its default (recorded false: not written, so
// those files resume as they did), and a file that has it does not match a run at the default.
struct Setting {
  std::string name;
  std::variant<std::string, global_int_t, double> value;
  bool recorded = true;
  std::string Text() const {
    if (const auto* s = std::get_if<std::string>(&value)) return *s;
    if (const auto* i = std::get_if<global_int_t>(&value)) return std::to_string(*i);
    char b[64];
    std::snprintf(b, sizeof b, "%.17g", std::get<double>(value));
    return b;
  }
};

// Window sampling's trajectory depends on the rank count, so a resume must use the same.
std::vector<Setting> TrainingSettings(const TrainingSetup& setup, const Vocabulary& vocab, int n_ranks) {
  const TrainOptions& t = setup.train;
  auto integer = [](auto v) { return static_cast<global_int_t>(v); };
  std::vector<Setting> settings{{"mode", Name(setup.mode)},
                                {"loss", Name(t.loss)},
                                {"sampling", Name(t.sampling)},
                                {"output_vectors", Name(t.output_vectors)},
                                {"dim", integer(setup.dim)},
                                {"steps", t.steps},
                                {"batch", t.batch},
                                {"negatives", integer(t.negatives)},
                                {"ns_weight", setup.nu},
                                {"lr", t.lr},
                                {"lr_schedule", Name(t.lr_schedule)},
                                {"init_scale", t.init_scale},
                                {"seed", integer(t.seed)},
                                {"sync_every", integer(t.sync_every)},
                                {"subsample", t.subsample},
                                {"window", integer(setup.window)},
                                {"vocab_size", vocab.size()},
                                {"vocab_fingerprint", VocabularyFingerprint(vocab)}};
  // Recorded only when they differ from the defaults that came before them: the theory (when
  // off), its convention, pair sampling's ablation settings and precision, the stepped rate, and
  // window sampling's own.
  const bool pairs = setup.mode == Mode::kSgd && t.sampling == Sampling::kPairs;
  const bool windows = setup.mode == Mode::kSgd && t.sampling == Sampling::kWindows;
  settings.push_back({"theory", "none", !t.theory});
  settings.push_back({"theory_convention", Name(t.convention), t.convention != TheoryConvention::kQwem});
  settings.push_back({"weights", Name(t.weights), pairs && t.weights != DefaultWeights(t.loss)});
  settings.push_back({"negative_pairing", Name(t.pairing), pairs && t.pairing != DefaultPairing(t.weights)});
  settings.push_back({"negative_group", integer(t.negative_group), pairs && t.pairing == NegativePairing::kShared});
  settings.push_back({"negative_smoothing", t.negative_smoothing, pairs && t.negative_smoothing > 0});
  settings.push_back({"pair_precision", Name(t.precision), pairs && t.precision != PairPrecision::kDouble});
  settings.push_back({"lr_drop", t.lr_drop, t.lr_drop > 0});
  settings.push_back({"lr_drop_factor", t.lr_drop_factor, t.lr_drop > 0});
  settings.push_back({"context_group", integer(t.context_group), windows});
  settings.push_back({"window_ranks", integer(n_ranks), windows});
  return settings;
}

std::string CheckpointName(global_int_t step) {
  char b[64];
  std::snprintf(b, sizeof b, "/train/checkpoints/W_%012lld", static_cast<long long>(step));
  return b;
}

// A replicated records x cols series (empty series are left out).
template <class T>
void WriteSeries(h5::OutputFile& out, const std::string& path, const std::vector<T>& data, global_int_t cols) {
  if (cols > 0 && static_cast<global_int_t>(data.size()) >= cols) out.WriteReplicated(path, data, cols);
}

std::string TauDefinition(const TrainingSetup& setup) {
  if (setup.mode == Mode::kGd) return "tau = 8 sum_t eta_t / V^2 (full-batch gradient descent)";
  if (setup.train.loss == LossKind::kQwem)
    return "tau = 2 c sum_t eta_t, c = (1 + nu) / V^2 (batch-mean loss, QWEM weights q = c / (P_ij + nu P_i P_j)); "
           "exact in expectation";
  if (setup.train.sampling == Sampling::kWindows)
    return "tau = c sum_t alpha_t E[positives per step], c = (1 + nu) / V^2 (alpha per pair; SGNS's quadratic term is "
           "half QWEM's): qualitative only";
  return "tau = c sum_t eta_t, c = (1 + nu) / V^2: SGNS's quadratic term is half QWEM's; qualitative only";
}

}  // namespace

void WriteTraining(h5::OutputFile& out, MPI_Comm comm, const TrainingSetup& setup, const Vocabulary& vocab,
                   const TrainRecord& rec, const TrainedState& state) {
  for (const Setting& s : TrainingSettings(setup, vocab, CommSize(comm)))
    if (s.recorded) std::visit([&](const auto& v) { out.Attribute("/train", s.name, v); }, s.value);
  out.Attribute("/train", "completed_steps", rec.completed_steps);
  out.Attribute("/train", "status", std::string(rec.interrupted ? "interrupted" : "complete"));
  out.Attribute("/train", "stop_signal", static_cast<global_int_t>(rec.stop_signal));
  out.Attribute("/train", "reweight_c", ReweightConstant(setup.nu, vocab.size()));
  out.Attribute("/train", "tau_definition", TauDefinition(setup));
  out.Attribute("/train", "theory_max_error_top10", rec.MaxError(10));
  if (rec.n_modes > 0) out.Attribute("/train", "tau_1", SwitchOnTime(rec.eigenvalues[0], rec.a0[0]));
  out.Attribute("/train", "theory_agreement_top10", rec.MaxError(10));  // the same, its old name
  out.Attribute("/train", "theory_discrete_max_error_top10", rec.DiscreteMaxError(10));
  out.Attribute("/train", "switch_on_error_top10", SwitchOnError(rec.switch_on_measured, rec.switch_on_theory, 10));
  out.Attribute("/train", "switch_on_discrete_error_top10",
                SwitchOnError(rec.switch_on_measured, rec.switch_on_discrete, 10));
  if (!rec.theory_coupled.empty()) {
    out.Attribute("/train", "theory_coupled_max_error_top10", rec.CoupledMaxError(10));
    out.Attribute("/train", "theory_coupled_steps", std::string(rec.coupled_exact_steps ? "exact" : "chunked"));
    out.Attribute("/train", "switch_on_coupled_error_top10",
                  SwitchOnError(rec.switch_on_measured, rec.switch_on_coupled, 10));
  }
  out.Attribute("/train", "train_seconds", rec.train_seconds);
  out.Attribute("/train", "updates_per_second_per_rank", rec.updates_per_second_per_rank);
  for (const PhaseSeconds& p : rec.step_phases) out.Attribute("/train", "step_seconds_" + p.name, p.seconds);
  WriteSeries(out, "/train/step", rec.step, 1);
  WriteSeries(out, "/train/tau", rec.tau, 1);
  WriteSeries(out, "/train/lr", rec.lr, 1);
  WriteSeries(out, "/train/loss", rec.loss, 1);
  WriteSeries(out, "/train/seconds", rec.seconds, 1);
  WriteSeries(out, "/train/singular_values", rec.singular_values, rec.dim);
  WriteSeries(out, "/train/eigenvalues", rec.eigenvalues, 1);
  WriteSeries(out, "/train/a0", rec.a0, 1);
  WriteSeries(out, "/train/theory_singular_values", rec.theory, rec.n_modes);
  WriteSeries(out, "/train/theory_discrete_singular_values", rec.theory_discrete, rec.n_modes);
  WriteSeries(out, "/train/mode_squares", rec.mode_squares, rec.n_modes);
  WriteSeries(out, "/train/switch_on_tau", rec.switch_on_measured, 1);
  WriteSeries(out, "/train/switch_on_tau_theory", rec.switch_on_theory, 1);
  WriteSeries(out, "/train/switch_on_tau_discrete", rec.switch_on_discrete, 1);
  if (!rec.initial_projections.empty()) {
    WriteSeries(out, "/train/coupled_eigenvalues", rec.coupled_eigenvalues, 1);
    WriteSeries(out, "/train/initial_projections", rec.initial_projections, rec.dim);
    WriteSeries(out, "/train/initial_gram", rec.initial_gram, rec.dim);
    WriteSeries(out, "/train/theory_coupled_singular_values", rec.theory_coupled, rec.dim);
    WriteSeries(out, "/train/switch_on_tau_coupled", rec.switch_on_coupled, 1);
  }
  WriteSeries(out, "/train/overlap", rec.overlap, rec.n_overlap);
  WriteSeries(out, "/train/eval_step", rec.eval_step, 1);
  WriteSeries(out, "/train/analogy_accuracy", rec.analogy, 1);
  WriteSeries(out, "/train/analogy_pair_accuracy", rec.analogy_pair, 1);
  const global_int_t V = vocab.size(), n = state.row_end - state.row_begin;
  WriteSeries(out, "/train/checkpoints/step", rec.checkpoint_step, 1);
  for (std::size_t c = 0; c < rec.checkpoint_step.size(); ++c)
    out.WriteDistributed(CheckpointName(rec.checkpoint_step[c]), rec.checkpoint_rows[c].data(), n, state.row_begin, V,
                         rec.dim);
  out.WriteDistributed("/train/state/W", state.W.data(), n, state.row_begin, V, rec.dim);
  // word2vec's output (context) vectors: part of the state, and useful on their own.
  if (!state.C.empty()) out.WriteDistributed("/train/state/C", state.C.data(), n, state.row_begin, V, rec.dim);
  out.Attribute("/train/state", "step", rec.completed_steps);
}

TrainRecord ReadTraining(MPI_Comm comm, const std::string& path, const TrainingSetup& setup, const Vocabulary& vocab,
                         global_int_t row_begin, global_int_t row_end, bool output_vectors, TrainedState* state) {
  TrainRecord rec;
  RunAgreed(comm, [&] {
    const h5::InputFile in(path);
    if (!in.Exists("/train/state/W")) throw Error("'" + path + "' has no training state (/train/state/W)");
    if (setup.train.theory && in.HasAttribute("/train", "theory"))
      throw Error("'" + path +
                  "' was trained with --no-theory (no theory curves to continue): resume with --no-theory");
    for (const Setting& s : TrainingSettings(setup, vocab, CommSize(comm))) {
      if (!s.recorded) {
        if (in.HasAttribute("/train", s.name))
          throw Error("'" + path + "' does not match this run: it has " + s.name + " = " +
                      in.AttributeText("/train", s.name) + ", this run the default");
        continue;
      }
      const std::string have = in.AttributeText("/train", s.name), want = s.Text();
      if (have != want)
        throw Error("'" + path + "' does not match this run: it has " + s.name + " = " + have + ", this run " + want);
    }
    rec.dim = setup.dim;
    rec.completed_steps = in.IntAttribute("/train/state", "step");
    rec.step = in.Read<global_int_t>("/train/step");
    rec.tau = in.Read<double>("/train/tau");
    rec.lr = in.Read<double>("/train/lr");
    rec.loss = in.Read<double>("/train/loss");
    rec.seconds = in.Read<double>("/train/seconds");
    rec.singular_values = in.Read<double>("/train/singular_values");
    if (in.Exists("/train/eigenvalues")) {
      rec.eigenvalues = in.Read<double>("/train/eigenvalues");
      rec.a0 = in.Read<double>("/train/a0");
    }
    if (in.Exists("/train/initial_projections")) {  // files written before the coupled theory have none
      rec.coupled_eigenvalues = in.Read<double>("/train/coupled_eigenvalues");
      rec.initial_projections = in.Read<double>("/train/initial_projections");
      rec.initial_gram = in.Read<double>("/train/initial_gram");
    }
    rec.n_modes = static_cast<int>(rec.eigenvalues.size());
    if (rec.n_modes > 0) rec.theory = in.Read<double>("/train/theory_singular_values");
    // Each mode's own size per record (files written before it existed: NaN, skipped).
    if (rec.n_modes > 0)
      rec.mode_squares = in.Exists("/train/mode_squares") ? in.Read<double>("/train/mode_squares")
                                                          : std::vector<double>(rec.theory.size(), std::nan(""));
    if (in.Exists("/train/overlap")) {
      rec.overlap = in.Read<double>("/train/overlap");
      rec.n_overlap = static_cast<int>(in.Shape("/train/overlap").at(1));
    }
    if (in.Exists("/train/eval_step")) {
      rec.eval_step = in.Read<global_int_t>("/train/eval_step");
      rec.analogy = in.Read<double>("/train/analogy_accuracy");
      rec.analogy_pair = in.Read<double>("/train/analogy_pair_accuracy");
    }
    if (in.Exists("/train/checkpoints/step")) rec.checkpoint_step = in.Read<global_int_t>("/train/checkpoints/step");
    for (global_int_t s : rec.checkpoint_step)
      rec.checkpoint_rows.push_back(in.Read<double>(CheckpointName(s), row_begin, row_end - row_begin));
    const std::vector<global_int_t> shape = in.Shape("/train/state/W");
    if (shape.size() != 2 || shape[0] != vocab.size() || shape[1] != setup.dim)
      throw Error("'" + path + "': /train/state/W has the wrong shape");
    state->row_begin = row_begin;
    state->row_end = row_end;
    state->W = in.Read<double>("/train/state/W", row_begin, row_end - row_begin);
    if (output_vectors) {
      if (!in.Exists("/train/state/C") || in.Shape("/train/state/C") != shape)
        throw Error("'" + path + "': /train/state/C (the output vectors) is missing or has the wrong shape");
      state->C = in.Read<double>("/train/state/C", row_begin, row_end - row_begin);
      for (const double w : state->C)
        if (!std::isfinite(w)) throw Error("'" + path + "': /train/state/C holds non-finite values");
    }
    const std::size_t n = rec.step.size();
    if (n == 0 || rec.step.back() != rec.completed_steps || rec.singular_values.size() != n * rec.dim ||
        rec.tau.size() != n || rec.loss.size() != n)
      throw Error("'" + path + "': the /train series are inconsistent (corrupt file?)");
    for (const double w : state->W)
      if (!std::isfinite(w)) throw Error("'" + path + "': /train/state/W holds non-finite values");
  });
  return rec;
}

}  // namespace qwem
