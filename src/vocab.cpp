#include "qwem/vocab.hpp"

#include <algorithm>
#include <cstring>

#include "qwem/exchange.hpp"

namespace qwem {

std::uint64_t HashWord(std::string_view w) {
  // 8 bytes at a time with a multiply-xorshift mix, then murmur3's finalizer.
  std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ (w.size() * 0xff51afd7ed558ccdULL);
  std::size_t i = 0;
  for (; i + 8 <= w.size(); i += 8) {
    std::uint64_t k;
    std::memcpy(&k, w.data() + i, 8);
    h = (h ^ k) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 31;
  }
  if (i < w.size()) {
    std::uint64_t k = 0;
    std::memcpy(&k, w.data() + i, w.size() - i);
    h = (h ^ k) * 0x94d049bb133111ebULL;
    h ^= h >> 29;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

WordTable::WordTable() : slots_(1024, Slot{-1, 0}), mask_(1023) {}

void WordTable::Grow() {
  std::vector<Slot> slots(slots_.size() * 2, Slot{-1, 0});
  const std::size_t mask = slots.size() - 1;
  for (std::size_t id = 0; id < hashes_.size(); ++id) {
    std::size_t s = hashes_[id] & mask;
    while (slots[s].id >= 0) s = (s + 1) & mask;
    slots[s] = Slot{static_cast<word_id_t>(id), static_cast<std::uint32_t>(hashes_[id] >> 32)};
  }
  slots_.swap(slots);
  mask_ = mask;
}

word_id_t WordTable::Find(std::string_view w) const {
  const std::uint64_t h = HashWord(w);
  const auto tag = static_cast<std::uint32_t>(h >> 32);
  for (std::size_t s = h & mask_;; s = (s + 1) & mask_) {
    const Slot slot = slots_[s];
    if (slot.id < 0) return -1;
    if (slot.tag == tag && word(slot.id) == w) return slot.id;
  }
}

word_id_t WordTable::Add(std::string_view w, global_int_t count) {
  const std::uint64_t h = HashWord(w);
  const auto tag = static_cast<std::uint32_t>(h >> 32);
  std::size_t s = h & mask_;
  for (;; s = (s + 1) & mask_) {
    const Slot slot = slots_[s];
    if (slot.id < 0) break;
    if (slot.tag == tag && word(slot.id) == w) {
      counts_[slot.id] += count;
      return slot.id;
    }
  }
  if (counts_.size() >= static_cast<std::size_t>(INT32_MAX - 1))
    throw Error("more than 2^31 distinct words on one rank");
  const auto id = static_cast<word_id_t>(counts_.size());
  arena_.insert(arena_.end(), w.begin(), w.end());
  offsets_.push_back(arena_.size());
  counts_.push_back(count);
  hashes_.push_back(h);
  slots_[s] = Slot{id, tag};
  if (counts_.size() * 2 > slots_.size()) Grow();  // load factor <= 1/2
  return id;
}

namespace {

struct WordCount {
  std::string_view word;
  global_int_t count;
};

// The vocabulary order: count descending, then byte order (char_traits compares as unsigned).
bool Before(const WordCount& a, const WordCount& b) {
  if (a.count != b.count) return a.count > b.count;
  return a.word < b.word;
}

// Wire format of a word list: [u32 length][bytes][i64 count] per word.
void Append(std::vector<char>& out, std::string_view w, global_int_t count) {
  const auto len = static_cast<std::uint32_t>(w.size());
  const std::size_t at = out.size();
  out.resize(at + 4 + len + 8);
  std::memcpy(out.data() + at, &len, 4);
  std::memcpy(out.data() + at + 4, w.data(), len);
  std::memcpy(out.data() + at + 4 + len, &count, 8);
}

// Views into `bytes`, which must outlive the result.
std::vector<WordCount> Parse(const char* bytes, std::size_t n) {
  std::vector<WordCount> out;
  std::size_t pos = 0;
  while (pos < n) {
    std::uint32_t len;
    std::memcpy(&len, bytes + pos, 4);
    global_int_t count;
    std::memcpy(&count, bytes + pos + 4 + len, 8);
    out.push_back({std::string_view(bytes + pos + 4, len), count});
    pos += 4 + len + 8;
  }
  return out;
}

std::vector<char> Serialize(const std::vector<WordCount>& list) {
  std::vector<char> out;
  for (const auto& wc : list) Append(out, wc.word, wc.count);
  return out;
}

void SendBytes(MPI_Comm comm, const std::vector<char>& bytes, int dest) {
  long long n = static_cast<long long>(bytes.size());
  QWEM_MPI(MPI_Send(&n, 1, MPI_LONG_LONG, dest, 7, comm));
  if (n > 0) QWEM_MPI(MPI_Send(bytes.data(), static_cast<int>(n), MPI_BYTE, dest, 8, comm));
}

std::vector<char> RecvBytes(MPI_Comm comm, int source) {
  long long n = 0;
  QWEM_MPI(MPI_Recv(&n, 1, MPI_LONG_LONG, source, 7, comm, MPI_STATUS_IGNORE));
  std::vector<char> bytes(static_cast<std::size_t>(n));
  if (n > 0) QWEM_MPI(MPI_Recv(bytes.data(), static_cast<int>(n), MPI_BYTE, source, 8, comm, MPI_STATUS_IGNORE));
  return bytes;
}

}  // namespace

Vocabulary ReduceVocabulary(MPI_Comm comm, const WordTable& local_words, const VocabOptions& options,
                            const std::vector<std::string>* listed) {
  const int rank = CommRank(comm), size = CommSize(comm);
  const auto keep = listed ? listed->size() : static_cast<std::size_t>(options.size);
  const global_int_t min_count = listed ? 1 : options.min_count;
  WordTable allowed;
  if (listed)
    for (const std::string& w : *listed) allowed.Add(w);

  // 1. Send every local (word, count) to its owner rank (hash), merge there.
  std::vector<std::size_t> send_displs(size + 1, 0);
  std::vector<char> send;
  {
    std::vector<std::vector<char>> per_rank(size);
    for (std::size_t id = 0; id < local_words.size(); ++id) {
      const auto w = local_words.word(static_cast<word_id_t>(id));
      Append(per_rank[HashWord(w) % size], w, local_words.count(static_cast<word_id_t>(id)));
    }
    for (int r = 0; r < size; ++r) send_displs[r + 1] = send_displs[r] + per_rank[r].size();
    send.reserve(send_displs.back());
    for (auto& v : per_rank) send.insert(send.end(), v.begin(), v.end());
  }
  std::vector<std::size_t> recv_displs;
  const big_vector<char> received = ExchangeBytes(comm, send.data(), send_displs, recv_displs);
  send.clear();
  send.shrink_to_fit();
  WordTable owned;
  for (const auto& wc : Parse(received.data(), received.size())) owned.Add(wc.word, wc.count);

  global_int_t owned_tokens = 0;
  for (std::size_t id = 0; id < owned.size(); ++id) owned_tokens += owned.count(static_cast<word_id_t>(id));
  Vocabulary vocab;
  vocab.requested_size = static_cast<global_int_t>(keep);
  vocab.n_total_tokens = AllreduceSum(comm, owned_tokens);
  vocab.n_distinct_words = AllreduceSum(comm, static_cast<global_int_t>(owned.size()));
  if (vocab.n_total_tokens == 0) throw Error("the corpus has no tokens (empty or whitespace-only files)");

  // 2. Each owner's top-V candidates, then a binomial-tree merge to rank 0 that keeps the top V
  //    at every step, so no rank holds more than 2V words at once.
  std::vector<WordCount> best;
  for (std::size_t id = 0; id < owned.size(); ++id) {
    const auto c = owned.count(static_cast<word_id_t>(id));
    const std::string_view w = owned.word(static_cast<word_id_t>(id));
    if (c >= min_count && (!listed || allowed.Find(w) >= 0)) best.push_back({w, c});
  }
  if (best.size() > keep) {
    std::nth_element(best.begin(), best.begin() + keep, best.end(), Before);
    best.resize(keep);
  }
  std::sort(best.begin(), best.end(), Before);
  std::vector<char> kept;  // owns the bytes `best` views once a merge has happened
  for (int step = 1; step < size; step *= 2) {
    if (rank % (2 * step) == step) {
      SendBytes(comm, Serialize(best), rank - step);
      break;
    }
    if (rank % (2 * step) == 0 && rank + step < size) {
      const std::vector<char> received = RecvBytes(comm, rank + step);
      const std::vector<WordCount> other = Parse(received.data(), received.size());
      std::vector<WordCount> merged;
      merged.reserve(std::min(keep, best.size() + other.size()));
      std::merge(best.begin(), best.end(), other.begin(), other.end(), std::back_inserter(merged), Before);
      if (merged.size() > keep) merged.resize(keep);
      kept = Serialize(merged);  // copies the survivors out of `received` and the old `kept`
      best = Parse(kept.data(), kept.size());
    }
  }

  // 3. Rank 0 broadcasts the final list.
  std::string blob;
  if (rank == 0) {
    const std::vector<char> bytes = Serialize(best);
    blob.assign(bytes.begin(), bytes.end());
  }
  BroadcastString(comm, blob, 0);
  for (const auto& wc : Parse(blob.data(), blob.size())) {
    vocab.index.Add(wc.word, wc.count);
    vocab.words.emplace_back(wc.word);
    vocab.counts.push_back(wc.count);
    vocab.n_in_vocab_tokens += wc.count;
  }
  if (vocab.words.empty())
    throw Error(listed ? "no word of --read-vocab occurs in the corpus"
                       : "no word occurs at least --min-count=" + std::to_string(options.min_count) + " times");
  return vocab;
}

TokenIds MapToVocabulary(const Vocabulary& vocab, LocalShard&& shard) {
  std::vector<word_id_t> to_global(shard.words.size());
  for (std::size_t id = 0; id < shard.words.size(); ++id)
    to_global[id] = vocab.index.Find(shard.words.word(static_cast<word_id_t>(id)));
  shard.words = WordTable();
  TokenIds ids{std::move(shard.stream), std::move(shard.whole)};
  for (big_vector<word_id_t>* stream : {&ids.range, &ids.whole}) {
    std::size_t out = 0;
    for (const word_id_t local : *stream) {
      if (local == kBoundary) {
        if (out == 0 || (*stream)[out - 1] != kBoundary) (*stream)[out++] = kBoundary;
        continue;
      }
      const word_id_t g = to_global[local];
      if (g >= 0) (*stream)[out++] = g;
    }
    stream->resize(out);
    stream->shrink_to_fit();
  }
  return ids;
}

std::vector<word_id_t> TokenIds::Joined() const {
  std::vector<word_id_t> all;
  all.reserve(range.size() + whole.size() + 1);
  all.assign(range.begin(), range.end());
  if (!whole.empty()) {
    if (!all.empty() && all.back() != kBoundary) all.push_back(kBoundary);
    all.insert(all.end(), whole.begin(), whole.end());
  }
  return all;
}

}  // namespace qwem
