#!/usr/bin/python3
"""Fuzz test of qwem-dist's input handling against the serial reference (tests/reference.cpp).

A fixed-seed generator makes small corpora of random bytes, whitespace runs, WikiExtractor tag
variants, overlong tokens, NUL bytes and gzip files (valid, multi-member, truncated,
bit-flipped), with random options. Each is run through qwem-dist (--counts-only
--save-cooccurrence) on NP ranks:
  * a valid corpus must give exit 0 and exactly the reference's vocabulary, totals and counts
    (or, when the reference finds no token or no word reaching --min-count, exit 1);
  * an invalid one (a NUL byte, a damaged gzip file) must give exit 1 and one error line;
  * never a hang, a signal, another exit status, or an output file left by a failed run.

Usage: fuzz_test.py QWEM_DIST QWEM_REFERENCE [CASES] [NP] [SEED]
(ctest runs 240 cases on 2 ranks; QWEM_FUZZ_CASES=5000 for a release check.)
"""
import gzip
import os
import random
import shutil
import subprocess
import sys
import tempfile
import zlib

import h5py
import numpy as np

LIMIT = 600  # seconds per run: only to catch a hang


def random_word(rng):
    kind = rng.random()
    if kind < 0.6:
        return "".join(rng.choice("abcdeABCDE") for _ in range(rng.randint(1, 4))).encode()
    if kind < 0.75:
        return rng.choice(["café", "naïve", "東京", "ÉTÉ"]).encode()
    if kind < 0.85:
        return bytes(rng.choice(b"!?.,;<>/\\\"'-_") for _ in range(rng.randint(1, 3)))
    if kind < 0.95:
        return b"x" * rng.randint(5, 40)  # overlong for small --max-token-bytes
    return bytes(rng.randint(0x80, 0xFF) for _ in range(rng.randint(1, 3)))  # not UTF-8


SPACES = [b" ", b"  ", b"\t", b"\n", b"\n\n", b"\r\n", b"\v", b"\f", b" \n "]
TAGS = [b'<doc id="1" url="u" title="t">', b"<doc>", b"</doc>", b"<docx>", b"<doc", b"</doc> tail", b"<DOC>"]


def text_body(rng, wiki):
    parts = []
    for _ in range(rng.randint(0, 60)):
        r = rng.random()
        if wiki and r < 0.12:
            parts.append(b"\n" + rng.choice(TAGS) + b"\n")
        else:
            parts.append(random_word(rng) if r < 0.8 else rng.choice(SPACES))
        parts.append(rng.choice(SPACES) if rng.random() < 0.7 else b"")
    body = b"".join(parts)
    if wiki:
        body = rng.choice([b"", b" \n", b"\t"]) + b'<doc id="0">\n' + body
    return body


def make_file(rng):
    """(bytes, valid): one corpus file."""
    r = rng.random()
    if r < 0.05:
        return b"", True
    if r < 0.1:
        return b" \n\t " * rng.randint(1, 5), True
    if r < 0.13:
        return text_body(rng, False) + b"\x00" + text_body(rng, False), False  # NUL: binary data
    body = text_body(rng, rng.random() < 0.3)
    if r < 0.65:
        return body, True
    member = gzip.compress(body, mtime=0)
    if r < 0.77:
        return member, True
    if r < 0.87:  # multi-member: zlib's gzread reads on
        return member + gzip.compress(text_body(rng, False), mtime=0), True
    if r < 0.93:  # truncated
        cut = rng.randint(10, max(10, len(member) - 1))
        return member[:cut], False
    flipped = bytearray(member)
    at = rng.randrange(10, len(flipped)) if len(flipped) > 10 else len(flipped) - 1
    flipped[at] ^= 1 << rng.randrange(8)
    flipped = bytes(flipped)
    try:
        valid = gzip.decompress(flipped) is not None
    except (OSError, EOFError, zlib.error):
        valid = False
    return flipped, valid


def reference(tool, corpus, vocab_size, min_count, window, max_token):
    out = subprocess.run([tool, corpus, str(vocab_size), str(min_count), str(window), str(max_token)],
                         capture_output=True, check=True, timeout=LIMIT).stdout.decode().split("\n")
    total, distinct, pairs, V = map(int, out[0].split())
    words = [bytes.fromhex(line.split()[0]) for line in out[1:1 + V]]
    counts = [int(line.split()[1]) for line in out[1:1 + V]]
    C = {}
    for line in out[1 + V:]:
        if line:
            i, j, c = map(int, line.split())
            C[(i, j)] = c
    return dict(total=total, distinct=distinct, pairs=pairs, words=words, counts=counts, C=C)


def program_counts(path):
    f = h5py.File(path, "r")
    words = [bytes(w) for w in f["/vocab/words"][:]]
    counts = [int(c) for c in f["/vocab/counts"][:]]
    a = f["/corpus"].attrs
    ip, ix, d = f["/cooccurrence/indptr"][:], f["/cooccurrence/indices"][:], f["/cooccurrence/data"][:]
    rows = np.repeat(np.arange(len(ip) - 1), np.diff(ip))
    C = {(int(i), int(j)): int(c) for i, j, c in zip(rows, ix, d)}
    return dict(total=int(a["n_total_tokens"]), distinct=int(a["n_distinct_words"]), pairs=int(a["n_pairs"]),
                words=words, counts=counts, C=C)


def main():
    binary, tool = sys.argv[1], sys.argv[2]
    cases = int(sys.argv[3]) if len(sys.argv) > 3 else int(os.environ.get("QWEM_FUZZ_CASES", "240"))
    np_ = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else 2026
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OPENBLAS_NUM_THREADS="1")
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="qwem-fuzz-")
    failures, tally = [], {"matched": 0, "refused (invalid)": 0, "refused (nothing to count)": 0}
    try:
        for case in range(cases):
            corpus = os.path.join(work, "c%d" % case)
            os.makedirs(corpus)
            valid = True
            for k in range(rng.randint(1, 4)):
                data, ok = make_file(rng)
                sub = os.path.join(corpus, "d" if rng.random() < 0.3 else "")
                os.makedirs(sub, exist_ok=True)
                hidden = rng.random() < 0.05  # names starting with '.' are not read
                name = ("." if hidden else "") + "f%d%s" % (k, ".gz" if data[:2] == b"\x1f\x8b" else ".txt")
                valid = valid and (ok or hidden)
                with open(os.path.join(sub, name), "wb") as out:
                    out.write(data)
            V, mc, L = rng.randint(1, 40), rng.choice([1, 1, 2, 3]), rng.randint(1, 8)
            mt = rng.choice([3, 8, 1000])
            out = os.path.join(work, "o%d.h5" % case)
            cmd = ["mpirun", "-q", "-n", str(np_), binary, "--corpus", corpus, "--vocab-size", str(V), "--min-count",
                   str(mc), "--window", str(L), "--max-token-bytes", str(mt), "--counts-only", "--save-cooccurrence",
                   "--count-buffer-mb", "1", "--out", out]
            what = "case %d (%s)" % (case, " ".join(cmd[5:-2]))
            try:
                run = subprocess.run(cmd, capture_output=True, timeout=LIMIT, env=env)
            except subprocess.TimeoutExpired:
                failures.append(what + ": no exit within %d s" % LIMIT)
                continue
            err = run.stderr.decode(errors="replace")
            error_lines = [line for line in err.split("\n") if line.startswith("qwem-dist: error:")]
            if not valid:
                expect_exit, why = 1, "refused (invalid)"
            else:
                ref = reference(tool, corpus, V, mc, L, mt)
                nothing = ref["total"] == 0 or not ref["words"]
                expect_exit, why = (1, "refused (nothing to count)") if nothing else (0, "matched")
            if run.returncode != expect_exit:
                failures.append(what + ": exit %d, expected %d: %s" % (run.returncode, expect_exit, err.strip()[:300]))
            elif expect_exit == 1 and (len(error_lines) != 1 or os.path.exists(out) or os.path.exists(out + ".partial")):
                failures.append(what + ": a failed run must print one error line and leave no file: " + err[:300])
            elif expect_exit == 0:
                got = program_counts(out)
                diff = [k for k in ref if ref[k] != got[k]]
                if diff:
                    failures.append(what + ": differs from the reference in " + ", ".join(diff))
                else:
                    tally[why] += 1
            else:
                tally[why] += 1
            keep = os.environ.get("QWEM_FUZZ_KEEP")  # a folder to keep the failing corpora in
            if keep and failures and failures[-1].startswith(what):
                shutil.copytree(corpus, os.path.join(keep, "c%d" % case))
            shutil.rmtree(corpus)
            if os.path.exists(out):
                os.remove(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print("FAIL " + f)
    print("%d cases on %d ranks (seed %d): %s; %d failed" % (
        cases, np_, seed, ", ".join("%d %s" % (v, k) for k, v in tally.items()), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
