#!/usr/bin/python3
"""Builds a large corpus for scale tests from the data in ../shared/data (third-party text; see
its PROVENANCE.md): the 308 Project Gutenberg books of gutenberg.txt.xz (cut at the books' shares
of the text by the word counts of gutenberg-manifest.tsv) and the text8 prefix (Wikipedia, cut into documents of
10,000 words: text8 has lost its article boundaries), repeated with the documents shuffled anew
for each copy (seeded), until about --tokens tokens. Written as WikiExtractor files (one
<doc id=...> block per document, so windows never cross documents), --file-mb per file.

Repetition adds tokens, not vocabulary or new co-occurring pairs: the counts are the source
corpus's times the copies (up to the documents' order), which is what a scale test of the
counting, reduction and I/O needs, and what it must not be mistaken for (new text).

Usage: /usr/bin/python3 share/bench/make_corpus.py DATA_DIR OUT_DIR [--tokens 1e9] [--seed 1]
"""
import argparse
import lzma
import os
import random


def documents(data):
    books = []
    # newline="\n": some book titles in the manifest contain a carriage return.
    with open(os.path.join(data, "gutenberg-manifest.tsv"), encoding="utf-8", newline="\n") as f:
        next(f)
        sizes = [int(line.rstrip("\n").split("\t")[3]) for line in f if line.startswith("used\t")]
    with lzma.open(os.path.join(data, "gutenberg.txt.xz"), "rt", encoding="utf-8") as f:
        words = f.read().split()
    # The manifest counts the raw books' words (19.14M against the normalized text's 19.05M), so
    # the cuts are at the books' shares of the text: documents of the books' sizes, boundaries
    # approximate.
    total, at, seen = sum(sizes), 0, 0
    for n in sizes:
        seen += n
        end = round(len(words) * seen / total)
        books.append(" ".join(words[at:end]))
        at = end
    with lzma.open(os.path.join(data, "text8-prefix.txt.xz"), "rt", encoding="utf-8") as f:
        words = f.read().split()
    for at in range(0, len(words), 10000):
        books.append(" ".join(words[at:at + 10000]))
    return books


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--tokens", type=float, default=1e9)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--file-mb", type=int, default=256)
    a = ap.parse_args()
    docs = documents(a.data)
    per_copy = sum(d.count(" ") + 1 for d in docs)
    copies = max(1, round(a.tokens / per_copy))
    os.makedirs(a.out, exist_ok=False)
    rng = random.Random(a.seed)
    n_file, written, doc_id, f = 0, 0, 0, None
    for copy in range(copies):
        order = list(range(len(docs)))
        rng.shuffle(order)
        for i in order:
            if f is None or written >= a.file_mb << 20:
                if f:
                    f.close()
                f = open(os.path.join(a.out, f"part-{n_file:04d}.txt"), "w", encoding="utf-8")
                n_file, written = n_file + 1, 0
            block = f'<doc id="{doc_id}" copy="{copy}">\n{docs[i]}\n</doc>\n'
            f.write(block)
            written += len(block)
            doc_id += 1
    f.close()
    print(f"{copies} copies of {len(docs)} documents ({per_copy} words each copy): {copies * per_copy} tokens "
          f"in {n_file} files under {a.out}")


if __name__ == "__main__":
    main()
