// Streaming tokenizer (Not collective, no MPI): bytes in, lowercased tokens and document
// boundaries out. Pure, so the serial reference and every rank tokenize identically.
//
// Rules (SCIENCE.md section 1): tokens are maximal runs of non-whitespace bytes (whitespace is
// ASCII space, \t, \n, \v, \f, \r), ASCII A-Z lowercased, all other bytes kept. A NUL byte is
// an error (binary data). Tokens longer than max_token_bytes are skipped and counted, so a
// 200 MB run without whitespace costs bounded memory (tags are recognized whatever the limit).
// WikiExtractor format: a line whose first token is "<doc" (or starts with "<doc>") or is
// "</doc>" is a tag line; it is not text and marks a document boundary.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "qwem/common.hpp"

namespace qwem {

enum class TextFormat { kPlain, kWiki };

inline constexpr std::size_t kDefaultMaxTokenBytes = 1000;

namespace detail {
// Byte classes: 0 ordinary, 1 whitespace, 2 newline, 3 NUL, 4 ASCII upper case.
struct ByteClasses {
  unsigned char cls[256];
  constexpr ByteClasses() : cls{} {
    for (int c = 'A'; c <= 'Z'; ++c) cls[c] = 4;
    cls[static_cast<unsigned char>(' ')] = 1;
    cls[static_cast<unsigned char>('\t')] = 1;
    cls[static_cast<unsigned char>('\v')] = 1;
    cls[static_cast<unsigned char>('\f')] = 1;
    cls[static_cast<unsigned char>('\r')] = 1;
    cls[static_cast<unsigned char>('\n')] = 2;
    cls[0] = 3;
  }
};
inline constexpr ByteClasses kByteClasses{};
}  // namespace detail

inline bool IsWhitespace(char c) {
  const unsigned char k = detail::kByteClasses.cls[static_cast<unsigned char>(c)];
  return k == 1 || k == 2;
}

// A Sink provides void Token(std::string_view) and void Boundary().
class Tokenizer {
 public:
  // `where` names the input in error messages; `start_offset` is the byte offset of the first
  // byte fed, so errors point at the right place in the file.
  Tokenizer(TextFormat format, std::string where, std::uint64_t start_offset,
            std::size_t max_token_bytes = kDefaultMaxTokenBytes)
      : format_(format), where_(std::move(where)), offset_(start_offset), max_token_(max_token_bytes) {}

  // Feeds n bytes (lowercased in place). Tokens that end inside the buffer are passed as views
  // into it; a token cut by the buffer end is carried over to the next Feed.
  template <class Sink>
  void Feed(char* data, std::size_t n, Sink& sink) {
    const unsigned char* cls = detail::kByteClasses.cls;
    std::size_t i = 0;
    while (i < n) {
      if (!in_token_) {
        // Skip whitespace; newlines reset the wiki line state.
        for (; i < n; ++i) {
          const unsigned char k = cls[static_cast<unsigned char>(data[i])];
          if (k == 1) continue;
          if (k != 2) break;
          line_start_ = true;
          skip_line_ = false;
        }
        if (i < n && cls[static_cast<unsigned char>(data[i])] == 3) ThrowNul(i);
        if (i == n) break;
        in_token_ = true;
        token_begin_ = i;
        pending_.clear();
        token_size_ = 0;
        overlong_ = false;
      }
      // Inside a token: advance to its end, lowercasing.
      std::size_t j = i;
      for (; j < n; ++j) {
        const unsigned char k = cls[static_cast<unsigned char>(data[j])];
        if (k == 0) continue;
        if (k != 4) break;  // whitespace or NUL ends the token
        data[j] = static_cast<char>(data[j] + ('a' - 'A'));
      }
      if (j < n && cls[static_cast<unsigned char>(data[j])] == 3) ThrowNul(j);
      if (j == n) {  // token continues in the next buffer
        Carry(data + token_begin_, j - token_begin_);
        token_begin_ = 0;
        offset_ += n;
        return;
      }
      if (pending_.empty() && !overlong_) {
        Emit(std::string_view(data + token_begin_, j - token_begin_), j - token_begin_, sink);
      } else {
        Carry(data + token_begin_, j - token_begin_);
        Emit(std::string_view(pending_), token_size_, sink);
      }
      in_token_ = false;
      pending_.clear();
      i = j;
    }
    offset_ += n;
  }

  // Ends the input: a token running to the end of input is complete.
  template <class Sink>
  void Finish(Sink& sink) {
    if (in_token_) Emit(std::string_view(pending_), token_size_, sink);
    in_token_ = false;
    pending_.clear();
  }

  bool InToken() const { return in_token_; }
  bool AtLineStart() const { return line_start_ && !in_token_; }
  std::uint64_t n_overlong() const { return n_overlong_; }
  std::uint64_t n_tokens() const { return n_tokens_; }  // tokens passed to the sink

 private:
  // Tags are at most this long ("</doc>"), so this much of a token is kept however long it is.
  static constexpr std::size_t kTagBytes = 6;

  // A token of `size` bytes ends; `tok` is all of it, or its first kTagBytes bytes when it is
  // overlong and was carried across buffers. In a WikiExtractor file a tag is recognized before
  // the length limit applies (it is markup, not text), and a line is a tag line only when its
  // first token is one, overlong tokens included.
  template <class Sink>
  void Emit(std::string_view tok, std::uint64_t size, Sink& sink) {
    if (format_ == TextFormat::kWiki) {
      if (skip_line_) return;
      if (line_start_) {
        line_start_ = false;
        if (IsTag(tok, size)) {
          skip_line_ = true;
          sink.Boundary();
          return;
        }
      }
    }
    line_start_ = false;
    if (size > max_token_) {
      ++n_overlong_;
      return;
    }
    ++n_tokens_;
    sink.Token(tok);
  }

  static bool IsTag(std::string_view head, std::uint64_t size) {
    if (size == kTagBytes && head == "</doc>") return true;
    return head.substr(0, 4) == "<doc" && (size == 4 || (head.size() > 4 && head[4] == '>'));
  }

  // Keeps the bytes of a token cut by the buffer end: all of them up to the length limit (or
  // kTagBytes, if larger), else only the first kTagBytes, in bounded memory.
  void Carry(const char* p, std::size_t len) {
    token_size_ += len;
    if (!overlong_ && pending_.size() + len > std::max(max_token_, kTagBytes)) {
      overlong_ = true;
      if (pending_.size() > kTagBytes) pending_.resize(kTagBytes);
      pending_.shrink_to_fit();
    }
    if (overlong_)
      pending_.append(p, std::min(len, kTagBytes - std::min(kTagBytes, pending_.size())));
    else
      pending_.append(p, len);
  }

  [[noreturn]] void ThrowNul(std::size_t i) const {
    throw Error(where_ + ": NUL byte at offset " + std::to_string(offset_ + i) + " (binary data, not a text corpus)");
  }

  TextFormat format_;
  std::string where_;
  std::uint64_t offset_;
  std::size_t max_token_;
  bool in_token_ = false;
  bool overlong_ = false;
  bool line_start_ = true;
  bool skip_line_ = false;
  std::size_t token_begin_ = 0;
  std::string pending_;           // a carried token (see Carry)
  std::uint64_t token_size_ = 0;  // its length so far
  std::uint64_t n_overlong_ = 0;
  std::uint64_t n_tokens_ = 0;
};

}  // namespace qwem
