// The tokenizer alone (no MPI): chunking must not matter, and the rules of SCIENCE.md section 1.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "qwem/tokenizer.hpp"

namespace {

using qwem::TextFormat;
using qwem::Tokenizer;

struct Collect {
  std::vector<std::string> out;
  void Token(std::string_view t) { out.emplace_back(t); }
  void Boundary() { out.emplace_back("|"); }
};

std::vector<std::string> Tokenize(std::string text, TextFormat f, std::size_t chunk, std::size_t max_token = 1000) {
  Tokenizer tok(f, "test", 0, max_token);
  Collect sink;
  for (std::size_t i = 0; i < text.size(); i += chunk)
    tok.Feed(text.data() + i, std::min(chunk, text.size() - i), sink);
  tok.Finish(sink);
  return sink.out;
}

TEST(Tokenizer, SplitsOnAsciiWhitespaceAndLowercasesAsciiOnly) {
  const auto toks = Tokenize("The\tQUICK\r\nbrown\v\ffox  Ünïcode ÉTÉ x", TextFormat::kPlain, 1000);
  ASSERT_EQ(toks.size(), 7u);
  EXPECT_EQ(toks[0], "the");
  EXPECT_EQ(toks[1], "quick");
  EXPECT_EQ(toks[3], "fox");
  EXPECT_EQ(toks[4], "Ünïcode");  // non-ASCII bytes kept as they are
  EXPECT_EQ(toks[5], "ÉtÉ");      // only A-Z lowercased
  EXPECT_EQ(toks[6], "x");
}

TEST(Tokenizer, ChunkSizeDoesNotChangeTokens) {
  std::mt19937 rng(7);
  std::string text;
  const char* pieces[] = {"alpha", "Beta", "g", " ", "  ", "\n", "\t", "<doc", "</doc>", "xyzzyXYZZY"};
  for (int i = 0; i < 5000; ++i) text += pieces[rng() % 10];
  for (TextFormat f : {TextFormat::kPlain, TextFormat::kWiki}) {
    const auto whole = Tokenize(text, f, text.size());
    for (std::size_t chunk : {1, 2, 3, 7, 64, 4096}) EXPECT_EQ(Tokenize(text, f, chunk), whole) << "chunk " << chunk;
  }
}

TEST(Tokenizer, WikiTagLinesAreBoundariesNotText) {
  const std::string text =
      "<doc id=\"1\" url=\"u\" title=\"A\">\nA\n\nfirst text\n</doc>\n<doc id=\"2\">\nsecond <doc not a tag\n</doc>\n";
  const std::vector<std::string> want = {"|", "a", "first", "text", "|", "|", "second", "<doc", "not", "a", "tag", "|"};
  EXPECT_EQ(Tokenize(text, TextFormat::kWiki, 5), want);
  // The same bytes as plain text are all text.
  const auto plain = Tokenize(text, TextFormat::kPlain, 5);
  EXPECT_EQ(plain.front(), "<doc");
  EXPECT_EQ(std::count(plain.begin(), plain.end(), "|"), 0);
}

TEST(Tokenizer, AnOverlongFirstTokenMakesTheLineTextWhereverTheBufferEnds) {
  // The first token of the second line is overlong (skipped): the line is text, so the "<doc"
  // after it is a token, as in the serial reference. Small chunks carry the overlong token
  // across buffers, which once left the line-start state set and made "<doc" a tag.
  const std::string text = "<doc id=1>\n" + std::string(50, 'x') + " <doc x>\nword\n</doc>\n";
  const std::vector<std::string> want = {"|", "<doc", "x>", "word", "|"};
  for (std::size_t chunk : {1, 3, 7, 20, 100000})
    EXPECT_EQ(Tokenize(text, TextFormat::kWiki, chunk, 8), want) << "chunk " << chunk;
}

TEST(Tokenizer, TagsAreTagsWhateverTheLengthLimit) {
  // "</doc>" and "<doc>..." are markup: a --max-token-bytes below their length (or a first token
  // "<doc>" with a long tail) does not make them text, wherever the buffers end (the fuzz test
  // found the limit applied first).
  const std::string text = "<doc>\nab cd\n</doc>\n<doc>" + std::string(40, 'y') + " zz\nef\n</doc>\n";
  const std::vector<std::string> want = {"|", "ab", "cd", "|", "|", "ef", "|"};
  for (std::size_t chunk : {1, 2, 5, 9, 100000})
    EXPECT_EQ(Tokenize(text, TextFormat::kWiki, chunk, 3), want) << "chunk " << chunk;
}

TEST(Tokenizer, NulByteIsAnError) {
  const std::string text = "fine words" + std::string(1, '\0') + " here";
  try {
    Tokenize(text, TextFormat::kPlain, 3);
    FAIL() << "no error for a NUL byte";
  } catch (const qwem::Error& e) {
    EXPECT_NE(std::string(e.what()).find("offset 10"), std::string::npos) << e.what();
  }
}

TEST(Tokenizer, OverlongTokensAreSkippedWithBoundedMemory) {
  const std::string text = "short " + std::string(5000, 'a') + " tail " + std::string(10, 'b');
  for (std::size_t chunk : {1, 100, 100000}) {
    Tokenizer tok(TextFormat::kPlain, "t", 0, 8);
    Collect sink;
    std::string copy = text;
    for (std::size_t i = 0; i < copy.size(); i += chunk)
      tok.Feed(copy.data() + i, std::min(chunk, copy.size() - i), sink);
    tok.Finish(sink);
    EXPECT_EQ(sink.out, (std::vector<std::string>{"short", "tail"}));
    EXPECT_EQ(tok.n_overlong(), 2u);
  }
}

}  // namespace
