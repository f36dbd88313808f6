#include "qwem/cli.hpp"

#include <CLI/CLI.hpp>

#include <cmath>

namespace qwem {

ParseResult ParseOptions(int argc, char** argv, Options& o, std::string& help) {
  for (int i = 0; i < argc; ++i) o.command_line += (i ? " " : "") + std::string(argv[i]);

  CLI::App app{"qwem-dist: distributed co-occurrence statistics and closed-form word2vec embeddings.\n"
               "Sample run: mpirun -n 4 qwem-dist --corpus share/corpus --out qwem.h5",
               "qwem-dist"};
  app.set_help_flag("--help", "Print this help and exit (PETSc/SLEPc options such as -log_view also apply)");
  app.allow_extras();  // single-dash options belong to PETSc
  app.add_option("--corpus", o.corpus, "Corpus file or directory (walked recursively; .gz and WikiExtractor files understood)")
      ->required();
  app.add_option("--vocab-size", o.vocab_size, "V: keep the V most frequent words")->capture_default_str();
  app.add_option("--min-count", o.min_count, "Drop words seen fewer times than this")->capture_default_str();
  app.add_option("--window", o.window, "L: context length; offset j has weight L+1-j")->capture_default_str();
  app.add_option("--out", o.out, "Output HDF5 file (written as FILE.partial, renamed when complete)")
      ->capture_default_str();
  app.add_flag("--save-cooccurrence", o.save_cooccurrence, "Also store the counts C as CSR under /cooccurrence");
  app.add_option("--count-buffer-mb", o.count_buffer_mb, "Per-rank memory budget of the local count buffers (MiB)")
      ->capture_default_str();
  app.add_option("--max-token-bytes", o.max_token_bytes, "Longer tokens are skipped and counted")
      ->capture_default_str();

  app.add_option("--target", o.target, "Matrix to factorize: mstar (QWEM), ppmi or pmi baselines")->capture_default_str();
  app.add_option("--ns-weight", o.ns_weight, "nu: negative-sampling weight in M*")->capture_default_str();
  app.add_option("--operator", o.op, "auto, sparse (sparse + rank one, never dense) or dense")->capture_default_str();
  app.add_option("--dim", o.dim, "d: number of top eigenpairs / embedding dimensions")->capture_default_str();
  app.add_option("--eig-power", o.eig_power, "p: embeddings W = V diag(max(lambda,0)^p)")->capture_default_str();
  app.add_option("--analogies", o.analogies, "Analogy questions (questions-words.txt format), or none")
      ->capture_default_str();
  app.add_option("--similarity", o.similarity, "Word-similarity files (w1 w2 score per line), or none")
      ->capture_default_str();
  app.add_option("--export-w2v", o.export_w2v, "Also write the embeddings in word2vec format (binary if FILE ends in .bin)");
  app.add_option("--concepts", o.concepts, "Top eigenvectors to explain by their extreme words")->capture_default_str();
  app.add_option("--concept-words", o.concept_words, "Words shown at each end of a concept")->capture_default_str();
  app.add_flag("--full-spectrum", o.full_spectrum,
               "Also compute every eigenvalue of the target (explicit dense matrix, LAPACK on every rank; V <= 20000)");
  app.add_option("--mode", o.mode,
                 "closed (eigenpairs of the target), sgd (train W by SGD) or gd (full-batch gradient descent on M*)")
      ->capture_default_str();
  app.add_option("--loss", o.loss, "sgd loss: qwem (reweighted, expectation = factorization of M*) or sgns (word2vec)")
      ->capture_default_str();
  app.add_option("--steps", o.steps, "Training steps")->capture_default_str();
  app.add_option("--sampling", o.sampling,
                 "sgd samples: pairs (drawn from P_ij; W independent of the rank count) or windows (sgns only: "
                 "word2vec's shrunk windows streamed from each rank's shard, negatives shared per window)")
      ->capture_default_str();
  app.add_option("--output-vectors", o.output_vectors,
                 "sgd output vectors: tied (one W: scores w_i . w_j, the theory's model) or separate (word2vec's "
                 "context vectors, zero at the start; --sampling windows only). Default: separate with windows, "
                 "else tied");
  app.add_option("--context-group", o.context_group,
                 "--sampling windows: contexts of a window that share one draw of negatives (1: word2vec's "
                 "per-pair negatives; 0: the whole window, as pWord2Vec)")
      ->capture_default_str();
  app.add_option("--batch", o.batch,
                 "Positive pairs per step (global, whatever the rank count); --sampling windows: corpus positions per "
                 "step (global), after which the ranks' changes are summed")
      ->capture_default_str();
  app.add_option("--negatives", o.negatives, "Negative pairs per positive")->capture_default_str();
  app.add_option("--lr", o.lr,
                 "Learning rate eta of the batch-mean gradient; --sampling windows: alpha per pair (word2vec's 0.025)")
      ->capture_default_str();
  app.add_option("--lr-schedule", o.lr_schedule, "constant, or linear decay to 1e-4 eta (word2vec)")
      ->capture_default_str();
  app.add_option("--init-scale", o.init_scale, "Standard deviation of the entries of W0")->capture_default_str();
  app.add_option("--seed", o.seed, "Seed of the counter-based random streams")->capture_default_str();
  app.add_option("--sync-every", o.sync_every, "1: exact data-parallel SGD; K > 1: local SGD averaged every K steps")
      ->capture_default_str();
  app.add_option("--subsample", o.subsample, "sgns: word2vec's subsampling threshold t (0: off)")->capture_default_str();
  app.add_option("--log-every", o.log_every, "Record loss and spectrum every this many steps (0: ~200 log-spaced)")
      ->capture_default_str();
  app.add_option("--checkpoints", o.checkpoints, "Log-spaced snapshots of W kept in /train/checkpoints")
      ->capture_default_str();
  app.add_option("--eval-every", o.eval_every, "Analogy accuracy every this many steps (0: at the checkpoints)")
      ->capture_default_str();
  app.add_option("--resume", o.resume, "Continue training from FILE's last checkpoint (same settings required)");
  app.add_option("--checkpoint", o.checkpoint,
                 "File a SIGTERM/SIGUSR1 checkpoint is written to (default: OUT with .h5 replaced by .ckpt.h5)");
  app.add_option("--eigen-from", o.eigen_from, "Read M*'s eigenpairs for the theory curves from an earlier output");
  app.add_option("--progress-seconds", o.progress_seconds,
                 "A progress line at least this often during the eigensolve and training (0: off)")
      ->capture_default_str();
  app.add_flag("--counts-only", o.counts_only, "Stop after the co-occurrence counts (no M*, no eigenpairs)");

  // A single-valued option given twice takes the last value, as in most Unix tools: batch
  // scripts put defaults first and let the submission's arguments override them.
  for (CLI::Option* option : app.get_options())
    if (option->get_expected_max() == 1) option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    help = app.help();
    return ParseResult::kHelp;
  } catch (const CLI::ParseError& e) {
    throw Error(std::string(e.what()) + " (see --help)");
  }
  for (const std::string& extra : app.remaining()) {
    // Double-dash words we do not know are typos, not PETSc options.
    if (extra.rfind("--", 0) == 0) throw Error("unknown option '" + extra + "' (see --help)");
  }
  if (o.vocab_size < 1) throw Error("--vocab-size must be at least 1");
  if (o.min_count < 1) throw Error("--min-count must be at least 1");
  if (o.window < 1) throw Error("--window must be at least 1 (got " + std::to_string(o.window) + ")");
  if (o.window > 10000) throw Error("--window must be at most 10000");
  if (o.count_buffer_mb < 1) throw Error("--count-buffer-mb must be at least 1");
  if (o.max_token_bytes < 1) throw Error("--max-token-bytes must be at least 1");
  if (o.out.empty()) throw Error("--out must name a file");
  if (o.dim < 1) throw Error("--dim must be at least 1");
  if (o.concepts < 0 || o.concept_words < 1) throw Error("--concepts must be >= 0 and --concept-words >= 1");
  if (o.similarity.size() == 1 && o.similarity[0] == "none") o.similarity.clear();
  if (!(o.ns_weight > 0)) throw Error("--ns-weight must be positive");
  if (!std::isfinite(o.eig_power)) throw Error("--eig-power must be a number");
  if (o.mode != "closed" && o.mode != "sgd" && o.mode != "gd")
    throw Error("unknown --mode '" + o.mode + "' (expected closed, sgd or gd)");
  if (o.loss != "qwem" && o.loss != "sgns") throw Error("unknown --loss '" + o.loss + "' (expected qwem or sgns)");
  if (o.sampling != "pairs" && o.sampling != "windows")
    throw Error("unknown --sampling '" + o.sampling + "' (expected pairs or windows)");
  if (o.sampling == "windows" && o.mode == "sgd" && o.loss != "sgns")
    throw Error("--sampling windows trains word2vec's loss: use it with --loss sgns");
  if (o.context_group < 0) throw Error("--context-group must be non-negative");
  if (o.output_vectors.empty()) o.output_vectors = o.sampling == "windows" ? "separate" : "tied";
  if (o.output_vectors != "tied" && o.output_vectors != "separate")
    throw Error("unknown --output-vectors '" + o.output_vectors + "' (expected tied or separate)");
  if (o.output_vectors == "separate" && o.sampling != "windows" && o.mode == "sgd")
    throw Error("--output-vectors separate needs --sampling windows (pair sampling trains one tied W)");
  if (o.lr_schedule != "constant" && o.lr_schedule != "linear")
    throw Error("unknown --lr-schedule '" + o.lr_schedule + "' (expected constant or linear)");
  if (o.steps < 0) throw Error("--steps must be non-negative");
  if (o.batch < 1) throw Error("--batch must be at least 1");
  if (o.negatives < 0) throw Error("--negatives must be non-negative");
  if (!(o.lr > 0) || !std::isfinite(o.lr)) throw Error("--lr must be positive");
  if (!(o.init_scale > 0) || !std::isfinite(o.init_scale)) throw Error("--init-scale must be positive");
  if (o.sync_every < 1) throw Error("--sync-every must be at least 1");
  if (o.subsample < 0) throw Error("--subsample must be non-negative");
  if (o.log_every < 0 || o.eval_every < 0 || o.checkpoints < 1)
    throw Error("--log-every and --eval-every must be >= 0, --checkpoints >= 1");
  if (o.seed < 0) throw Error("--seed must be non-negative");
  if (!(o.progress_seconds >= 0) || !std::isfinite(o.progress_seconds))
    throw Error("--progress-seconds must be non-negative");
  if (o.checkpoint.empty()) {
    const std::string base = o.out.size() > 3 && o.out.compare(o.out.size() - 3, 3, ".h5") == 0
                                 ? o.out.substr(0, o.out.size() - 3)
                                 : o.out;
    o.checkpoint = base + ".ckpt.h5";
  }
  return ParseResult::kRun;
}

}  // namespace qwem
