#include "qwem/output.hpp"

#include <petscsys.h>
#include <slepcsys.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <set>
#include <cstdio>
#include <ctime>

namespace qwem {

std::string MpiVersion() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(text, &len);
  std::string s(text, len);
  return s.substr(0, s.find_first_of(",\n"));
}

std::string PetscVersion() {
  char text[256];
  PetscGetVersion(text, sizeof text);
  return text;
}

std::string SlepcVersion() {
  char text[256];
  SlepcGetVersion(text, sizeof text);
  return text;
}

Placement GatherPlacement(MPI_Comm comm) {
  Placement p;
  p.ranks = CommSize(comm);
  char name[MPI_MAX_PROCESSOR_NAME + 1] = {0};
  int len = 0;
  QWEM_MPI(MPI_Get_processor_name(name, &len));
  std::vector<char> all(static_cast<std::size_t>(p.ranks) * (MPI_MAX_PROCESSOR_NAME + 1));
  QWEM_MPI(MPI_Allgather(name, MPI_MAX_PROCESSOR_NAME + 1, MPI_CHAR, all.data(), MPI_MAX_PROCESSOR_NAME + 1, MPI_CHAR,
                         comm));
  std::set<std::string> seen;
  for (int r = 0; r < p.ranks; ++r) {
    std::string host(&all[static_cast<std::size_t>(r) * (MPI_MAX_PROCESSOR_NAME + 1)]);
    if (seen.insert(host).second) p.nodes.push_back(host);
  }
  if (CommRank(comm) == 0) {
    if (const char* job = std::getenv("SLURM_JOB_ID")) p.slurm_job_id = job;
  }
  BroadcastString(comm, p.slurm_job_id);
  return p;
}

std::string Placement::Describe() const {
  const std::size_t n = nodes.size();
  std::string s = std::to_string(ranks) + (ranks == 1 ? " rank on " : " ranks on ") + std::to_string(n) +
                  (n == 1 ? " node (" : " nodes (");
  for (std::size_t i = 0; i < n; ++i) {
    if (n > 4 && i == 3) {
      s += ", ... " + nodes.back();
      break;
    }
    s += (i ? ", " : "") + nodes[i];
  }
  s += ")";
  if (!slurm_job_id.empty()) s += ", SLURM job " + slurm_job_id;
  return s;
}

void WriteMeta(h5::OutputFile& out, MPI_Comm comm, const Options& o, global_int_t vocab_size,
               const Placement& placement) {
  // Rank 0's clock and host name, broadcast, so every rank writes the same attribute values.
  std::string stamp, host;
  if (CommRank(comm) == 0) {
    char buf[64];
    const std::time_t now = std::time(nullptr);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    stamp = buf;
    char name[256] = {0};
    gethostname(name, sizeof name - 1);
    host = name;
  }
  BroadcastString(comm, stamp);
  BroadcastString(comm, host);
  out.Attribute("/meta", "version", std::string(QWEM_VERSION));
  out.Attribute("/meta", "command_line", o.command_line);
  out.Attribute("/meta", "ranks", static_cast<global_int_t>(CommSize(comm)));
  out.Attribute("/meta", "nodes", static_cast<global_int_t>(placement.nodes.size()));
  std::string names;
  for (const auto& node : placement.nodes) names += (names.empty() ? "" : " ") + node;
  out.Attribute("/meta", "node_names", names);
  out.Attribute("/meta", "slurm_job_id", placement.slurm_job_id);
  out.Attribute("/meta", "vocab_size", vocab_size);
  out.Attribute("/meta", "vocab_size_requested", o.vocab_size);
  out.Attribute("/meta", "min_count", o.min_count);
  out.Attribute("/meta", "window", static_cast<global_int_t>(o.window));
  out.Attribute("/meta", "window_weighting",
                std::string("C[w_t, w_t+j] += L+1-j and C[w_t+j, w_t] += L+1-j for j = 1..L within a document, "
                            "OOV tokens removed before windowing; N += 2 per pair"));
  out.Attribute("/meta", "timestamp", stamp);
  out.Attribute("/meta", "host_rank0", host);
  out.Attribute("/meta", "mpi_version", MpiVersion());
  out.Attribute("/meta", "petsc_version", PetscVersion());
  out.Attribute("/meta", "slepc_version", SlepcVersion());
  out.Attribute("/meta", "hdf5_version", h5::LibraryVersion());
}

void WriteCorpus(h5::OutputFile& out, const CorpusPlan& plan, const Vocabulary& vocab, const CooccurrenceRows& rows,
                 global_int_t n_overlong_tokens) {
  out.Attribute("/corpus", "n_files", static_cast<global_int_t>(plan.files.size()));
  out.Attribute("/corpus", "plain_bytes", plan.plain_bytes);
  out.Attribute("/corpus", "gzip_bytes", plan.gzip_bytes);
  out.Attribute("/corpus", "n_total_tokens", vocab.n_total_tokens);
  out.Attribute("/corpus", "n_distinct_words", vocab.n_distinct_words);
  out.Attribute("/corpus", "n_in_vocab_tokens", vocab.n_in_vocab_tokens);
  out.Attribute("/corpus", "coverage", vocab.coverage());
  out.Attribute("/corpus", "n_pairs", rows.n_pairs);
  out.Attribute("/corpus", "nnz", rows.nnz);
  out.Attribute("/corpus", "n_overlong_tokens_skipped", n_overlong_tokens);
  std::vector<std::string> paths;
  std::vector<global_int_t> sizes;
  for (const auto& f : plan.files) {
    paths.push_back(f.path);
    sizes.push_back(f.bytes);
  }
  out.WriteStrings("/corpus/files", paths);
  out.WriteReplicated("/corpus/file_bytes", sizes);
}

void WriteVocabulary(h5::OutputFile& out, const Vocabulary& vocab) {
  out.WriteStrings("/vocab/words", vocab.words);
  out.WriteReplicated("/vocab/counts", vocab.counts);
}

void WriteCooccurrence(h5::OutputFile& out, MPI_Comm comm, const CooccurrenceRows& rows) {
  const int rank = CommRank(comm), size = CommSize(comm);
  global_int_t nnz_offset = 0;
  const global_int_t local_nnz = rows.n_local_nnz();
  QWEM_MPI(MPI_Exscan(&local_nnz, &nnz_offset, 1, MPI_INT64_T, MPI_SUM, comm));
  if (rank == 0) nnz_offset = 0;
  // indptr has V+1 entries: each rank writes its rows' starts; the last rank also the end.
  const bool last = rank == size - 1;
  std::vector<global_int_t> indptr(rows.row_ptr.begin(), rows.row_ptr.end() - (last ? 0 : 1));
  for (auto& p : indptr) p += nnz_offset;
  out.WriteDistributed("/cooccurrence/indptr", indptr.data(), static_cast<global_int_t>(indptr.size()), rows.row_begin,
                       rows.n_words + 1);
  out.WriteDistributed("/cooccurrence/indices", rows.cols.data(), local_nnz, nnz_offset, rows.nnz);
  out.WriteDistributed("/cooccurrence/data", rows.values.data(), local_nnz, nnz_offset, rows.nnz);
  out.Attribute("/cooccurrence", "n_rows", rows.n_words);
  out.Attribute("/cooccurrence", "n_pairs", rows.n_pairs);
  out.Attribute("/cooccurrence", "format", std::string("CSR (scipy.sparse.csr_matrix((data, indices, indptr)))"));
}

void WriteTimings(h5::OutputFile& out, const Progress& progress) {
  std::vector<std::string> names;
  std::vector<double> seconds;
  std::vector<global_int_t> rss;
  for (const auto& p : progress.phases()) {
    names.push_back(p.name);
    seconds.push_back(p.seconds);
    rss.push_back(p.peak_rss_max);
  }
  out.WriteStrings("/timings/phase", names);
  out.WriteReplicated("/timings/seconds", seconds);
  out.WriteReplicated("/timings/peak_rss_bytes_max", rss);
}

}  // namespace qwem

namespace qwem {

void WriteSpectrum(h5::OutputFile& out, const EigenResult& eig, const std::vector<double>& embeddings,
                   global_int_t n_words, const Options& o, const OperatorChoice& choice) {
  const global_int_t d = eig.dim(), rows = eig.row_end - eig.row_begin;
  if (o.mode == "closed") {
    out.WriteDistributed("/embeddings", embeddings.data(), rows, eig.row_begin, n_words, d);
    out.Attribute("/embeddings", "eig_power", o.eig_power);
    out.Attribute("/embeddings", "formula", std::string("W = [v_1 .. v_d] diag(max(lambda_k, 0)^eig_power)"));
  }
  out.WriteDistributed("/spectrum/eigenvectors", eig.vectors.data(), rows, eig.row_begin, n_words, d);
  out.WriteReplicated("/spectrum/eigenvalues", eig.eigenvalues);
  out.WriteReplicated("/spectrum/residuals", eig.residuals);
  out.Attribute("/spectrum", "target", o.target);
  out.Attribute("/spectrum", "ns_weight", o.ns_weight);
  out.Attribute("/spectrum", "operator_requested", ToString(choice.requested));
  out.Attribute("/spectrum", "operator", ToString(choice.chosen));
  out.Attribute("/spectrum", "operator_sparse_seconds", choice.sparse_seconds);
  out.Attribute("/spectrum", "operator_dense_seconds", choice.dense_seconds);
  out.Attribute("/spectrum", "solver", eig.solver);
  out.Attribute("/spectrum", "tol", eig.tol);
  out.Attribute("/spectrum", "ncv", static_cast<global_int_t>(eig.ncv));
  out.Attribute("/spectrum", "n_converged", static_cast<global_int_t>(eig.n_converged));
  out.Attribute("/spectrum", "n_restarts", static_cast<global_int_t>(eig.n_restarts));
  out.Attribute("/spectrum", "n_matvecs", static_cast<global_int_t>(eig.n_matvecs));
  out.Attribute("/spectrum", "sign_convention", std::string("largest-magnitude entry of each eigenvector positive"));
}

}  // namespace qwem

namespace qwem {

void WriteEvaluation(h5::OutputFile& out, const AnalogyReport* a, const std::vector<SimilarityReport>& similarity,
                     const std::vector<Concept>& concepts, const Vocabulary& vocab, const EigenResult& eig) {
  if (a) {
    for (int pair = 0; pair < 2; ++pair) {
      const std::string g = pair ? "/eval/analogy_pairs" : "/eval/analogy_standard";
      out.Attribute(g, "protocol", std::string(pair ? "paper's pair protocol: per section, every ordered pair of distinct "
                                                      "in-vocabulary word pairs; 3CosAdd, unit rows, query words excluded"
                                                    : "Mikolov et al. 2013: 3CosAdd on unit rows, query words excluded, "
                                                      "questions with all four words in vocabulary"));
      for (int sem = -1; sem <= 1; ++sem) {
        const std::string tag = sem < 0 ? "overall" : sem ? "semantic" : "syntactic";
        out.Attribute(g, tag + "_accuracy", a->accuracy(pair, sem));
        out.Attribute(g, tag + "_correct", a->correct(pair, sem));
        out.Attribute(g, tag + "_total", a->total(pair, sem));
      }
    }
    std::vector<std::string> names;
    std::vector<global_int_t> correct, total, questions, pcorrect, ptotal;
    for (const auto& sec : a->sections) {
      names.push_back(sec.name);
      correct.push_back(sec.correct);
      total.push_back(sec.total);
      questions.push_back(sec.n_questions);
      pcorrect.push_back(sec.pair_correct);
      ptotal.push_back(sec.pair_total);
    }
    out.WriteStrings("/eval/sections/name", names);
    out.WriteReplicated("/eval/sections/n_questions", questions);
    out.WriteReplicated("/eval/sections/standard_correct", correct);
    out.WriteReplicated("/eval/sections/standard_total", total);
    out.WriteReplicated("/eval/sections/pairs_correct", pcorrect);
    out.WriteReplicated("/eval/sections/pairs_total", ptotal);
  }
  for (const auto& r : similarity) {
    const std::string g = "/eval/similarity/" + r.name;
    out.Attribute(g, "spearman", r.spearman);
    out.Attribute(g, "n_pairs", r.n_pairs);
    out.Attribute(g, "n_covered", r.n_covered);
  }
  if (!concepts.empty()) {
    const std::size_t m = concepts[0].top.size();
    std::vector<std::int32_t> top, bottom;
    std::vector<std::string> top_words, bottom_words;
    std::vector<double> lambda;
    for (std::size_t c = 0; c < concepts.size(); ++c) {
      lambda.push_back(eig.eigenvalues[c]);
      for (std::size_t i = 0; i < m; ++i) {
        const word_id_t t = i < concepts[c].top.size() ? concepts[c].top[i] : -1;
        const word_id_t b = i < concepts[c].bottom.size() ? concepts[c].bottom[i] : -1;
        top.push_back(t);
        bottom.push_back(b);
        top_words.push_back(t >= 0 ? vocab.words[t] : "");
        bottom_words.push_back(b >= 0 ? vocab.words[b] : "");
      }
    }
    const auto k = static_cast<global_int_t>(concepts.size());
    const bool root = out.rank() == 0;
    out.WriteDistributed("/concepts/top_ids", root ? top.data() : nullptr, root ? k : 0, 0, k, static_cast<global_int_t>(m));
    out.WriteDistributed("/concepts/bottom_ids", root ? bottom.data() : nullptr, root ? k : 0, 0, k,
                         static_cast<global_int_t>(m));
    out.WriteStrings("/concepts/top_words", top_words);
    out.WriteStrings("/concepts/bottom_words", bottom_words);
    out.WriteReplicated("/concepts/eigenvalues", lambda);
    out.Attribute("/concepts", "layout", std::string("row c: eigenvector c; top/bottom_words flattened row-major, " +
                                                     std::to_string(m) + " words per row"));
  }
}

}  // namespace qwem

namespace qwem {

void ExportWord2Vec(MPI_Comm comm, const std::string& path, const Vocabulary& vocab, const EigenResult& eig,
                    const std::vector<double>& embeddings) {
  const int rank = CommRank(comm), size = CommSize(comm);
  const int d = eig.dim();
  const bool binary = path.size() >= 4 && path.compare(path.size() - 4, 4, ".bin") == 0;
  const std::string partial = path + ".partial";
  std::FILE* f = nullptr;
  bool ok = true;
  if (rank == 0) {
    f = std::fopen(partial.c_str(), "wb");
    ok = f != nullptr;
  }
  AgreeOrThrow(comm, ok, "cannot create '" + partial + "'");
  // Rank r's rows [ranges[r], ranges[r+1]) in rank order.
  std::vector<global_int_t> begins(size);
  const global_int_t mine = eig.row_begin;
  QWEM_MPI(MPI_Allgather(&mine, 1, MPI_INT64_T, begins.data(), 1, MPI_INT64_T, comm));
  if (rank == 0) {
    std::fprintf(f, "%lld %d\n", static_cast<long long>(vocab.size()), d);
    std::vector<double> rows;
    std::vector<float> buf(d);
    for (int r = 0; r < size; ++r) {
      const global_int_t b = begins[r], e = r + 1 < size ? begins[r + 1] : vocab.size();
      if (r == 0) {
        rows.assign(embeddings.begin(), embeddings.end());
      } else {
        rows.resize(static_cast<std::size_t>(e - b) * d);
        QWEM_MPI(MPI_Recv(rows.data(), static_cast<int>(rows.size()), MPI_DOUBLE, r, 31, comm, MPI_STATUS_IGNORE));
      }
      for (global_int_t i = b; i < e; ++i) {
        const double* x = rows.data() + static_cast<std::size_t>(i - b) * d;
        std::fputs(vocab.words[i].c_str(), f);
        std::fputc(' ', f);
        if (binary) {
          for (int k = 0; k < d; ++k) buf[k] = static_cast<float>(x[k]);
          std::fwrite(buf.data(), sizeof(float), d, f);
          std::fputc('\n', f);
        } else {
          for (int k = 0; k < d; ++k) std::fprintf(f, k + 1 < d ? "%.8g " : "%.8g\n", x[k]);
        }
      }
    }
    ok = std::fclose(f) == 0 && std::rename(partial.c_str(), path.c_str()) == 0;
  } else {
    QWEM_MPI(MPI_Send(embeddings.data(), static_cast<int>(embeddings.size()), MPI_DOUBLE, 0, 31, comm));
  }
  AgreeOrThrow(comm, ok, "cannot write '" + path + "'");
}

}  // namespace qwem

namespace qwem {

void SayEvaluation(const Progress& progress, const AnalogyReport* a, const std::vector<SimilarityReport>& similarity,
                   const std::vector<Concept>& concepts, const Vocabulary& vocab, const EigenResult& eig) {
  char line[256];
  if (a) {
    std::snprintf(line, sizeof line,
                  "analogy (standard, 3CosAdd): %.1f%% of %lld in-vocabulary questions (of %lld); semantic %.1f%% "
                  "of %lld, syntactic %.1f%% of %lld",
                  100 * a->accuracy(false, -1), static_cast<long long>(a->total(false, -1)),
                  static_cast<long long>(a->n_questions()), 100 * a->accuracy(false, 1),
                  static_cast<long long>(a->total(false, 1)), 100 * a->accuracy(false, 0),
                  static_cast<long long>(a->total(false, 0)));
    progress.Say(line);
    std::snprintf(line, sizeof line, "analogy (paper's pair protocol): %.1f%% of %lld; semantic %.1f%%, syntactic %.1f%%",
                  100 * a->accuracy(true, -1), static_cast<long long>(a->total(true, -1)), 100 * a->accuracy(true, 1),
                  100 * a->accuracy(true, 0));
    progress.Say(line);
    for (const auto& sec : a->sections) {
      std::snprintf(line, sizeof line, "  %-28s standard %5.1f%% of %5lld   pairs %5.1f%% of %6lld", sec.name.c_str(),
                    sec.total ? 100.0 * sec.correct / sec.total : 0.0, static_cast<long long>(sec.total),
                    sec.pair_total ? 100.0 * sec.pair_correct / sec.pair_total : 0.0,
                    static_cast<long long>(sec.pair_total));
      progress.Say(line);
    }
  }
  for (const auto& r : similarity) {
    std::snprintf(line, sizeof line, "similarity %s: Spearman %.3f on %lld of %lld pairs", r.name.c_str(), r.spearman,
                  static_cast<long long>(r.n_covered), static_cast<long long>(r.n_pairs));
    progress.Say(line);
  }
  for (std::size_t c = 0; c < concepts.size(); ++c) {
    std::string top, bottom;
    for (auto id : concepts[c].top) top += " " + vocab.words[id];
    for (auto id : concepts[c].bottom) bottom += " " + vocab.words[id];
    std::snprintf(line, sizeof line, "concept %zu (lambda %.1f): +", c + 1, eig.eigenvalues[c]);
    progress.Say(line + top + "  |  -" + bottom);
  }
}

}  // namespace qwem

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

// The settings a resumed run must share with the run that wrote the checkpoint, as text.
// Window sampling's trajectory depends on the rank count, so a resume must use the same.
std::vector<std::pair<std::string, std::string>> TrainingSettings(const Options& o, const Vocabulary& vocab,
                                                                  int n_ranks) {
  auto num = [](double v) {
    char b[64];
    std::snprintf(b, sizeof b, "%.17g", v);
    return std::string(b);
  };
  std::vector<std::pair<std::string, std::string>> settings{{"mode", o.mode},
          {"loss", o.loss},
          {"sampling", o.sampling},
          {"output_vectors", o.output_vectors},
          {"dim", std::to_string(o.dim)},
          {"steps", std::to_string(o.steps)},
          {"batch", std::to_string(o.batch)},
          {"negatives", std::to_string(o.negatives)},
          {"ns_weight", num(o.ns_weight)},
          {"lr", num(o.lr)},
          {"lr_schedule", o.lr_schedule},
          {"init_scale", num(o.init_scale)},
          {"seed", std::to_string(o.seed)},
          {"sync_every", std::to_string(o.sync_every)},
          {"subsample", num(o.subsample)},
          {"window", std::to_string(o.window)},
          {"vocab_size", std::to_string(vocab.size())},
          {"vocab_fingerprint", VocabularyFingerprint(vocab)}};
  if (o.mode == "sgd" && o.sampling == "windows") {
    settings.emplace_back("context_group", std::to_string(o.context_group));
    settings.emplace_back("window_ranks", std::to_string(n_ranks));
  }
  return settings;
}

std::string CheckpointName(global_int_t step) {
  char b[64];
  std::snprintf(b, sizeof b, "/train/checkpoints/W_%012lld", static_cast<long long>(step));
  return b;
}

// Rank 0 writes a replicated n x cols series.
template <class T>
void WriteSeries(h5::OutputFile& out, const std::string& path, const std::vector<T>& data, global_int_t cols) {
  const global_int_t n = cols > 0 ? static_cast<global_int_t>(data.size()) / cols : 0;
  if (n == 0) return;  // empty series are left out
  const bool root = out.rank() == 0;
  out.WriteDistributed(path, root ? data.data() : nullptr, root ? n : 0, 0, n, cols);
}

}  // namespace

void WriteTraining(h5::OutputFile& out, MPI_Comm comm, const TrainRecord& rec, const Trainer& trainer,
                   const Options& o, const Vocabulary& vocab) {
  for (const auto& [name, value] : TrainingSettings(o, vocab, CommSize(comm))) out.Attribute("/train", name, value);
  out.Attribute("/train", "completed_steps", rec.completed_steps);
  out.Attribute("/train", "status", std::string(rec.interrupted ? "interrupted" : "complete"));
  out.Attribute("/train", "stop_signal", static_cast<global_int_t>(rec.stop_signal));
  out.Attribute("/train", "reweight_c", trainer.reweight_constant());
  out.Attribute("/train", "tau_definition",
                std::string(o.mode == "gd" ? "tau = 8 sum_t eta_t / V^2 (full-batch gradient descent)"
                            : o.loss == "qwem"
                                ? "tau = 2 c sum_t eta_t, c = (1 + nu) / V^2 (batch-mean loss, QWEM weights q = c / "
                                  "(P_ij + nu P_i P_j)); exact in expectation"
                            : o.sampling == "windows"
                                ? "tau = c sum_t alpha_t E[positives per step], c = (1 + nu) / V^2 (alpha per pair; "
                                  "SGNS's quadratic term is half QWEM's): qualitative only"
                                : "tau = c sum_t eta_t, c = (1 + nu) / V^2: SGNS's quadratic term is half QWEM's; "
                                  "qualitative only"));
  out.Attribute("/train", "theory_agreement_top10", rec.Agreement(10));
  out.Attribute("/train", "train_seconds", rec.train_seconds);
  out.Attribute("/train", "updates_per_second_per_rank", rec.updates_per_second_per_rank);
  WriteSeries(out, "/train/step", rec.step, 1);
  WriteSeries(out, "/train/tau", rec.tau, 1);
  WriteSeries(out, "/train/lr", rec.lr, 1);
  WriteSeries(out, "/train/loss", rec.loss, 1);
  WriteSeries(out, "/train/seconds", rec.seconds, 1);
  WriteSeries(out, "/train/singular_values", rec.singular_values, rec.dim);
  WriteSeries(out, "/train/eigenvalues", rec.eigenvalues, 1);
  WriteSeries(out, "/train/a0", rec.a0, 1);
  if (rec.n_modes > 0) WriteSeries(out, "/train/theory_singular_values", rec.theory, rec.n_modes);
  if (rec.n_overlap > 0) WriteSeries(out, "/train/overlap", rec.overlap, rec.n_overlap);
  WriteSeries(out, "/train/eval_step", rec.eval_step, 1);
  WriteSeries(out, "/train/analogy_accuracy", rec.analogy, 1);
  WriteSeries(out, "/train/analogy_pair_accuracy", rec.analogy_pair, 1);
  const global_int_t V = vocab.size(), n = trainer.row_end() - trainer.row_begin();
  WriteSeries(out, "/train/checkpoints/step", rec.checkpoint_step, 1);
  for (std::size_t c = 0; c < rec.checkpoint_step.size(); ++c)
    out.WriteDistributed(CheckpointName(rec.checkpoint_step[c]), rec.checkpoint_rows[c].data(), n,
                         trainer.row_begin(), V, rec.dim);
  const std::vector<double> W = trainer.CopyRows();
  out.WriteDistributed("/train/state/W", W.data(), n, trainer.row_begin(), V, rec.dim);
  if (trainer.has_output_vectors()) {
    // word2vec's output (context) vectors: part of the state, and useful on their own.
    const std::vector<double> C = trainer.CopyOutputRows();
    out.WriteDistributed("/train/state/C", C.data(), n, trainer.row_begin(), V, rec.dim);
  }
  out.Attribute("/train/state", "step", rec.completed_steps);
  out.WriteDistributed("/embeddings", W.data(), n, trainer.row_begin(), V, rec.dim);
  out.Attribute("/embeddings", "formula",
                std::string("W trained by --mode " + o.mode +
                            (o.mode == "sgd" ? " --loss " + o.loss + " --sampling " + o.sampling : "") +
                            " (see /train); the closed form is /spectrum"));
}

TrainRecord ReadTraining(MPI_Comm comm, const std::string& path, const Options& o, const Vocabulary& vocab,
                         global_int_t row_begin, global_int_t row_end, std::vector<double>* state,
                         std::vector<double>* output_state) {
  TrainRecord rec;
  RunAgreed(comm, [&] {
    const h5::InputFile in(path);
    if (!in.Exists("/train/state/W")) throw Error("'" + path + "' has no training state (/train/state/W)");
    for (const auto& [name, value] : TrainingSettings(o, vocab, CommSize(comm))) {
      const std::string have = in.StringAttribute("/train", name);
      if (have != value)
        throw Error("'" + path + "' does not match this run: it has " + name + " = " + have + ", this run " + value);
    }
    rec.dim = o.dim;
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
    rec.n_modes = static_cast<int>(rec.eigenvalues.size());
    if (rec.n_modes > 0) rec.theory = in.Read<double>("/train/theory_singular_values");
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
    if (shape.size() != 2 || shape[0] != vocab.size() || shape[1] != o.dim)
      throw Error("'" + path + "': /train/state/W has the wrong shape");
    *state = in.Read<double>("/train/state/W", row_begin, row_end - row_begin);
    if (output_state) {
      if (!in.Exists("/train/state/C") || in.Shape("/train/state/C") != shape)
        throw Error("'" + path + "': /train/state/C (the output vectors) is missing or has the wrong shape");
      *output_state = in.Read<double>("/train/state/C", row_begin, row_end - row_begin);
      for (const double w : *output_state)
        if (!std::isfinite(w)) throw Error("'" + path + "': /train/state/C holds non-finite values");
    }
    const std::size_t n = rec.step.size();
    if (n == 0 || rec.step.back() != rec.completed_steps || rec.singular_values.size() != n * rec.dim ||
        rec.tau.size() != n || rec.loss.size() != n)
      throw Error("'" + path + "': the /train series are inconsistent (corrupt file?)");
    for (const double w : *state)
      if (!std::isfinite(w)) throw Error("'" + path + "': /train/state/W holds non-finite values");
  });
  return rec;
}

EigenResult LoadEigenpairs(MPI_Comm comm, const std::string& path, const Options& o, const Vocabulary& vocab,
                           global_int_t row_begin, global_int_t row_end, int dim) {
  EigenResult eig;
  RunAgreed(comm, [&] {
    const h5::InputFile in(path);
    if (!in.Exists("/spectrum/eigenvectors")) throw Error("'" + path + "' has no /spectrum/eigenvectors");
    if (in.IntAttribute("/meta", "window") != o.window)
      throw Error("'" + path + "' was computed with a different --window");
    if (in.StringAttribute("/spectrum", "target") != "mstar") throw Error("'" + path + "' holds no M* eigenpairs");
    const std::vector<std::string> words = in.ReadStrings("/vocab/words");
    if (words != vocab.words) throw Error("'" + path + "' has a different vocabulary than this run");
    const std::vector<global_int_t> shape = in.Shape("/spectrum/eigenvectors");
    if (shape.size() != 2 || shape[0] != vocab.size()) throw Error("'" + path + "': /spectrum/eigenvectors has the wrong shape");
    const int have = static_cast<int>(shape[1]), m = std::min(have, dim);
    std::vector<double> values = in.Read<double>("/spectrum/eigenvalues");
    const std::vector<double> rows = in.Read<double>("/spectrum/eigenvectors", row_begin, row_end - row_begin);
    eig.eigenvalues.assign(values.begin(), values.begin() + m);
    eig.residuals.assign(m, 0.0);
    eig.row_begin = row_begin;
    eig.row_end = row_end;
    eig.vectors.resize(static_cast<std::size_t>(row_end - row_begin) * m);
    for (global_int_t r = 0; r < row_end - row_begin; ++r)
      for (int k = 0; k < m; ++k) eig.vectors[r * m + k] = rows[r * have + k];
    eig.n_converged = m;
    eig.solver = "loaded from " + path;
  });
  return eig;
}

}  // namespace qwem
