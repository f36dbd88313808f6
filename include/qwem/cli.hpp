// Command-line options of qwem-dist. Application options are parsed here (CLI11); anything
// starting with a single dash that is not ours (-log_view, -eps_*) is left to PETSc/SLEPc's
// options database, which sees the full argv.
#pragma once

#include <string>
#include <vector>

#include "qwem/common.hpp"

namespace qwem {

struct Options {
  std::string corpus;
  global_int_t vocab_size = 10000;
  global_int_t min_count = 1;
  int window = 16;
  std::string out = "qwem.h5";
  bool save_cooccurrence = false;
  global_int_t count_buffer_mb = 512;
  global_int_t max_token_bytes = 1000;
  // Closed form (SCIENCE.md sections 2-3).
  std::string target = "mstar";     // mstar | ppmi | pmi
  double ns_weight = 1.0;           // nu
  std::string op = "auto";          // auto | sparse | dense
  int dim = 200;                    // d
  double eig_power = 0.5;           // p in W = V diag(max(lambda, 0)^p)
  bool counts_only = false;         // stop after the counts
  bool full_spectrum = false;       // also every eigenvalue (dense, LAPACK), for plots
  // Evaluation (SCIENCE.md section 6). Defaults are the copies bundled in share/; "none" skips.
  std::string analogies = QWEM_SHARE_DIR "/questions-words.txt";
  std::vector<std::string> similarity = {QWEM_SHARE_DIR "/EN-WS-353-ALL.txt", QWEM_SHARE_DIR "/EN-SIMLEX-999.txt"};
  std::string export_w2v;           // word2vec text (or .bin) export of the embeddings
  int concepts = 10;                // eigenvectors to explain
  int concept_words = 8;            // words per end
  // Learning dynamics (SCIENCE.md section 4): closed | sgd | gd.
  std::string mode = "closed";
  std::string loss = "qwem";        // sgd: qwem | sgns
  std::string output_vectors;       // sgd: tied | separate (word2vec's); empty: separate for windows, else tied
  std::string sampling = "pairs";   // sgd: pairs (from P_ij, exact data-parallel) | windows (sgns, word2vec's stream)
  int context_group = 4;            // sgd windows: contexts sharing one draw of negatives (0: the whole window)
  global_int_t steps = 2000;
  global_int_t batch = 4096;        // positive pairs per step, global
  int negatives = 1;                // per positive (sgns: word2vec uses 5)
  double lr = 0.05;                 // eta
  std::string lr_schedule = "constant";  // constant | linear
  double init_scale = 1e-4;         // per-entry std of W0
  global_int_t seed = 1;
  int sync_every = 1;               // 1: exact data-parallel SGD; K: local SGD, replicas averaged every K steps
  double subsample = 0;             // sgns: word2vec's sample threshold (0: off)
  global_int_t log_every = 0;       // 0: about 200 log-spaced records
  int checkpoints = 8;              // log-spaced snapshots of W kept in /train/checkpoints
  global_int_t eval_every = 0;      // analogy accuracy every this many steps (0: at the checkpoints)
  std::string resume;               // continue from this file's /train/state
  std::string checkpoint;           // where a signal writes the checkpoint (default: OUT with .ckpt.h5)
  std::string eigen_from;           // load M*'s eigenpairs from an earlier output instead of solving
  double progress_seconds = 10;     // periodic progress lines in long phases (eigensolve, train)
  std::string command_line;  // argv joined, for provenance
};

enum class ParseResult { kRun, kHelp };

// Not collective (every rank parses the same argv and so reaches the same result). Throws
// qwem::Error with a one-line message for unknown values, non-numeric or out-of-range numbers.
// On --help, `help` receives the usage text.
ParseResult ParseOptions(int argc, char** argv, Options& options, std::string& help);

}  // namespace qwem
