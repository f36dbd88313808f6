// The settings of a qwem-dist run: one section per stage, every default defined here once.
// The command line (cli.hpp) fills them, parsing every named value into its enum at that
// boundary, and Options::Check enforces the rules of single values and between options, so
// a stage receives its own section, already valid, and never parses text.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "qwem/common.hpp"

namespace qwem {

// What the run computes after the counts (--mode).
enum class Mode { kClosed, kSgd, kGd };
// The matrix to factorize (--target): M* (QWEM), or the PPMI and PMI baselines.
enum class TargetKind { kMStar, kPPMI, kPMI };
// How the eigensolver sees the target (--operator).
enum class OperatorKind { kAuto, kSparse, kDense };
// The eigensolver (--eigensolver): qwem-dist's block Lanczos on block products, SLEPc's EPS, or
// ScaLAPACK's dense pdsyevr (many eigenpairs).
enum class EigenSolverKind { kBlock, kSlepc, kScalapack };
enum class LossKind { kQwem, kSgns };
// sgd's samples: pairs drawn from P_ij (exact, any rank count gives the same W), or word2vec's
// windows streamed from each rank's shard (sgns only).
enum class Sampling { kPairs, kWindows };
// tied: one W (scores w_i . w_j, the theory's model); separate: word2vec's output vectors C.
enum class OutputVectors { kTied, kSeparate };
enum class LrSchedule { kConstant, kLinear };
// The weights of pair sampling's samples (--weights), the paper's appendix ablation:
//  qwem     the paper's setting 3.1: every pair weighted by q_ij = c / (P_ij + nu P_i P_j);
//  word2vec word2vec's subsampling (threshold --subsample) and unigram^0.75 negatives as
//           importance weights on the same samples: positives accept_i accept_j, negatives
//           (accept_i r_j + accept_j r_i) / 2, accept = the keep probability and r = u^0.75 / u,
//           each divided by its mean over the vocabulary (the reference code's);
//  sampled  word2vec's by sampling: positives discarded by subsampling, negatives drawn from
//           unigram^0.75, every sample of weight 1 (SGNS's pair sampling before the ablation).
enum class PairWeights { kQwem, kWord2vec, kSampled };
// How a negative pair is drawn (--negative-pairing): iid, i and j independently from the
// unigram; target, i is its positive's target word (the reference code's) and j from the unigram;
// shared, target pairing with the drawn words shared by the positives of one word
// (--negative-group of them; shared_kernel.hpp): positive (i, j) has the negatives (j, n_k).
enum class NegativePairing { kIid, kTarget, kShared };
// The arithmetic of pair sampling's kernel (--pair-precision): double, or single (scores and row
// sums in float over a float copy of W, the pair kernel's carried into double every few entries,
// the shared kernel's in float throughout; W itself and its steps stay double). Both are
// bit-identical on any rank count.
enum class PairPrecision { kDouble, kSingle };
// The defaults, those of pair sampling before the ablation: qwem weights for --loss qwem,
// sampled for sgns; iid negatives with qwem weights, else target-paired.
PairWeights DefaultWeights(LossKind loss);
NegativePairing DefaultPairing(PairWeights weights);
// The theory's conventions (--theory-convention): qwem: W0 entries of std --init-scale and a_0 of
// each mode its own squared projection (Gram-Schmidt); reference (the paper's code): entries of
// std --init-scale / sqrt(d) and a_0 = init-scale^2 for every mode, its expected value.
enum class TheoryConvention { kQwem, kReference };
// What /embeddings holds when training kept separate output vectors C: W, or W + C (hyperwords' w+c).
enum class EmbeddingSum { kW, kWPlusC };

// The name of a value as on the command line and in the HDF5 file ("mstar", "windows", ...).
const char* Name(Mode v);
const char* Name(TargetKind v);
const char* Name(OperatorKind v);
const char* Name(EigenSolverKind v);
const char* Name(LossKind v);
const char* Name(Sampling v);
const char* Name(OutputVectors v);
const char* Name(LrSchedule v);
const char* Name(PairWeights v);
const char* Name(NegativePairing v);
const char* Name(PairPrecision v);
const char* Name(EmbeddingSum v);
const char* Name(TheoryConvention v);
// Sets *value from its name, the value of `option`: throws UsageError "unknown --target 'svd'
// (expected mstar, ppmi or pmi)".
void ParseName(const std::string& option, const std::string& text, Mode* value);
void ParseName(const std::string& option, const std::string& text, TargetKind* value);
void ParseName(const std::string& option, const std::string& text, OperatorKind* value);
void ParseName(const std::string& option, const std::string& text, EigenSolverKind* value);
void ParseName(const std::string& option, const std::string& text, LossKind* value);
void ParseName(const std::string& option, const std::string& text, Sampling* value);
void ParseName(const std::string& option, const std::string& text, OutputVectors* value);
void ParseName(const std::string& option, const std::string& text, LrSchedule* value);
void ParseName(const std::string& option, const std::string& text, PairWeights* value);
void ParseName(const std::string& option, const std::string& text, NegativePairing* value);
void ParseName(const std::string& option, const std::string& text, PairPrecision* value);
void ParseName(const std::string& option, const std::string& text, EmbeddingSum* value);
void ParseName(const std::string& option, const std::string& text, TheoryConvention* value);

struct CorpusOptions {
  std::string path;                     // --corpus: a file, or a directory walked recursively
  global_int_t max_token_bytes = 1000;  // longer tokens are skipped (and counted)
};

struct VocabOptions {
  global_int_t size = 10000;  // V requested (clamped, with a warning, to the words that qualify)
  global_int_t min_count = 1;
  std::string read;  // --read-vocab: the words of this file ("word count" lines) instead of the top V
};

struct CountOptions {
  int window = 16;                                    // L: offset j = 1..L has weight L+1-j
  std::size_t buffer_bytes = std::size_t{512} << 20;  // per-rank budget of the local count buffers
  std::string from;  // --counts-from: the counts (and vocabulary) of an earlier output instead of counting
};

struct TargetOptions {
  TargetKind kind = TargetKind::kMStar;
  double nu = 1.0;  // negative-sampling weight in M*
  OperatorKind op = OperatorKind::kAuto;
  bool full_spectrum = false;  // also every eigenvalue (dense, LAPACK)
  // Hyperwords' baselines (Levy, Goldberg & Dagan 2015), closed form only:
  double cds = 1.0;    // context-distribution smoothing alpha (1: off); see target.hpp
  double shift = 1.0;  // k of shifted PMI/PPMI: PMI - log k (1: no shift)
};

struct EigenOptions {
  int dim = 200;  // d: eigenpairs wanted, and the embedding dimension (also trained W's)
  EigenSolverKind solver = EigenSolverKind::kBlock;
  // Relative residual ||A v - lambda v|| / |lambda| (SLEPc: -eps_tol overrides it). On Gutenberg
  // at V = 10k, d = 200, 1e-5 gives the same 4,433 analogy answers as 1e-8 and W W^T within
  // 6.5e-6; 1e-4 changes one answer, 1e-3 eight (share/bench/eigen_tolerance.sh).
  double tol = 1e-5;
  int block = 0;                  // block solver: columns per block product (16, 32, 48 or 64; 0: BlockWidth)
  int ncv = 0;                    // largest basis (block solver; SLEPc: -eps_ncv); 0: automatic
  global_int_t max_products = 0;  // block solver: column products before giving up (0: 200 ncv)
  double power = 0.5;             // p in W = V diag(max(lambda, 0)^p)
  std::string from;               // --eigen-from: M*'s eigenpairs from an earlier output instead of solving
};

// The block solver's width for --eig-block 0: 16 below 64 eigenpairs, else 32. On Gutenberg
// (V = 10k) blocks of 32 took 2.9k products for d = 200 (3.5 s) against 2.3k for 16 (3.8 s: the
// kernel is slower per column at 16) and 3.6k for 64; at d = 50, 16 needed 784 products and 32 1.2k.
inline int BlockWidth(const EigenOptions& o) { return o.block > 0 ? o.block : o.dim < 64 ? 16 : 32; }

// Block solver: tolerances from this one up use single-precision Krylov products (the result is
// checked, and refined where needed, in double precision); tighter ones double throughout.
inline constexpr double kSinglePrecisionTol = 1e-5;

struct TrainOptions {
  LossKind loss = LossKind::kQwem;
  Sampling sampling = Sampling::kPairs;
  OutputVectors output_vectors = OutputVectors::kTied;  // the CLI's default: separate with windows
  int context_group = 4;  // windows: contexts sharing one draw of negatives (0: the whole window)
  global_int_t steps = 2000;
  bool steps_auto = false;    // --steps auto: from the theory's horizon (AutoSteps), set after the eigensolve
  global_int_t batch = 4096;  // positive pairs per step, global (windows: corpus positions)
  int negatives = 1;          // per positive (sgns: word2vec uses 5)
  double lr = 0.05;           // eta of the batch-mean gradient (windows: alpha per pair)
  LrSchedule lr_schedule = LrSchedule::kConstant;  // linear: decay to 1e-4 eta (word2vec's)
  global_int_t lr_drop = 0;                        // from this step on, eta times lr_drop_factor (0: never)
  bool lr_drop_auto = false;    // --lr-drop auto: at 0.9 of the theory's horizon (AutoLrDrop), set after the eigensolve
  double lr_drop_factor = 0.1;  // the reference's x0.1
  // Pair sampling's weights and negatives (the CLI's defaults: DefaultWeights, DefaultPairing).
  PairWeights weights = PairWeights::kQwem;
  NegativePairing pairing = NegativePairing::kIid;
  int negative_group = 16;  // --negative-pairing shared: positives of one word sharing their negatives' words
  // Negatives' words drawn from (1 - beta) unigram + beta uniform, importance-weighted so the
  // expected gradient is the same (--negative-smoothing; qwem weights): rare-word negatives then
  // weigh at most 1 / beta^2 times a uniform pair's, not up to 1 / (P_i P_j V^2). 0: the unigram.
  double negative_smoothing = 0;
  PairPrecision precision = PairPrecision::kDouble;
  double init_scale = 1e-4;  // per-entry std of W0
  std::uint64_t seed = 1;    // of the counter-based random streams
  int sync_every = 1;        // 1: exact data-parallel SGD; K > 1: local SGD, averaged every K steps
  double subsample = 0;      // word2vec's subsampling threshold t (0: off): sampled or word2vec weights
  // The records of the run.
  global_int_t log_every = 0;   // 0: about 200 log-spaced records
  int checkpoints = 8;          // log-spaced snapshots of W in /train/checkpoints
  global_int_t eval_every = 0;  // analogy accuracy every this many steps (0: at the checkpoints)
  std::string resume;           // continue from this file's /train/state
  bool theory = true;           // solve M* for the theory curves and overlaps (--no-theory: not)
  // Eigenpairs for the coupled theory (theory.hpp; --theory-modes), at least d (-1: the larger of
  // 2 d and d + 50): modes beyond d compete with the top d for W's directions.
  int theory_modes = -1;
  TheoryConvention convention = TheoryConvention::kQwem;

  // The standard deviation of W0's entries at embedding dimension d.
  double EntryStd(int d) const;
};

// An evaluation file: a path the user named, or one of the copies bundled in share/ (which may
// be absent when the binary has moved: then skipped with a warning).
struct EvalFile {
  std::string path;
  bool bundled = false;
};

struct EvalOptions {
  std::optional<EvalFile> analogies = EvalFile{QWEM_SHARE_DIR "/questions-words.txt", true};
  std::vector<EvalFile> similarity = {{QWEM_SHARE_DIR "/EN-WS-353-ALL.txt", true},
                                      {QWEM_SHARE_DIR "/EN-SIMLEX-999.txt", true}};
  int concepts = 10;      // eigenvectors to explain
  int concept_words = 8;  // words shown at each end
};

struct OutputOptions {
  std::string path = "qwem.h5";  // --out: written as PATH.partial, renamed when complete
  bool save_cooccurrence = false;
  std::string save_vocab;                      // also the vocabulary as "word count" lines (word2vec's format)
  EmbeddingSum embeddings = EmbeddingSum::kW;  // w+c: W + C (hyperwords' w+c), separate vectors only
  std::string export_w2v;                      // also the embeddings in word2vec format (binary if .bin)
  std::string checkpoint;                      // where a signal writes the checkpoint (default: OUT as .ckpt.h5)
  double progress_seconds = 10;                // progress lines in long phases (0: off)
};

struct Options {
  Mode mode = Mode::kClosed;
  bool counts_only = false;  // stop after the counts
  CorpusOptions corpus;
  VocabOptions vocab;
  CountOptions count;
  TargetOptions target;
  EigenOptions eigen;
  TrainOptions train;
  EvalOptions eval;
  OutputOptions output;
  std::string command_line;        // argv joined, for provenance
  std::vector<std::string> given;  // the long options on the command line, without dashes ("window")

  bool Given(const std::string& name) const;

  bool training() const { return mode != Mode::kClosed; }
  // Whether the run needs eigenpairs: closed form, and training with its theory curves.
  bool eigenpairs() const { return !counts_only && (!training() || train.theory); }
  // Not collective. The rules of single values and between options; throws UsageError naming
  // the option(s).
  void Check() const;
  // Not collective (rank 0 calls it, before the corpus is read; the result is agreed). The files
  // of the run: the HDF5 inputs exist and are readable, every output's folder takes new files,
  // and no output would overwrite an input (the corpus_files among them) or another output, by
  // device and inode where the file exists (a checkpoint may replace the file it resumes
  // from). Throws Error naming the options.
  void CheckFiles(const std::vector<std::string>& corpus_files) const;
  // Not collective. The rules that need the vocabulary size V (known after the vocabulary
  // phase: every rank has it); throws Error.
  void CheckForVocabulary(global_int_t V) const;
  // The eigenpairs to solve for (or load) at vocabulary size V: --dim, and for training with
  // the theory --theory-modes (default max(2 d, d + 50)), below V.
  int EigenpairsWanted(global_int_t V) const;
};

// The checkpoint file a signal writes by default: --out with ".h5" replaced by ".ckpt.h5".
std::string DefaultCheckpointPath(const std::string& out);

// The largest V for which --operator auto considers the explicit dense matrix, and for which
// --full-spectrum is allowed (8 V^2 bytes: 3.2 GB at 20k).
inline constexpr global_int_t kDenseMaxWords = 20000;

}  // namespace qwem
