#include "qwem/window_sgns.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "qwem/pair_stats.hpp"
#include "qwem/random.hpp"

namespace qwem {

StepChunk WindowChunk(global_int_t t, global_int_t B, global_int_t n, global_int_t N) {
  if (N <= 0 || n <= 0) return {};
  auto at = [&](global_int_t s) {
    const unsigned __int128 x = static_cast<unsigned __int128>(s) * static_cast<unsigned __int128>(B) * n;
    return static_cast<global_int_t>(x / static_cast<unsigned __int128>(N));
  };
  return {at(t), at(t + 1)};
}

namespace {

// 16 floats: one AVX-512 register, two AVX ones, four SSE ones (GCC vector extension). Rows of
// the replica are padded to a multiple of 16 floats with zeros, which every update keeps zero.
constexpr int kLanes = 16;
using Vec = float __attribute__((vector_size(kLanes * sizeof(float))));
inline Vec LoadV(const float* p) {
  Vec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void StoreV(float* p, Vec v) { std::memcpy(p, &v, sizeof v); }
inline float Sum(Vec v) {
  float s = 0;
  for (int l = 0; l < kLanes; ++l) s += v[l];
  return s;
}

// Outputs handled together in registers; more are taken in blocks of this many.
constexpr int kBlock = 8;

// sigma(x) and log sigma(x) on [-kMaxScore, kMaxScore], tabulated as word2vec does. A pair whose
// score is outside that range gets no update, as in gensim (word2vec.c instead applies the full
// gradient to a confidently wrong pair; gensim's rule measured 0.6 to 0.9 points better analogy
// accuracy on Gutenberg, see the README).
constexpr float kMaxScore = 6;
constexpr int kTable = 4096;
struct Tables {
  float sigma[kTable + 1], log_sigma[kTable + 1];
  Tables() {
    for (int i = 0; i <= kTable; ++i) {
      const double x = (2.0 * i / kTable - 1.0) * kMaxScore;
      sigma[i] = static_cast<float>(1.0 / (1.0 + std::exp(-x)));
      log_sigma[i] = static_cast<float>(-std::log1p(std::exp(-x)));
    }
  }
  static int Index(float s) { return static_cast<int>((s + kMaxScore) * (kTable / (2 * kMaxScore)) + 0.5f); }
  // alpha (label - sigma(s)), 0 outside [-kMaxScore, kMaxScore]; adds -log sigma(+-s) to loss
  // (outside the table: -z below it, 0 above).
  float Coefficient(float s, bool positive, float alpha, double& loss) const {
    const float z = positive ? s : -s;
    if (!(s > -kMaxScore && s < kMaxScore)) {
      if (z < 0) loss -= z;
      return 0;
    }
    loss -= log_sigma[Index(z)];
    return alpha * ((positive ? 1.0f : 0.0f) - sigma[Index(s)]);
  }
};

// Scores of N outputs against every context, into g (row c, column o0 + o) as coefficients.
template <int N>
void ScoreBlock(const float* X, const float* Y, int dp, const word_id_t* ctx, int m, const word_id_t* out, int o0,
                int n_out, float alpha, const Tables& tab, float* g, double& loss) {
  const float* y[N];
  for (int o = 0; o < N; ++o) y[o] = Y + static_cast<std::size_t>(out[o0 + o]) * dp;
  for (int c = 0; c < m; ++c) {
    const float* x = X + static_cast<std::size_t>(ctx[c]) * dp;
    Vec acc[N] = {};
    for (int k = 0; k < dp; k += kLanes) {
      const Vec xv = LoadV(x + k);
      for (int o = 0; o < N; ++o) acc[o] += xv * LoadV(y[o] + k);
    }
    for (int o = 0; o < N; ++o) g[c * n_out + o0 + o] = tab.Coefficient(Sum(acc[o]), o0 + o == 0, alpha, loss);
  }
}

// dY_o = sum_c g_co x_c for the block's outputs, and dX_c (+)= sum_o g_co y_o.
template <int N>
void GradientBlock(const float* X, const float* Y, int dp, const word_id_t* ctx, int m, const word_id_t* out, int o0,
                   int n_out, const float* g, float* dX, float* dY) {
  const float* y[N];
  for (int o = 0; o < N; ++o) y[o] = Y + static_cast<std::size_t>(out[o0 + o]) * dp;
  for (int k = 0; k < dp; k += kLanes) {
    Vec yv[N], dy[N];
    for (int o = 0; o < N; ++o) {
      yv[o] = LoadV(y[o] + k);
      dy[o] = Vec{};
    }
    for (int c = 0; c < m; ++c) {
      const Vec xv = LoadV(X + static_cast<std::size_t>(ctx[c]) * dp + k);
      const float* gc = g + c * n_out + o0;
      Vec dx = o0 == 0 ? Vec{} : LoadV(dX + static_cast<std::size_t>(c) * dp + k);
      for (int o = 0; o < N; ++o) {
        dx += gc[o] * yv[o];
        dy[o] += gc[o] * xv;
      }
      StoreV(dX + static_cast<std::size_t>(c) * dp + k, dx);
    }
    for (int o = 0; o < N; ++o) StoreV(dY + static_cast<std::size_t>(o0 + o) * dp + k, dy[o]);
  }
}

template <int... Ns>
struct BlockTable {
  using Score = void (*)(const float*, const float*, int, const word_id_t*, int, const word_id_t*, int, int, float,
                         const Tables&, float*, double&);
  using Gradient = void (*)(const float*, const float*, int, const word_id_t*, int, const word_id_t*, int, int,
                            const float*, float*, float*);
  static constexpr Score score[] = {nullptr, &ScoreBlock<Ns>...};
  static constexpr Gradient gradient[] = {nullptr, &GradientBlock<Ns>...};
};
using Blocks = BlockTable<1, 2, 3, 4, 5, 6, 7, 8>;
static_assert(sizeof(Blocks::score) / sizeof(Blocks::score[0]) == kBlock + 1);

// One centre: m contexts, n outputs (out[0] the centre word). Both gradients from the values
// before the update, then the rows are updated (contexts first, then outputs).
void UpdateWindow(float* X, float* Y, int dp, const word_id_t* ctx, int m, const word_id_t* out, int n, float alpha,
                  const Tables& tab, float* g, float* dX, float* dY, double& loss) {
  for (int o0 = 0; o0 < n; o0 += kBlock)
    Blocks::score[std::min(kBlock, n - o0)](X, Y, dp, ctx, m, out, o0, n, alpha, tab, g, loss);
  for (int o0 = 0; o0 < n; o0 += kBlock)
    Blocks::gradient[std::min(kBlock, n - o0)](X, Y, dp, ctx, m, out, o0, n, g, dX, dY);
  auto add = [dp](float* w, const float* delta) {
    for (int k = 0; k < dp; k += kLanes) StoreV(w + k, LoadV(w + k) + LoadV(delta + k));
  };
  for (int c = 0; c < m; ++c) add(X + static_cast<std::size_t>(ctx[c]) * dp, dX + static_cast<std::size_t>(c) * dp);
  for (int o = 0; o < n; ++o) add(Y + static_cast<std::size_t>(out[o]) * dp, dY + static_cast<std::size_t>(o) * dp);
}

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};
using FloatBuffer = std::unique_ptr<float[], AlignedFree>;
FloatBuffer AllocateFloats(std::size_t n) {
  const std::size_t bytes = std::max<std::size_t>(64, (n * sizeof(float) + 63) / 64 * 64);
  auto* p = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  return FloatBuffer(p);
}

}  // namespace

struct WindowSgns::Impl {
  explicit Impl(const TrainingSetup& s) : setup(s) {}
  MPI_Comm comm;
  int rank = 0, size = 1;
  TrainingSetup setup;
  const TrainOptions& opt = setup.train;
  global_int_t V = 0;
  int d = 0, dp = 0;
  std::vector<word_id_t> tokens;
  global_int_t offset = 0;  // global index of this rank's first position
  std::vector<double> keep;
  AliasTable negatives;
  Tables tables;
  FloatBuffer W, W0;  // replica; the W of the step's start (more than one rank)
  FloatBuffer C, C0;  // separate output vectors, likewise (null when tied)
  // Scratch of one chunk and one window.
  std::vector<word_id_t> kept;
  std::vector<global_int_t> kept_at;
  std::vector<word_id_t> ctx, out;
  std::vector<float> g;
  FloatBuffer dX, dY;

  std::uint64_t Random(global_int_t epoch, global_int_t p, std::uint64_t lane) const {
    return CounterRandom(opt.seed ^ kWindowStream, static_cast<std::uint64_t>(epoch),
                         static_cast<std::uint64_t>(offset + p), lane);
  }
};

WindowSgns::WindowSgns(MPI_Comm comm, const TrainingSetup& setup, std::vector<word_id_t> tokens,
                       const std::vector<global_int_t>& word_counts, global_int_t in_vocab_tokens)
    : impl_(std::make_unique<Impl>(setup)) {
  Impl& s = *impl_;
  const TrainOptions& o = setup.train;
  s.comm = comm;
  s.rank = CommRank(comm);
  s.size = CommSize(comm);
  s.V = static_cast<global_int_t>(word_counts.size());
  s.d = setup.dim;
  s.dp = (setup.dim + kLanes - 1) / kLanes * kLanes;
  s.tokens = std::move(tokens);
  const auto n = static_cast<global_int_t>(s.tokens.size());
  QWEM_MPI(MPI_Exscan(&n, &s.offset, 1, MPI_INT64_T, MPI_SUM, comm));
  if (s.rank == 0) s.offset = 0;
  N_ = AllreduceSum(comm, n);
  if (in_vocab_tokens <= 0) throw Error("the corpus has no in-vocabulary tokens to train on");
  const std::vector<double> unigram = UnigramProbabilities(word_counts, in_vocab_tokens);
  s.keep.assign(s.V, 1.0);
  std::vector<double> weights(s.V);
  double kept_fraction = 0;
  for (global_int_t i = 0; i < s.V; ++i) {
    s.keep[i] = KeepProbability(unigram[i], o.subsample);
    kept_fraction += unigram[i] * s.keep[i];
    weights[i] = std::pow(static_cast<double>(word_counts[i]), kNegativePower);
  }
  s.negatives = AliasTable(weights);
  expected_positives_ = static_cast<double>(o.batch) * kept_fraction * (setup.window + 1);
  const bool separate = o.output_vectors == OutputVectors::kSeparate;
  s.W = AllocateFloats(static_cast<std::size_t>(s.V) * s.dp);
  if (s.size > 1) s.W0 = AllocateFloats(static_cast<std::size_t>(s.V) * s.dp);
  if (separate) {
    s.C = AllocateFloats(static_cast<std::size_t>(s.V) * s.dp);
    if (s.size > 1) s.C0 = AllocateFloats(static_cast<std::size_t>(s.V) * s.dp);
  }
  s.ctx.resize(2 * static_cast<std::size_t>(setup.window));
  s.out.resize(1 + static_cast<std::size_t>(o.negatives));
  s.g.resize(s.ctx.size() * s.out.size());
  s.dX = AllocateFloats(s.ctx.size() * s.dp);
  s.dY = AllocateFloats(s.out.size() * s.dp);
}

WindowSgns::~WindowSgns() = default;

bool WindowSgns::separate_output() const { return impl_->C != nullptr; }

void WindowSgns::SetW(const double* W, const double* C) {
  Impl& s = *impl_;
  const std::size_t total = static_cast<std::size_t>(s.V) * s.dp;
  auto set = [&](float* to, float* copy, const double* from) {
    for (global_int_t i = 0; i < s.V; ++i)
      for (int k = 0; k < s.d; ++k)
        to[static_cast<std::size_t>(i) * s.dp + k] =
            from ? static_cast<float>(from[static_cast<std::size_t>(i) * s.d + k]) : 0.0f;
    if (copy) std::memcpy(copy, to, total * sizeof(float));
  };
  set(s.W.get(), s.W0.get(), W);
  if (s.C) set(s.C.get(), s.C0.get(), C);
}

void WindowSgns::GetRows(global_int_t r0, global_int_t r1, double* out, bool output) const {
  const Impl& s = *impl_;
  const float* from = output ? s.C.get() : s.W.get();
  if (!from) throw std::logic_error("WindowSgns::GetRows: no output vectors (tied)");
  for (global_int_t i = r0; i < r1; ++i)
    for (int k = 0; k < s.d; ++k)
      out[static_cast<std::size_t>(i - r0) * s.d + k] = from[static_cast<std::size_t>(i) * s.dp + k];
}

void WindowSgns::Step(global_int_t t) {
  Impl& s = *impl_;
  const TrainOptions& o = s.opt;
  const auto n = static_cast<global_int_t>(s.tokens.size());
  const StepChunk chunk = WindowChunk(t, o.batch, n, N_);
  const int L = s.setup.window, K = o.negatives;
  float* W = s.W.get();
  double loss = 0;
  global_int_t positives = 0, updates = 0;
  // The chunk, one epoch's piece at a time.
  for (global_int_t start = chunk.first; start < chunk.last;) {
    const global_int_t epoch = start / n, p0 = start % n;
    const global_int_t p1 = std::min(n, p0 + (chunk.last - start));
    // The kept tokens of the piece (kBoundary between documents, never two in a row).
    s.kept.clear();
    s.kept_at.clear();
    for (global_int_t p = p0; p < p1; ++p) {
      const word_id_t w = s.tokens[p];
      if (w == kBoundary) {
        if (!s.kept.empty() && s.kept.back() != kBoundary) s.kept.push_back(kBoundary), s.kept_at.push_back(p);
      } else if (s.keep[w] >= 1.0 || ToUnit(s.Random(epoch, p, 0)) < s.keep[w]) {
        s.kept.push_back(w);
        s.kept_at.push_back(p);
      }
    }
    const auto n_kept = static_cast<global_int_t>(s.kept.size());
    const double span = static_cast<double>(chunk.last - chunk.first);
    for (global_int_t q = 0; q < n_kept; ++q) {
      const word_id_t centre = s.kept[q];
      if (centre == kBoundary) continue;
      const global_int_t p = s.kept_at[q];
      const auto b = 1 + static_cast<int>(Scale(s.Random(epoch, p, 1), L));
      int m = 0;
      for (global_int_t j = q - 1; j >= 0 && j >= q - b && s.kept[j] != kBoundary; --j) s.ctx[m++] = s.kept[j];
      for (global_int_t j = q + 1; j < n_kept && j <= q + b && s.kept[j] != kBoundary; ++j) s.ctx[m++] = s.kept[j];
      if (m == 0) continue;
      const double done = static_cast<double>(t) + static_cast<double>(start - chunk.first + (p - p0)) / span;
      const double alpha = ScheduledRate(o, done);
      // The contexts in groups of G, each group with its own K negatives.
      const int G = o.context_group > 0 ? o.context_group : m;
      for (int c0 = 0, group = 0; c0 < m; c0 += G, ++group) {
        const int mg = std::min(G, m - c0);
        int n_out = 0;
        s.out[n_out++] = centre;
        for (int k = 0; k < K; ++k) {
          const auto lane = 2 + static_cast<std::uint64_t>(group) * K + static_cast<std::uint64_t>(k);
          const word_id_t neg = s.negatives.Draw(s.Random(epoch, p, lane));
          if (neg != centre) s.out[n_out++] = neg;
        }
        UpdateWindow(W, s.C ? s.C.get() : W, s.dp, s.ctx.data() + c0, mg, s.out.data(), n_out,
                     static_cast<float>(alpha), s.tables, s.g.data(), s.dX.get(), s.dY.get(), loss);
        updates += static_cast<global_int_t>(mg) * n_out;
      }
      positives += m;
    }
    start += p1 - p0;
  }
  loss_sum_ += loss;
  n_positive_ += static_cast<double>(positives);
  n_updates_ += static_cast<double>(updates);
  if (s.size == 1) return;
  // W <- W0 + sum over ranks of (W_rank - W0), in pieces of at most 2^30 floats per call; C alike.
  const std::size_t total = static_cast<std::size_t>(s.V) * s.dp;
  auto sum_changes = [&](float* X, float* X0) {
    for (std::size_t k = 0; k < total; ++k) X[k] -= X0[k];
    for (std::size_t k = 0; k < total; k += std::size_t{1} << 30) {
      const auto count = static_cast<int>(std::min<std::size_t>(total - k, std::size_t{1} << 30));
      QWEM_MPI(MPI_Allreduce(MPI_IN_PLACE, X + k, count, MPI_FLOAT, MPI_SUM, s.comm));
    }
    for (std::size_t k = 0; k < total; ++k) X[k] = X0[k] += X[k];
  };
  sum_changes(W, s.W0.get());
  if (s.C) sum_changes(s.C.get(), s.C0.get());
}

}  // namespace qwem
