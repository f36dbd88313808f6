#include "qwem/results.hpp"

namespace qwem {

namespace {

// One field of every element, as a column.
template <class Row, class Field>
std::vector<Field> Column(const std::vector<Row>& rows, Field Row::*field) {
  std::vector<Field> column;
  for (const Row& row : rows) column.push_back(row.*field);
  return column;
}

}  // namespace

void WriteCorpus(h5::OutputFile& out, const CorpusPlan& plan, const ReadStats& read, const Vocabulary& vocab,
                 const CooccurrenceRows& rows) {
  out.Attribute("/corpus", "n_files", static_cast<global_int_t>(plan.files.size()));
  out.Attribute("/corpus", "plain_bytes", plan.plain_bytes);
  out.Attribute("/corpus", "gzip_bytes", plan.gzip_bytes);
  out.Attribute("/corpus", "n_total_tokens", vocab.n_total_tokens);
  out.Attribute("/corpus", "n_distinct_words", vocab.n_distinct_words);
  out.Attribute("/corpus", "n_in_vocab_tokens", vocab.n_in_vocab_tokens);
  out.Attribute("/corpus", "coverage", vocab.coverage());
  out.Attribute("/corpus", "n_pairs", rows.n_pairs);
  out.Attribute("/corpus", "nnz", rows.nnz);
  out.Attribute("/corpus", "n_overlong_tokens_skipped", read.n_overlong);
  out.WriteStrings("/corpus/files", CorpusFilePaths(plan));
  out.WriteReplicated("/corpus/file_bytes", Column(plan.files, &CorpusFile::bytes));
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

void WriteEmbeddings(h5::OutputFile& out, const Embeddings& e) {
  out.WriteDistributed("/embeddings", e.data.data(), e.row_end - e.row_begin, e.row_begin, e.n_words, e.dim);
  if (e.eig_power) out.Attribute("/embeddings", "eig_power", *e.eig_power);
  out.Attribute("/embeddings", "formula", e.formula);
}

void WriteSpectrum(h5::OutputFile& out, const EigenResult& eig, global_int_t n_words, const TargetOptions& target,
                   bool solved) {
  const global_int_t d = eig.dim(), rows = eig.row_end - eig.row_begin;
  out.WriteDistributed("/spectrum/eigenvectors", eig.vectors.data(), rows, eig.row_begin, n_words, d);
  out.WriteReplicated("/spectrum/eigenvalues", eig.eigenvalues);
  out.WriteReplicated("/spectrum/residuals", eig.residuals);
  out.Attribute("/spectrum", "target", std::string(Name(target.kind)));
  out.Attribute("/spectrum", "ns_weight", target.nu);
  out.Attribute("/spectrum", "cds", target.cds);
  out.Attribute("/spectrum", "shift", target.shift);
  if (solved) {
    out.Attribute("/spectrum", "operator_requested", std::string(Name(eig.op.requested)));
    out.Attribute("/spectrum", "operator", std::string(Name(eig.op.chosen)));
    out.Attribute("/spectrum", "operator_reason", eig.op.reason);
    out.Attribute("/spectrum", "residual_kind", eig.residual_kind);
    out.Attribute("/spectrum", "precision", eig.precision);
    out.Attribute("/spectrum", "block", static_cast<global_int_t>(eig.block));
    out.Attribute("/spectrum", "n_double_products", eig.n_double_products);
    out.Attribute("/spectrum", "n_refined", static_cast<global_int_t>(eig.refined));
  }
  out.Attribute("/spectrum", "solver", eig.solver);
  out.Attribute("/spectrum", "tol", eig.tol);
  out.Attribute("/spectrum", "ncv", static_cast<global_int_t>(eig.ncv));
  out.Attribute("/spectrum", "n_converged", static_cast<global_int_t>(eig.n_converged));
  out.Attribute("/spectrum", "n_restarts", static_cast<global_int_t>(eig.n_restarts));
  out.Attribute("/spectrum", "n_matvecs", static_cast<global_int_t>(eig.n_matvecs));
  out.Attribute("/spectrum", "sign_convention", std::string("largest-magnitude entry of each eigenvector positive"));
}

void WriteFullSpectrum(h5::OutputFile& out, const std::vector<double>& eigenvalues) {
  out.WriteReplicated("/spectrum/full_eigenvalues", eigenvalues);
}

void WriteAnalogies(h5::OutputFile& out, const AnalogyReport& a) {
  for (int pair = 0; pair < 2; ++pair) {
    const std::string g = pair ? "/eval/analogy_pairs" : "/eval/analogy_standard";
    out.Attribute(g, "protocol",
                  std::string(pair ? "paper's pair protocol: per section, every ordered pair of distinct "
                                     "in-vocabulary word pairs; 3CosAdd, unit rows, query words excluded"
                                   : "Mikolov et al. 2013: 3CosAdd on unit rows, query words excluded, "
                                     "questions with all four words in vocabulary"));
    for (int sem = -1; sem <= 1; ++sem) {
      const std::string tag = sem < 0 ? "overall" : sem ? "semantic" : "syntactic";
      out.Attribute(g, tag + "_accuracy", a.accuracy(pair, sem));
      out.Attribute(g, tag + "_correct", a.correct(pair, sem));
      out.Attribute(g, tag + "_total", a.total(pair, sem));
    }
  }
  out.WriteStrings("/eval/sections/name", Column(a.sections, &AnalogySection::name));
  out.WriteReplicated("/eval/sections/n_questions", Column(a.sections, &AnalogySection::n_questions));
  out.WriteReplicated("/eval/sections/standard_correct", Column(a.sections, &AnalogySection::correct));
  out.WriteReplicated("/eval/sections/standard_total", Column(a.sections, &AnalogySection::total));
  out.WriteReplicated("/eval/sections/pairs_correct", Column(a.sections, &AnalogySection::pair_correct));
  out.WriteReplicated("/eval/sections/pairs_total", Column(a.sections, &AnalogySection::pair_total));
}

void WriteSimilarity(h5::OutputFile& out, const SimilarityReport& r) {
  const std::string g = "/eval/similarity/" + r.name;
  out.Attribute(g, "spearman", r.spearman);
  out.Attribute(g, "n_pairs", r.n_pairs);
  out.Attribute(g, "n_covered", r.n_covered);
}

void WriteConcepts(h5::OutputFile& out, const std::vector<Concept>& concepts, const Vocabulary& vocab,
                   const EigenResult& eig) {
  if (concepts.empty()) return;
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
  out.WriteReplicated("/concepts/top_ids", top, static_cast<global_int_t>(m));
  out.WriteReplicated("/concepts/bottom_ids", bottom, static_cast<global_int_t>(m));
  out.WriteStrings("/concepts/top_words", top_words);
  out.WriteStrings("/concepts/bottom_words", bottom_words);
  out.WriteReplicated("/concepts/eigenvalues", lambda);
  out.Attribute("/concepts", "layout",
                "row c: eigenvector c; top/bottom_words flattened row-major, " + std::to_string(m) + " words per row");
}

void WriteTimings(h5::OutputFile& out, MPI_Comm comm, const std::vector<PhaseRecord>& phases, const CountStats& count,
                  const ReduceStats& reduce) {
  out.WriteStrings("/timings/phase", Column(phases, &PhaseRecord::name));
  out.WriteReplicated("/timings/seconds", Column(phases, &PhaseRecord::seconds));
  out.WriteReplicated("/timings/peak_rss_bytes_max", Column(phases, &PhaseRecord::peak_rss_max));
  out.WriteReplicated("/timings/cpu_user_seconds_sum", Column(phases, &PhaseRecord::cpu_user_sum));
  out.WriteReplicated("/timings/cpu_system_seconds_sum", Column(phases, &PhaseRecord::cpu_system_sum));
  out.Attribute("/timings", "count_pair_loop_seconds_max", AllreduceMax(comm, count.kernel_seconds));
  out.Attribute("/timings", "reduce_seconds_max", AllreduceMax(comm, reduce.seconds));
  for (int step = 0; step < ReduceStats::kNumSteps; ++step)
    out.Attribute("/timings", std::string("reduce_") + ReduceStats::kStepNames[step] + "_seconds_max",
                  AllreduceMax(comm, reduce.step_seconds[step]));
  out.Attribute("/timings", "count_dense_words", count.dense_words);
}

double EstimateOutputBytes(const Vocabulary& vocab, global_int_t saved_nnz, int eig_dim, int emb_dim, int n_matrices,
                           int train_dim) {
  std::size_t width = 1;
  for (const std::string& w : vocab.words) width = std::max(width, w.size());
  const double V = static_cast<double>(vocab.size());
  const double words = V * (static_cast<double>(width) + 8);
  const double counts = saved_nnz > 0 ? (V + 1) * 8 + static_cast<double>(saved_nnz) * 12 : 0;
  const double matrices = 8 * V * (eig_dim + emb_dim + static_cast<double>(n_matrices) * train_dim);
  return words + counts + matrices + 8 * V + 1048576;
}

}  // namespace qwem
