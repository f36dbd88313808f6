#include "qwem/reuse.hpp"

#include <algorithm>

#include "qwem/format.hpp"
#include "qwem/h5io.hpp"

namespace qwem {

namespace {

// A setting of the source file that this run's command line must not contradict.
void RequireSame(const Options& options, const std::string& option, global_int_t run, global_int_t source,
                 const std::string& path) {
  if (options.Given(option) && run != source)
    throw Error("--counts-from '" + path + "' was counted with --" + option + " " + std::to_string(source) + ", not " +
                std::to_string(run) + ": count again, or leave --" + option + " out");
}

// A target attribute of /spectrum, with the value of files written before it existed.
double SpectrumSetting(const h5::InputFile& in, const char* name, double absent) {
  return in.HasAttribute("/spectrum", name) ? in.DoubleAttribute("/spectrum", name) : absent;
}

void CheckSpectrumSettings(const h5::InputFile& in, const TargetOptions& target, int dim) {
  const std::string name = "--eigen-from '" + in.path() + "'";
  if (!in.Exists("/spectrum/eigenvectors")) throw Error(name + " has no /spectrum/eigenvectors");
  const std::string kind = in.StringAttribute("/spectrum", "target");
  if (kind != Name(target.kind))
    throw Error(name + " holds the eigenpairs of --target " + kind + ", not " + Name(target.kind));
  const double nu = SpectrumSetting(in, "ns_weight", 1.0), cds = SpectrumSetting(in, "cds", 1.0),
               shift = SpectrumSetting(in, "shift", 1.0);
  if (target.kind == TargetKind::kMStar && nu != target.nu)
    throw Error(name + " holds M* with --ns-weight " + Format("%g", nu) + ", not " + Format("%g", target.nu));
  if (cds != target.cds)
    throw Error(name + " was computed with --cds " + Format("%g", cds) + ", not " + Format("%g", target.cds));
  if (shift != target.shift)
    throw Error(name + " was computed with --shift " + Format("%g", shift) + ", not " + Format("%g", target.shift));
  const std::vector<global_int_t> shape = in.Shape("/spectrum/eigenvectors");
  if (shape.size() != 2) throw Error(name + ": /spectrum/eigenvectors is not a matrix");
  if (shape[1] < dim)
    throw Error(name + " holds " + std::to_string(shape[1]) + " eigenpairs, fewer than --dim " + std::to_string(dim));
}

}  // namespace

SavedCounts LoadCounts(MPI_Comm comm, const std::string& path, const Options& options) {
  const int rank = CommRank(comm), size = CommSize(comm);
  SavedCounts saved;
  RunAgreed(comm, [&] {
    const h5::InputFile in(path);
    if (!in.Exists("/cooccurrence/indptr"))
      throw Error("--counts-from '" + path + "' holds no counts (/cooccurrence): write it with --save-cooccurrence");
    saved.window = static_cast<int>(in.IntAttribute("/meta", "window"));
    saved.vocab_options.size = in.IntAttribute("/meta", "vocab_size_requested");
    saved.vocab_options.min_count = in.IntAttribute("/meta", "min_count");
    RequireSame(options, "window", options.count.window, saved.window, path);
    RequireSame(options, "vocab-size", options.vocab.size, saved.vocab_options.size, path);
    RequireSame(options, "min-count", options.vocab.min_count, saved.vocab_options.min_count, path);

    Vocabulary& vocab = saved.vocab;
    vocab.words = in.ReadStrings("/vocab/words");
    vocab.counts = in.Read<global_int_t>("/vocab/counts");
    if (vocab.words.size() != vocab.counts.size() || vocab.words.empty())
      throw Error("--counts-from '" + path + "': /vocab/words and /vocab/counts do not match");
    for (std::size_t i = 0; i < vocab.words.size(); ++i) vocab.index.Add(vocab.words[i], vocab.counts[i]);
    vocab.requested_size = saved.vocab_options.size;
    vocab.n_total_tokens = in.IntAttribute("/corpus", "n_total_tokens");
    vocab.n_distinct_words = in.IntAttribute("/corpus", "n_distinct_words");
    vocab.n_in_vocab_tokens = in.IntAttribute("/corpus", "n_in_vocab_tokens");

    const std::vector<std::string> files = in.ReadStrings("/corpus/files");
    const std::vector<global_int_t> bytes = in.Read<global_int_t>("/corpus/file_bytes");
    for (std::size_t f = 0; f < files.size() && f < bytes.size(); ++f) saved.plan.files.push_back({files[f], bytes[f]});
    saved.plan.plain_bytes = in.IntAttribute("/corpus", "plain_bytes");
    saved.plan.gzip_bytes = in.IntAttribute("/corpus", "gzip_bytes");
    saved.read.n_overlong = in.IntAttribute("/corpus", "n_overlong_tokens_skipped");

    // The rows: every rank reads indptr (V + 1 offsets), balances, and reads its own rows.
    const auto V = static_cast<global_int_t>(vocab.words.size());
    const std::vector<global_int_t> indptr = in.Read<global_int_t>("/cooccurrence/indptr");
    if (static_cast<global_int_t>(indptr.size()) != V + 1 || indptr[0] != 0 ||
        !std::is_sorted(indptr.begin(), indptr.end()) || in.Shape("/cooccurrence/indices")[0] != indptr[V] ||
        in.Shape("/cooccurrence/data")[0] != indptr[V])
      throw Error("--counts-from '" + path + "': /cooccurrence is not a CSR matrix of V = " + std::to_string(V) +
                  " rows");
    std::vector<global_int_t> row_nnz(V);
    for (global_int_t i = 0; i < V; ++i) row_nnz[i] = indptr[i + 1] - indptr[i];
    CooccurrenceRows& c = saved.counts;
    c.n_words = V;
    c.window = saved.window;
    c.row_ranges = BalanceRows(row_nnz, size);
    c.row_begin = c.row_ranges[rank];
    c.row_end = c.row_ranges[rank + 1];
    c.nnz = indptr[V];
    c.n_pairs = in.IntAttribute("/cooccurrence", "n_pairs");
    const global_int_t first = indptr[c.row_begin], n = indptr[c.row_end] - first;
    const std::vector<word_id_t> cols = in.Read<word_id_t>("/cooccurrence/indices", first, n);
    const std::vector<global_int_t> values = in.Read<global_int_t>("/cooccurrence/data", first, n);
    c.cols.assign(cols.begin(), cols.end());
    c.values.assign(values.begin(), values.end());
    c.row_ptr.resize(c.n_local_rows() + 1);
    for (global_int_t r = 0; r <= c.n_local_rows(); ++r) c.row_ptr[r] = indptr[c.row_begin + r] - first;
    for (const word_id_t j : cols)
      if (j < 0 || j >= V) throw Error("--counts-from '" + path + "': a column index is outside the vocabulary");
  });
  return saved;
}

void CheckEigenpairsFile(MPI_Comm comm, const std::string& path, const TargetOptions& target, int dim) {
  RunAgreed(comm, [&] {
    if (CommRank(comm) == 0) CheckSpectrumSettings(h5::InputFile(path), target, dim);
  });
}

EigenResult LoadEigenpairs(MPI_Comm comm, const std::string& path, int window, const Vocabulary& vocab,
                           const TargetOptions& target, global_int_t row_begin, global_int_t row_end, int at_least,
                           int up_to) {
  EigenResult eig;
  RunAgreed(comm, [&] {
    const std::string name = "--eigen-from '" + path + "'";
    const h5::InputFile in(path);
    CheckSpectrumSettings(in, target, at_least);
    if (in.IntAttribute("/meta", "window") != window) throw Error(name + " was computed with a different --window");
    if (in.ReadStrings("/vocab/words") != vocab.words) throw Error(name + " has a different vocabulary than this run");
    const std::vector<global_int_t> shape = in.Shape("/spectrum/eigenvectors");
    if (shape[0] != vocab.size()) throw Error(name + ": /spectrum/eigenvectors has the wrong shape");
    const int have = static_cast<int>(shape[1]), dim = std::max(at_least, std::min(have, up_to));
    const std::vector<double> values = in.Read<double>("/spectrum/eigenvalues");
    const std::vector<double> rows = in.Read<double>("/spectrum/eigenvectors", row_begin, row_end - row_begin);
    eig.eigenvalues.assign(values.begin(), values.begin() + dim);
    eig.residuals.assign(dim, 0.0);
    eig.row_begin = row_begin;
    eig.row_end = row_end;
    eig.vectors.resize(static_cast<std::size_t>(row_end - row_begin) * dim);
    for (global_int_t r = 0; r < row_end - row_begin; ++r)
      for (int k = 0; k < dim; ++k) eig.vectors[r * dim + k] = rows[r * have + k];
    eig.n_converged = dim;
    eig.solver = "loaded from " + path;
  });
  return eig;
}

}  // namespace qwem
