#include "qwem/cli.hpp"

#include <petscsys.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <set>

namespace qwem {

namespace {

// Edit distance, for "did you mean" suggestions.
std::size_t Distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// The long option nearest to `name` (both without dashes), if it is plausibly a typo of it.
std::string Suggestion(const std::string& name, const std::set<std::string>& names) {
  std::string best;
  std::size_t best_distance = 3;  // at most two edits
  for (const std::string& candidate : names) {
    const std::size_t d = Distance(name, candidate);
    if (d < best_distance || (candidate.rfind(name, 0) == 0 && name.size() >= 3 && best.empty())) {
      best = candidate;
      best_distance = std::min(d, best_distance);
    }
  }
  return best.empty() ? "" : "; did you mean --" + best + "?";
}

// CLI11 reads integers with strtoll in base 0: "010" would be 8, "0x10" 16, and a number past
// 2^63 saturates silently. Every value that looks like an integer must be a plain decimal
// number that fits 64 bits.
std::string CheckInteger(const std::string& text) {
  std::size_t digits = text.find_first_not_of("+-");
  if (digits > 1 || digits == std::string::npos) return "";
  const std::string body = text.substr(digits);
  if (body.size() > 1 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X'))
    return "'" + text + "' is not a decimal number";
  if (body.find_first_not_of("0123456789") != std::string::npos) return "";
  if (body.size() > 1 && body[0] == '0') return "'" + text + "': write decimal numbers without leading zeros";
  long long value = 0;
  const char* end = text.data() + text.size();
  const auto [at, error] = std::from_chars(text.data() + (text[0] == '+' ? 1 : 0), end, value);
  if (error != std::errc() || at != end) return "'" + text + "' is out of range (at most 2^63 - 1)";
  return "";
}

// A count of steps (a plain decimal number, at least 0) or "auto" (*is_auto set).
void ParseStepsOrAuto(const std::string& option, const std::string& text, const std::string& what, global_int_t* steps,
                      bool* is_auto) {
  if (text == "auto") {
    *is_auto = true;
    return;
  }
  const std::string bad = CheckInteger(text);
  if (!bad.empty() || text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
    throw UsageError(option + ": " + (bad.empty() ? "'" + text + "' is not " + what + " or auto" : bad));
  *steps = std::stoll(text);
}

// What CLI11 left over must all be PETSc options with their values: "-eps_tol 1e-6",
// "-log_view". Returns true for -h (help).
bool CheckLeftovers(const std::vector<std::string>& rest, const std::set<std::string>& ours) {
  bool after_petsc_option = false;  // the previous word was a PETSc option, which may take one value
  for (const std::string& word : rest) {
    if (word == "-h") return true;
    if (word.rfind("--", 0) == 0) {
      const std::string name = word.substr(2, word.find('=') - 2);
      throw UsageError("unknown option '" + word + "'" + Suggestion(name, ours) + " (see --help)");
    }
    if (word.size() > 1 && word[0] == '-') {
      const std::string name = word.substr(1, word.find('=') - 1);
      if (ours.count(name))
        throw UsageError("'" + word + "' has one dash: qwem-dist's options take two (--" + name +
                         "); one dash is for PETSc/SLEPc options (see --help)");
      after_petsc_option = true;
      continue;
    }
    if (!after_petsc_option)
      throw UsageError("unexpected argument '" + word + "': qwem-dist takes no positional arguments (see --help)");
    after_petsc_option = false;  // the PETSc option's value
  }
  return false;
}

}  // namespace

CommandLine ParseCommandLine(int argc, char** argv) {
  CommandLine cl;
  Options& o = cl.options;
  for (int i = 0; i < argc; ++i) o.command_line += (i ? " " : "") + std::string(argv[i]);

  // Named values are read as text here and parsed into their enums below, once.
  std::string mode = Name(o.mode), target = Name(o.target.kind), op = Name(o.target.op), solver = Name(o.eigen.solver),
              loss = Name(o.train.loss), sampling = Name(o.train.sampling), output_vectors,
              lr_schedule = Name(o.train.lr_schedule);
  std::string analogies = o.eval.analogies->path;
  std::vector<std::string> similarity;
  for (const EvalFile& f : o.eval.similarity) similarity.push_back(f.path);

  CLI::App app{
      "qwem-dist: distributed co-occurrence statistics and closed-form word2vec embeddings.\n"
      "Sample run: mpirun -n 4 qwem-dist --corpus share/corpus --out qwem.h5",
      "qwem-dist"};
  app.set_help_flag("--help", "Print this help and exit (PETSc/SLEPc options such as -log_view also apply)");
  app.allow_extras();  // single-dash options belong to PETSc; the rest is checked below

  app.add_option("--corpus", o.corpus.path,
                 "Corpus file or directory (walked recursively; .gz and WikiExtractor files understood)");
  app.add_option("--counts-from", o.count.from,
                 "Start from the counts and vocabulary of an earlier output written with --save-cooccurrence (no "
                 "--corpus): sweep --target, --ns-weight, --dim without recounting");
  app.add_option("--read-vocab", o.vocab.read,
                 "Use exactly the words of FILE ('word count' lines, word2vec's -save-vocab format) that occur in the "
                 "corpus, instead of the top --vocab-size");
  app.add_option("--save-vocab", o.output.save_vocab,
                 "Also write the vocabulary to FILE as 'word count' lines (word2vec's -read-vocab and gensim read it)");
  app.add_option("--vocab-size", o.vocab.size, "V: keep the V most frequent words")->capture_default_str();
  app.add_option("--min-count", o.vocab.min_count, "Drop words seen fewer times than this")->capture_default_str();
  app.add_option("--window", o.count.window, "L: context length; offset j has weight L+1-j")->capture_default_str();
  app.add_option("--out", o.output.path, "Output HDF5 file (written as FILE.partial, renamed when complete)")
      ->capture_default_str();
  app.add_flag("--save-cooccurrence", o.output.save_cooccurrence, "Also store the counts C as CSR under /cooccurrence");
  global_int_t buffer_mb = static_cast<global_int_t>(o.count.buffer_bytes >> 20);
  app.add_option("--count-buffer-mb", buffer_mb, "Per-rank memory budget of the local count buffers (MiB)")
      ->capture_default_str();
  app.add_option("--max-token-bytes", o.corpus.max_token_bytes, "Longer tokens are skipped and counted")
      ->capture_default_str();

  app.add_option("--target", target, "Matrix to factorize: mstar (QWEM), ppmi or pmi baselines")->capture_default_str();
  app.add_option("--ns-weight", o.target.nu, "nu: negative-sampling weight in M*")->capture_default_str();
  app.add_option("--cds", o.target.cds,
                 "Context-distribution smoothing alpha of the unigram in M*/PPMI/PMI (hyperwords' 0.75; 1: off)")
      ->capture_default_str();
  app.add_option("--shift", o.target.shift, "k of shifted PMI/PPMI: PMI - log k (hyperwords' neg; 1: no shift)")
      ->capture_default_str();
  app.add_option("--operator", op, "auto, sparse (sparse + rank one, never dense) or dense")->capture_default_str();
  app.add_option("--dim", o.eigen.dim, "d: number of top eigenpairs / embedding dimensions")->capture_default_str();
  app.add_option("--eigensolver", solver,
                 "block (block Lanczos on block products; single-precision products for --eig-tol >= 1e-5, checked "
                 "in double), slepc (SLEPc's EPS, Krylov-Schur unless -eps_type says otherwise) or scalapack "
                 "(ScaLAPACK's dense pdsyevr: many eigenpairs, 16 V^2 / P bytes per rank)")
      ->capture_default_str();
  app.add_option("--eig-tol", o.eigen.tol, "Relative residual ||A v - lambda v|| / |lambda| of every eigenpair")
      ->capture_default_str();
  app.add_option("--eig-block", o.eigen.block,
                 "Block solver: columns per block product (16, 32, 48 or 64; 0: 16 below --dim 64, else 32)")
      ->capture_default_str();
  app.add_option("--eig-ncv", o.eigen.ncv,
                 "Largest basis of the eigensolver, converged pairs included (0: automatic; SLEPc: -eps_ncv)")
      ->capture_default_str();
  app.add_option("--eig-max-products", o.eigen.max_products,
                 "Block solver: give up after this many column products (0: 200 times the basis; SLEPc: "
                 "-eps_max_it)")
      ->capture_default_str();
  app.add_option("--eig-power", o.eigen.power, "p: embeddings W = V diag(max(lambda,0)^p)")->capture_default_str();
  CLI::Option* analogies_option =
      app.add_option("--analogies", analogies, "Analogy questions (questions-words.txt format), or none")
          ->capture_default_str();
  CLI::Option* similarity_option =
      app.add_option("--similarity", similarity, "Word-similarity files (w1 w2 score per line), or none")
          ->capture_default_str();
  app.add_option("--export-w2v", o.output.export_w2v,
                 "Also write the embeddings in word2vec format (binary if FILE ends in .bin)");
  std::string embeddings = Name(o.output.embeddings);
  app.add_option("--embeddings", embeddings,
                 "What /embeddings (and --export-w2v) hold after training with separate output vectors: w, or w+c "
                 "(W + C, hyperwords' w+c)")
      ->capture_default_str();
  app.add_option("--concepts", o.eval.concepts, "Top eigenvectors to explain by their extreme words")
      ->capture_default_str();
  app.add_option("--concept-words", o.eval.concept_words, "Words shown at each end of a concept")
      ->capture_default_str();
  app.add_flag("--full-spectrum", o.target.full_spectrum,
               "Also compute every eigenvalue of the target (ScaLAPACK's pdsyevr on the explicit matrix, 8 V^2 / P "
               "bytes per rank)");
  app.add_option("--mode", mode,
                 "closed (eigenpairs of the target), sgd (train W by SGD) or gd (full-batch gradient descent on M*)")
      ->capture_default_str();
  app.add_option("--loss", loss, "sgd loss: qwem (reweighted, expectation = factorization of M*) or sgns (word2vec)")
      ->capture_default_str();
  std::string steps = std::to_string(o.train.steps);
  app.add_option("--steps", steps,
                 "Training steps, or auto: until the theory has every one of the top --dim modes at 0.9 of its "
                 "eigenvalue (x1.25; gd and pair sampling)")
      ->capture_default_str();
  app.add_option("--sampling", sampling,
                 "sgd samples: pairs (drawn from P_ij; W independent of the rank count) or windows (sgns only: "
                 "word2vec's shrunk windows streamed from each rank's shard, negatives shared per window)")
      ->capture_default_str();
  CLI::Option* output_vectors_option =
      app.add_option("--output-vectors", output_vectors,
                     "sgd output vectors: tied (one W: scores w_i . w_j, the theory's model) or separate (word2vec's "
                     "context vectors, zero at the start; --sampling windows only). Default: separate with windows, "
                     "else tied");
  app.add_option("--context-group", o.train.context_group,
                 "--sampling windows: contexts of a window that share one draw of negatives (1: word2vec's "
                 "per-pair negatives; 0: the whole window, as pWord2Vec)")
      ->capture_default_str();
  app.add_option("--batch", o.train.batch,
                 "Positive pairs per step (global, whatever the rank count); --sampling windows: corpus positions per "
                 "step (global), after which the ranks' changes are summed")
      ->capture_default_str();
  app.add_option("--negatives", o.train.negatives, "Negative pairs per positive")->capture_default_str();
  app.add_option("--lr", o.train.lr,
                 "Learning rate eta of the batch-mean gradient; --sampling windows: alpha per pair (word2vec's 0.025)")
      ->capture_default_str();
  app.add_option("--lr-schedule", lr_schedule, "constant, or linear decay to 1e-4 eta (word2vec)")
      ->capture_default_str();
  app.add_option("--negative-smoothing", o.train.negative_smoothing,
                 "Pair sampling with --weights qwem: draw the negatives' words from (1 - beta) unigram + beta "
                 "uniform, importance-weighted (the same expected gradient, less variance from rare words). 0: the "
                 "unigram")
      ->capture_default_str();
  std::string lr_drop = std::to_string(o.train.lr_drop);
  app.add_option("--lr-drop", lr_drop,
                 "From this step on, the learning rate times --lr-drop-factor (the reference's x0.1 at 3M; 0: never), "
                 "or auto: at 0.9 of the tau of --steps auto (the noise settles once the theory's top --dim modes "
                 "have switched on)")
      ->capture_default_str();
  app.add_option("--lr-drop-factor", o.train.lr_drop_factor, "The factor of --lr-drop")->capture_default_str();
  std::string weights, pairing, precision = Name(o.train.precision);
  CLI::Option* weights_option = app.add_option(
      "--weights", weights,
      "Pair sampling's weights: qwem (the paper's setting 3.1, q_ij = c / (P_ij + nu P_i P_j)), word2vec "
      "(subsampling and unigram^0.75 negatives as importance weights) or sampled (word2vec's by sampling). "
      "Default: qwem for --loss qwem, sampled for --loss sgns");
  CLI::Option* pairing_option =
      app.add_option("--negative-pairing", pairing,
                     "Pair sampling's negatives: iid (i and j from the unigram), target (i the positive's word, the "
                     "reference's) or shared (target's, with the drawn words shared by up to --negative-group "
                     "positives of one word: faster, and as exact on any rank count). Default: iid with --weights "
                     "qwem, else target");
  app.add_option("--negative-group", o.train.negative_group,
                 "--negative-pairing shared: positives of one word in a step that share their negatives' words")
      ->capture_default_str();
  app.add_option("--pair-precision", precision,
                 "Pair sampling's kernel: double, or single (scores and row sums in float over a float copy of W, "
                 "the pair kernel's carried into double every 32 entries of a row; W and its steps stay double). Both "
                 "give the same W on any rank count")
      ->capture_default_str();
  app.add_option("--init-scale", o.train.init_scale,
                 "Standard deviation of the entries of W0 (--theory-convention reference: times 1/sqrt(d))")
      ->capture_default_str();
  app.add_option("--theory-modes", o.train.theory_modes,
                 "Eigenpairs of M* for the coupled theory, at least --dim (modes beyond d compete with the top d "
                 "for W's directions). Default: the larger of 2 d and d + 50 (at most V - 1)");
  std::string convention = Name(o.train.convention);
  app.add_option("--theory-convention", convention,
                 "qwem (W0 entries of std --init-scale, a_0 of each mode its own projection) or reference (the "
                 "paper's code: entries of std init-scale/sqrt(d), a_0 = init-scale^2 for every mode)")
      ->capture_default_str();
  global_int_t seed = static_cast<global_int_t>(o.train.seed);
  app.add_option("--seed", seed, "Seed of the counter-based random streams")->capture_default_str();
  app.add_option("--sync-every", o.train.sync_every,
                 "1: exact data-parallel SGD; K > 1: local SGD averaged every K steps")
      ->capture_default_str();
  app.add_option("--subsample", o.train.subsample,
                 "word2vec's subsampling threshold t (0: off): --loss sgns's discarding, or --weights word2vec")
      ->capture_default_str();
  app.add_option("--log-every", o.train.log_every,
                 "Record loss and spectrum every this many steps (0: ~200 log-spaced)")
      ->capture_default_str();
  app.add_option("--checkpoints", o.train.checkpoints, "Log-spaced snapshots of W kept in /train/checkpoints")
      ->capture_default_str();
  app.add_option("--eval-every", o.train.eval_every, "Analogy accuracy every this many steps (0: at the checkpoints)")
      ->capture_default_str();
  app.add_option("--resume", o.train.resume, "Continue training from FILE's last checkpoint (same settings required)");
  app.add_option("--checkpoint", o.output.checkpoint,
                 "File a SIGTERM/SIGUSR1 checkpoint is written to (default: OUT with .h5 replaced by .ckpt.h5)");
  app.add_option("--eigen-from", o.eigen.from,
                 "Read the eigenpairs from an earlier output instead of solving (same vocabulary, window and target)");
  bool no_theory = false;
  app.add_flag("--no-theory", no_theory,
               "Training without M*'s eigenpairs: no eigensolve, no theory curves or overlaps (word2vec runs)");
  app.add_option("--progress-seconds", o.output.progress_seconds,
                 "A progress line at least this often during the eigensolve and training (0: off)")
      ->capture_default_str();
  app.add_flag("--counts-only", o.counts_only, "Stop after the co-occurrence counts (no M*, no eigenpairs)");

  // A single-valued option given twice takes the last value, as in most Unix tools: batch
  // scripts put defaults first and let the submission's arguments override them.
  std::set<std::string> ours;
  const CLI::Validator integers(CheckInteger, "", "integer");
  for (CLI::Option* option : app.get_options()) {
    if (option->get_expected_max() == 1) option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    // Integer options are those whose default is an integer.
    const std::string default_value = option->get_default_str();
    if (!default_value.empty() && default_value.find_first_not_of("0123456789") == std::string::npos)
      option->check(integers);
    for (const std::string& name : option->get_lnames()) ours.insert(name);
  }

  try {
    app.parse(argc, argv);
    cl.help = CheckLeftovers(app.remaining(), ours);
  } catch (const CLI::CallForHelp&) {
    cl.help = true;
  } catch (const CLI::ParseError& e) {
    // A misspelled option (or -h) explains a missing --corpus better than CLI11's message does.
    cl.help = CheckLeftovers(app.remaining(), ours);
    if (!cl.help) throw UsageError(std::string(e.what()) + " (see --help)");
  }
  if (cl.help) {
    cl.usage = app.help();
    return cl;
  }

  ParseName("--mode", mode, &o.mode);
  ParseName("--target", target, &o.target.kind);
  ParseName("--operator", op, &o.target.op);
  ParseName("--eigensolver", solver, &o.eigen.solver);
  ParseName("--loss", loss, &o.train.loss);
  ParseName("--sampling", sampling, &o.train.sampling);
  ParseName("--lr-schedule", lr_schedule, &o.train.lr_schedule);
  ParseName("--embeddings", embeddings, &o.output.embeddings);
  ParseName("--theory-convention", convention, &o.train.convention);
  if (weights_option->count() > 0)
    ParseName("--weights", weights, &o.train.weights);
  else
    o.train.weights = DefaultWeights(o.train.loss);
  if (pairing_option->count() > 0)
    ParseName("--negative-pairing", pairing, &o.train.pairing);
  else
    o.train.pairing = DefaultPairing(o.train.weights);
  ParseName("--pair-precision", precision, &o.train.precision);
  ParseStepsOrAuto("--lr-drop", lr_drop, "a step", &o.train.lr_drop, &o.train.lr_drop_auto);
  ParseStepsOrAuto("--steps", steps, "a number of steps", &o.train.steps, &o.train.steps_auto);
  o.train.theory = !no_theory;
  for (CLI::Option* option : app.get_options())
    if (option->count() > 0)
      for (const std::string& name : option->get_lnames()) o.given.push_back(name);
  if (output_vectors_option->count() > 0)
    ParseName("--output-vectors", output_vectors, &o.train.output_vectors);
  else
    o.train.output_vectors = o.train.sampling == Sampling::kWindows ? OutputVectors::kSeparate : OutputVectors::kTied;
  if (seed < 0) throw UsageError("--seed must be non-negative");
  if (buffer_mb < 1 || buffer_mb > (global_int_t{1} << 30)) throw UsageError("--count-buffer-mb must be at least 1");
  o.count.buffer_bytes = static_cast<std::size_t>(buffer_mb) << 20;
  o.train.seed = static_cast<std::uint64_t>(seed);
  if (analogies_option->count() > 0)
    o.eval.analogies = analogies == "none" ? std::nullopt : std::optional<EvalFile>(EvalFile{analogies, false});
  if (similarity_option->count() > 0) {
    o.eval.similarity.clear();
    if (!(similarity.size() == 1 && similarity[0] == "none"))
      for (const std::string& path : similarity) o.eval.similarity.push_back({path, false});
  }
  if (o.output.checkpoint.empty()) o.output.checkpoint = DefaultCheckpointPath(o.output.path);
  o.Check();
  return cl;
}

void WarnUnusedPetscOptions(int rank) {
  PetscInt n = 0;
  char** names = nullptr;
  char** values = nullptr;
  if (PetscOptionsLeftGet(nullptr, &n, &names, &values) != 0) return;
  for (PetscInt i = 0; i < n && rank == 0; ++i) {
    // PETSc also files qwem-dist's own --options (as "-name"): those are not PETSc's.
    const std::string name = names[i];
    if (name.rfind("-", 0) == 0) continue;
    std::fprintf(stderr, "qwem-dist: warning: PETSc option -%s%s%s was not used (misspelled, or not for this run?)\n",
                 names[i], values[i] ? " " : "", values[i] ? values[i] : "");
  }
  std::fflush(stderr);
  PetscOptionsLeftRestore(nullptr, &n, &names, &values);
}

}  // namespace qwem
