#include "qwem/options.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace qwem {

namespace {

template <class Enum>
struct Named {
  Enum value;
  const char* name;
};

constexpr Named<Mode> kModes[] = {{Mode::kClosed, "closed"}, {Mode::kSgd, "sgd"}, {Mode::kGd, "gd"}};
constexpr Named<TargetKind> kTargets[] = {
    {TargetKind::kMStar, "mstar"}, {TargetKind::kPPMI, "ppmi"}, {TargetKind::kPMI, "pmi"}};
constexpr Named<OperatorKind> kOperators[] = {
    {OperatorKind::kAuto, "auto"}, {OperatorKind::kSparse, "sparse"}, {OperatorKind::kDense, "dense"}};
constexpr Named<EigenSolverKind> kSolvers[] = {
    {EigenSolverKind::kBlock, "block"}, {EigenSolverKind::kSlepc, "slepc"}, {EigenSolverKind::kScalapack, "scalapack"}};
constexpr Named<LossKind> kLosses[] = {{LossKind::kQwem, "qwem"}, {LossKind::kSgns, "sgns"}};
constexpr Named<Sampling> kSamplings[] = {{Sampling::kPairs, "pairs"}, {Sampling::kWindows, "windows"}};
constexpr Named<OutputVectors> kOutputVectors[] = {{OutputVectors::kTied, "tied"},
                                                   {OutputVectors::kSeparate, "separate"}};
constexpr Named<LrSchedule> kSchedules[] = {{LrSchedule::kConstant, "constant"}, {LrSchedule::kLinear, "linear"}};
constexpr Named<PairWeights> kPairWeights[] = {
    {PairWeights::kQwem, "qwem"}, {PairWeights::kWord2vec, "word2vec"}, {PairWeights::kSampled, "sampled"}};
constexpr Named<NegativePairing> kPairings[] = {
    {NegativePairing::kIid, "iid"}, {NegativePairing::kTarget, "target"}, {NegativePairing::kShared, "shared"}};
constexpr Named<PairPrecision> kPrecisions[] = {{PairPrecision::kDouble, "double"}, {PairPrecision::kSingle, "single"}};
constexpr Named<EmbeddingSum> kEmbeddingSums[] = {{EmbeddingSum::kW, "w"}, {EmbeddingSum::kWPlusC, "w+c"}};
constexpr Named<TheoryConvention> kConventions[] = {{TheoryConvention::kQwem, "qwem"},
                                                    {TheoryConvention::kReference, "reference"}};

template <class Enum, std::size_t N>
const char* NameIn(const Named<Enum> (&table)[N], Enum v) {
  for (const auto& e : table)
    if (e.value == v) return e.name;
  return "?";
}

template <class Enum, std::size_t N>
Enum ParseIn(const Named<Enum> (&table)[N], const std::string& option, const std::string& text) {
  std::string expected;
  for (std::size_t i = 0; i < N; ++i) {
    if (text == table[i].name) return table[i].value;
    expected += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + std::string(table[i].name);
  }
  throw UsageError("unknown " + option + " '" + text + "' (expected " + expected + ")");
}

void Require(bool ok, const std::string& message) {
  if (!ok) throw UsageError(message);
}

bool Finite(double x) { return std::isfinite(x); }

}  // namespace

const char* Name(Mode v) { return NameIn(kModes, v); }
const char* Name(TargetKind v) { return NameIn(kTargets, v); }
const char* Name(OperatorKind v) { return NameIn(kOperators, v); }
const char* Name(EigenSolverKind v) { return NameIn(kSolvers, v); }
const char* Name(LossKind v) { return NameIn(kLosses, v); }
const char* Name(Sampling v) { return NameIn(kSamplings, v); }
const char* Name(OutputVectors v) { return NameIn(kOutputVectors, v); }
const char* Name(LrSchedule v) { return NameIn(kSchedules, v); }
const char* Name(EmbeddingSum v) { return NameIn(kEmbeddingSums, v); }
const char* Name(PairWeights v) { return NameIn(kPairWeights, v); }
const char* Name(NegativePairing v) { return NameIn(kPairings, v); }
const char* Name(TheoryConvention v) { return NameIn(kConventions, v); }
const char* Name(PairPrecision v) { return NameIn(kPrecisions, v); }

PairWeights DefaultWeights(LossKind loss) {
  return loss == LossKind::kSgns ? PairWeights::kSampled : PairWeights::kQwem;
}
NegativePairing DefaultPairing(PairWeights weights) {
  return weights == PairWeights::kQwem ? NegativePairing::kIid : NegativePairing::kTarget;
}

void ParseName(const std::string& option, const std::string& text, Mode* value) {
  *value = ParseIn(kModes, option, text);
}
void ParseName(const std::string& option, const std::string& text, TargetKind* value) {
  *value = ParseIn(kTargets, option, text);
}
void ParseName(const std::string& option, const std::string& text, OperatorKind* value) {
  *value = ParseIn(kOperators, option, text);
}
void ParseName(const std::string& option, const std::string& text, EigenSolverKind* value) {
  *value = ParseIn(kSolvers, option, text);
}
void ParseName(const std::string& option, const std::string& text, LossKind* value) {
  *value = ParseIn(kLosses, option, text);
}
void ParseName(const std::string& option, const std::string& text, Sampling* value) {
  *value = ParseIn(kSamplings, option, text);
}
void ParseName(const std::string& option, const std::string& text, OutputVectors* value) {
  *value = ParseIn(kOutputVectors, option, text);
}
void ParseName(const std::string& option, const std::string& text, LrSchedule* value) {
  *value = ParseIn(kSchedules, option, text);
}
void ParseName(const std::string& option, const std::string& text, PairWeights* value) {
  *value = ParseIn(kPairWeights, option, text);
}
void ParseName(const std::string& option, const std::string& text, NegativePairing* value) {
  *value = ParseIn(kPairings, option, text);
}
void ParseName(const std::string& option, const std::string& text, PairPrecision* value) {
  *value = ParseIn(kPrecisions, option, text);
}
void ParseName(const std::string& option, const std::string& text, EmbeddingSum* value) {
  *value = ParseIn(kEmbeddingSums, option, text);
}
void ParseName(const std::string& option, const std::string& text, TheoryConvention* value) {
  *value = ParseIn(kConventions, option, text);
}

double TrainOptions::EntryStd(int d) const {
  return convention == TheoryConvention::kReference ? init_scale / std::sqrt(static_cast<double>(d)) : init_scale;
}

std::string DefaultCheckpointPath(const std::string& out) {
  const bool h5 = out.size() > 3 && out.compare(out.size() - 3, 3, ".h5") == 0;
  return (h5 ? out.substr(0, out.size() - 3) : out) + ".ckpt.h5";
}

bool Options::Given(const std::string& name) const {
  return std::find(given.begin(), given.end(), name) != given.end();
}

void Options::Check() const {
  // One value at a time.
  Require(vocab.size >= 1, "--vocab-size must be at least 1");
  Require(vocab.min_count >= 1, "--min-count must be at least 1");
  Require(count.window >= 1, "--window must be at least 1 (got " + std::to_string(count.window) + ")");
  Require(count.window <= 10000, "--window must be at most 10000");
  Require(count.buffer_bytes >= std::size_t{1} << 20, "--count-buffer-mb must be at least 1");
  Require(corpus.max_token_bytes >= 1, "--max-token-bytes must be at least 1");
  Require(!output.path.empty(), "--out must name a file");
  Require(eigen.dim >= 1, "--dim must be at least 1");
  Require(train.theory_modes < 0 || training(), "--theory-modes is for --mode sgd|gd");
  Require(train.theory_modes < 0 || train.theory, "--theory-modes needs the theory curves (drop --no-theory)");
  Require(train.theory_modes < 0 || train.theory_modes >= eigen.dim,
          "--theory-modes must be at least --dim (the theory's modes include the top d)");
  Require(eigen.tol > 0 && eigen.tol < 1, "--eig-tol must be in (0, 1)");
  Require(eigen.block == 0 || eigen.block == 16 || eigen.block == 32 || eigen.block == 48 || eigen.block == 64,
          "--eig-block must be 16, 32, 48 or 64 (0: automatic)");
  Require(eigen.ncv >= 0, "--eig-ncv must be non-negative (0: automatic)");
  Require(eigen.max_products >= 0, "--eig-max-products must be non-negative (0: automatic)");
  Require(eval.concepts >= 0 && eval.concept_words >= 1, "--concepts must be >= 0 and --concept-words >= 1");
  Require(target.nu > 0 && Finite(target.nu), "--ns-weight must be a positive number");
  Require(Finite(eigen.power), "--eig-power must be a number");
  Require(train.context_group >= 0, "--context-group must be non-negative");
  Require(train.steps >= 0, "--steps must be non-negative");
  Require(train.batch >= 1, "--batch must be at least 1");
  Require(train.negatives >= 0, "--negatives must be non-negative");
  Require(train.lr > 0 && Finite(train.lr), "--lr must be positive");
  Require(train.init_scale > 0 && Finite(train.init_scale), "--init-scale must be positive");
  Require(train.sync_every >= 1, "--sync-every must be at least 1");
  Require(train.lr_drop >= 0, "--lr-drop must be a step (0: never)");
  Require(train.lr_drop_factor > 0 && train.lr_drop_factor <= 1, "--lr-drop-factor must be in (0, 1]");
  Require(train.subsample >= 0 && Finite(train.subsample), "--subsample must be a non-negative number");
  Require(train.log_every >= 0 && train.eval_every >= 0 && train.checkpoints >= 1,
          "--log-every and --eval-every must be >= 0, --checkpoints >= 1");
  Require(output.progress_seconds >= 0 && Finite(output.progress_seconds), "--progress-seconds must be non-negative");
  Require(target.cds > 0 && target.cds <= 1 && Finite(target.cds), "--cds must be in (0, 1] (hyperwords uses 0.75)");
  Require(target.shift >= 1 && Finite(target.shift), "--shift must be at least 1 (k of PMI - log k)");

  // Between options.
  Require(corpus.path.empty() != count.from.empty(), count.from.empty()
                                                         ? "--corpus is required (or --counts-from an earlier output)"
                                                         : "--counts-from replaces --corpus: give one of them");
  Require(count.from.empty() || vocab.read.empty(),
          "--read-vocab cannot be combined with --counts-from (the counts "
          "carry their vocabulary)");
  Require(vocab.read.empty() || (!Given("vocab-size") && !Given("min-count")),
          "--read-vocab gives the vocabulary: --vocab-size and --min-count do not apply");
  Require(count.from.empty() || !Given("max-token-bytes"),
          "--counts-from reads no corpus: --max-token-bytes does not apply");
  Require(count.from.empty() || !(mode == Mode::kSgd && train.sampling == Sampling::kWindows),
          "--sampling windows trains on the corpus's token stream: it cannot start from --counts-from");
  Require(target.shift == 1 || target.kind != TargetKind::kMStar,
          "--shift applies to --target ppmi or pmi (M*'s own shift is --ns-weight)");
  Require(!counts_only || eigen.from.empty(), "--counts-only computes no eigenpairs: --eigen-from is not used");
  Require(
      output.embeddings == EmbeddingSum::kW || (mode == Mode::kSgd && train.output_vectors == OutputVectors::kSeparate),
      "--embeddings w+c needs separate output vectors (--mode sgd --sampling windows)");
  Require(train.theory || training(), "--no-theory applies to training (--mode sgd or gd)");
  Require(train.convention == TheoryConvention::kQwem || training(),
          "--theory-convention applies to training (--mode sgd or gd)");
  Require(train.theory || eigen.from.empty(), "--no-theory solves no eigenpairs: --eigen-from is not used");
  Require(
      !train.steps_auto || (train.lr_drop == 0 && !train.lr_drop_auto) || train.lr_schedule == LrSchedule::kConstant,
      "--steps auto with --lr-drop needs --lr-schedule constant");
  Require(!train.lr_drop_auto || train.lr_schedule == LrSchedule::kConstant,
          "--lr-drop auto needs --lr-schedule constant");
  // --lr-drop auto and --steps auto work their steps out from M*'s eigenvalues.
  const auto require_eigenvalues = [&](bool is_auto, const std::string& option, const std::string& what) {
    Require(!is_auto || (train.theory && !(mode == Mode::kSgd && train.sampling == Sampling::kWindows)),
            option + " derives " + what +
                " from M*'s eigenvalues: it needs the theory (not --no-theory) and gd or pair sampling");
  };
  require_eigenvalues(train.lr_drop_auto, "--lr-drop auto", "the step");
  require_eigenvalues(train.steps_auto, "--steps auto", "the horizon");
  Require(mode == Mode::kSgd || train.subsample == 0, "--subsample applies to --mode sgd");
  Require(train.negative_smoothing >= 0 && train.negative_smoothing < 1, "--negative-smoothing must be in [0, 1)");
  Require(mode == Mode::kSgd || train.negative_smoothing == 0, "--negative-smoothing applies to --mode sgd");
  Require(mode == Mode::kSgd || (!Given("weights") && !Given("negative-pairing")),
          "--weights and --negative-pairing apply to --mode sgd");
  Require(mode == Mode::kSgd || !Given("pair-precision"), "--pair-precision applies to --mode sgd (pair sampling)");
  if (training()) {
    Require(target.cds == 1 && target.shift == 1,
            std::string("--mode ") + Name(mode) + " trains on M* itself: --cds and --shift are closed-form options");
    Require(!counts_only, std::string("--counts-only cannot be combined with --mode ") + Name(mode));
    Require(target.kind == TargetKind::kMStar,
            std::string("--mode ") + Name(mode) + " trains on M*: --target must be mstar");
  }
  if (mode == Mode::kSgd) {
    const bool windows = train.sampling == Sampling::kWindows;
    Require(!windows || train.loss == LossKind::kSgns,
            "--sampling windows trains word2vec's loss: use it with --loss sgns");
    Require(windows || train.output_vectors == OutputVectors::kTied,
            "--output-vectors separate needs --sampling windows (pair sampling trains one tied W)");
    Require(!windows || train.sync_every == 1,
            "--sampling windows sums the ranks' changes every step: --sync-every must be 1");
    Require(windows || train.loss != LossKind::kQwem || train.negatives >= 1, "--loss qwem needs --negatives >= 1");
    Require(!windows || (!Given("weights") && !Given("negative-pairing")),
            "--weights and --negative-pairing apply to pair sampling (word2vec's windows have their own)");
    Require(!windows || !Given("pair-precision"),
            "--pair-precision applies to pair sampling (word2vec's windows have their own kernel)");
    Require(train.weights != PairWeights::kSampled || train.pairing != NegativePairing::kIid,
            "--weights sampled draws each negative for its positive's target word: --negative-pairing target or "
            "shared");
    Require(train.negative_group >= 1, "--negative-group must be at least 1");
    Require(!Given("negative-group") || train.pairing == NegativePairing::kShared,
            "--negative-group applies to --negative-pairing shared");
    Require(train.subsample == 0 || windows || train.weights != PairWeights::kQwem,
            "--subsample is word2vec's subsampling: --weights qwem does not use it");
    // Both auto options follow M*'s theory, which other weights do not train towards.
    const auto require_qwem_weights = [&](bool is_auto, const std::string& option, const std::string& instead) {
      Require(!is_auto || windows || train.weights == PairWeights::kQwem,
              option + " follows M*'s theory, the target of --weights qwem: give " + instead + " with other weights");
    };
    require_qwem_weights(train.steps_auto, "--steps auto", "--steps");
    require_qwem_weights(train.lr_drop_auto, "--lr-drop auto", "--lr-drop STEP");
    Require(train.negative_smoothing == 0 || (!windows && train.weights == PairWeights::kQwem),
            "--negative-smoothing reweights the negatives of --weights qwem (pair sampling)");
    Require(train.weights != PairWeights::kWord2vec || train.subsample > 0,
            "--weights word2vec needs word2vec's subsampling threshold --subsample t (the reference's 1e-5)");
    Require(windows || train.batch * (1 + train.negatives) <= (global_int_t{1} << 30),
            "--batch times (1 + --negatives) must be at most 2^30");
  }
}

void Options::CheckForVocabulary(global_int_t V) const {
  if (counts_only) return;
  if (eigen.dim >= V)
    throw Error("--dim=" + std::to_string(eigen.dim) + " must be smaller than V = " + std::to_string(V));
}

int Options::EigenpairsWanted(global_int_t V) const {
  if (!training() || !train.theory) return eigen.dim;
  const global_int_t d = eigen.dim, want = train.theory_modes < 0 ? std::max(2 * d, d + 50) : train.theory_modes;
  return static_cast<int>(std::max<global_int_t>(eigen.dim, std::min(want, V - 1)));
}

}  // namespace qwem
