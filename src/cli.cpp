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
  app.add_flag("--counts-only", o.counts_only, "Stop after the co-occurrence counts (no M*, no eigenpairs)");

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
  return ParseResult::kRun;
}

}  // namespace qwem
