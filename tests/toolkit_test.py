#!/usr/bin/python3
"""The researcher's toolkit (issue 16), end to end against independent oracles.

  * the Python package (share/python/qwem): load() against h5py, the counts CSR against a numpy
    count of the README's window rule, evaluation against the run's own /eval and gensim,
    word2vec files, compare(), the command-line tools and their errors;
  * --counts-from (same eigenpairs as counting again, at other rank counts; refused when the
    window or vocabulary settings differ), --save-vocab / --read-vocab (round trip), --cds and
    --shift (against a dense numpy eigensolve of the hyperwords matrices), --embeddings w+c,
    --no-theory, and the bugs: --eigen-from checks the target, nu and --dim; an undefined
    Spearman is NaN; gd's summary; similarity files with a header and extra columns;
  * progress lines while reading, counting and solving, one PETSc log stage per phase, and the
    README's options table naming every option of --help.

Usage: toolkit_test.py QWEM_DIST NP SHARE_DIR
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

QWEM, NP, SHARE = sys.argv[1], int(sys.argv[2]), os.path.abspath(sys.argv[3])
sys.path.insert(0, os.path.join(SHARE, "python"))
import qwem  # noqa: E402

LIMIT = 900  # seconds per run: only to catch a hang
CORPUS = os.path.join(SHARE, "corpus")
QUESTIONS = os.path.join(SHARE, "questions-words.txt")
SIMLEX = os.path.join(SHARE, "EN-SIMLEX-999.txt")
FAILURES = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        FAILURES.append(what)


def run(args, np_=NP, expect=0):
    cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-n", str(np_), QWEM] + args
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=LIMIT, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    if p.returncode != expect:
        print(" ".join(cmd), "\n", p.stdout[-3000:], p.stderr[-3000:])
    check(p.returncode == expect, f"exit {expect}: qwem-dist {' '.join(args)}")
    return p


def py(args, expect=0):
    env = dict(os.environ, PYTHONPATH=os.path.join(SHARE, "python"))
    p = subprocess.run(["/usr/bin/python3", "-m", "qwem"] + args, capture_output=True, text=True, timeout=LIMIT, env=env)
    if p.returncode != expect:
        print(p.stdout[-2000:], p.stderr[-2000:])
    check(p.returncode == expect, f"exit {expect}: python3 -m qwem {' '.join(args)}")
    return p


def error_line(p):
    lines = [l for l in p.stderr.splitlines() if l.startswith("qwem")]
    return lines[0] if lines else ""


def window_counts(words, vocab, L):
    """The README's rule, independently: OOV tokens removed, C[a, b] and C[b, a] += L + 1 - j for
    the pair at distance j = 1..L (the bundled corpus is one document)."""
    index = {w: i for i, w in enumerate(vocab)}
    ids = np.array([index[w] for w in words if w in index], dtype=np.int64)
    V = len(vocab)
    C = np.zeros(V * V)
    n_pairs = 0
    for j in range(1, L + 1):
        a, b = ids[:-j], ids[j:]
        C += np.bincount(a * V + b, minlength=V * V) * (L + 1 - j)
        C += np.bincount(b * V + a, minlength=V * V) * (L + 1 - j)
        n_pairs += 2 * len(a)
    return C.reshape(V, V), n_pairs


def main():
    tmp = tempfile.mkdtemp(prefix="qwem_toolkit_")
    os.chdir(tmp)
    V, L, d = 1000, 8, 40
    base = ["--corpus", CORPUS, "--vocab-size", str(V), "--window", str(L), "--dim", str(d)]

    # ---- A closed-form run with everything saved, and its files through the Python package ----
    run(base + ["--out", "a.h5", "--save-cooccurrence", "--save-vocab", "vocab.txt", "--export-w2v", "a.txt"])
    run(["--counts-from", "a.h5", "--dim", str(d), "--out", "a2.h5", "--export-w2v", "a.bin"])
    a = qwem.load("a.h5")
    with h5py.File("a.h5", "r") as f:
        raw_words = [w.decode() for w in f["vocab/words"][()]]
        check(a.words == raw_words and np.array_equal(a.embeddings, f["embeddings"][()]),
              "load(): words and embeddings as stored")
        check(np.array_equal(a.spectrum.eigenvalues, f["spectrum/eigenvalues"][()]) and a.spectrum.target == "mstar",
              "load(): spectrum and its typed attributes")
    s = a.settings
    check(s.window == L and isinstance(s.window, int) and s.vocab_size == V and s.target == "mstar"
          and isinstance(s.ns_weight, float) and s.eig_power == 0.5, "load(): settings typed (int, float, str)")

    with open(os.path.join(CORPUS, "text8-sample.txt"), encoding="utf-8") as f:
        tokens = f.read().split()
    C_ref, n_pairs_ref = window_counts(tokens, a.words, L)
    C = a.cooccurrence()
    check(C.shape == (V, V) and np.array_equal(C.toarray(), C_ref), "cooccurrence(): CSR equals a numpy count of the window rule")
    check(a.corpus["n_pairs"] == n_pairs_ref, f"/corpus n_pairs = {n_pairs_ref} (numpy count)")

    # Evaluation in Python equals the run's own /eval (3CosAdd, both protocols; Spearman).
    for protocol, group in (("standard", "analogy_standard"), ("pairs", "analogy_pairs")):
        r = qwem.analogy(a, QUESTIONS, protocol=protocol)
        check(r["overall"]["correct"] == a.eval[group]["overall_correct"]
              and r["overall"]["total"] == a.eval[group]["overall_total"],
              f"analogy {protocol}: {r['overall']['correct']} of {r['overall']['total']} as the run's /eval")
    for name in ("EN-WS-353-ALL.txt", "EN-SIMLEX-999.txt"):
        r = qwem.similarity(a, os.path.join(SHARE, name))
        stored = a.eval["similarity"][name]
        check(abs(r["spearman"] - stored["spearman"]) < 1e-12 and r["n_covered"] == stored["n_covered"],
              f"similarity {name}: Spearman {r['spearman']:.6f} as the run's /eval")
    mul = qwem.analogy(a, QUESTIONS, method="3cosmul")
    check(mul["overall"]["total"] == a.eval["analogy_standard"]["overall_total"], "3CosMul answers the same questions")

    # gensim: KeyedVectors from load(), its own evaluation and neighbours agree with ours.
    try:
        import gensim  # noqa: F401
        have_gensim = True
    except ImportError:
        have_gensim = False
    if have_gensim:
        kv = a.keyed_vectors()
        score, _ = kv.evaluate_word_analogies(QUESTIONS)
        ours = qwem.analogy(a, QUESTIONS)["overall"]["accuracy"]
        check(abs(score - ours) <= 1.0 / a.eval["analogy_standard"]["overall_total"] + 1e-12,
              f"gensim's evaluate_word_analogies {score:.4f} = ours {ours:.4f} (within one question: float32)")
        g = [w for w, _ in kv.most_similar("king", topn=5)]
        o = [w for w, _ in qwem.most_similar(a, "king", topn=5)]
        check(g == o, f"most_similar('king') as gensim's: {o}")
        kv.most_similar_cosmul(positive=["king"], topn=1)
    else:
        print("skip gensim checks (python3-gensim not installed)")

    # word2vec files: text and binary load as the same words and vectors (float32 / %.8g).
    t, b = qwem.load("a.txt"), qwem.load("a.bin")
    check(t.words == a.words and b.words == a.words, "word2vec text and binary: the same words")
    check(np.allclose(t.embeddings, a.embeddings, rtol=1e-7, atol=1e-7 * np.abs(a.embeddings).max())
          and np.allclose(b.embeddings, a.embeddings, rtol=1e-6, atol=1e-6 * np.abs(a.embeddings).max()),
          "word2vec text and binary: the same vectors (to float32)")
    rb = qwem.analogy(b, QUESTIONS)
    check(abs(rb["overall"]["correct"] - a.eval["analogy_standard"]["overall_correct"]) <= 2,
          f"analogy on the .bin file: {rb['overall']['correct']} correct (run: {a.eval['analogy_standard']['overall_correct']})")

    # Similarity files with a header and extra columns (the original SimLex-999 layout).
    pairs = qwem.read_similarity(SIMLEX)
    with open("simlex_original.txt", "w") as f:
        f.write("word1\tword2\tPOS\tSimLex999\tconc(w1)\tconc(w2)\n")
        for w1, w2, score in pairs:
            f.write(f"{w1}\t{w2}\tN\t{score}\t4.5\t3.2\n")
    with open("rw_like.txt", "w") as f:
        for w1, w2, score in pairs:
            f.write(f"{w1} {w2} {score} " + " ".join(["7"] * 10) + "\n")
    ref = qwem.similarity(a, SIMLEX)["spearman"]
    check(qwem.similarity(a, "simlex_original.txt")["spearman"] == ref == qwem.similarity(a, "rw_like.txt")["spearman"],
          "Python: header and extra columns read as the plain file")
    with open("undefined.txt", "w") as f:
        f.write("zzzzqq yyyyqq 3.0\nthe of 2.0\n")
    with open("broken.txt", "w") as f:
        f.write("old new 1.5\nold new\n")
    p = run(base + ["--out", "sim.h5", "--analogies", "none", "--similarity", "simlex_original.txt", "rw_like.txt",
                    "undefined.txt"])
    sim = qwem.load("sim.h5").eval["similarity"]
    check(abs(sim["simlex_original.txt"]["spearman"] - ref) < 1e-12 and abs(sim["rw_like.txt"]["spearman"] - ref) < 1e-12,
          "qwem-dist: header and extra columns read as the plain file")
    check(math.isnan(sim["undefined.txt"]["spearman"]) and "Spearman undefined" in p.stdout,
          "Spearman of fewer than 2 covered pairs: NaN in the file, 'undefined' in the log")
    p = run(base + ["--out", "x.h5", "--similarity", "broken.txt"], expect=1)
    check("broken.txt' line 2" in error_line(p), "a similarity line without a score: one error naming the line")

    # compare(): a run against itself, and against PPMI.
    rows = {r[0]: r for r in qwem.compare(a, a)}
    check(abs(rows["embedding subspace overlap top-10"][3] - 1) < 1e-9 and rows["Procrustes distance (unit norms)"][3] < 1e-6
          and rows["neighbour overlap@10 (1000 words)"][3] == 1.0, "compare(a, a): overlap 1, distance 0")
    run(["--counts-from", "a.h5", "--dim", str(d), "--target", "ppmi", "--out", "ppmi.h5"])
    rows = {r[0]: r for r in qwem.compare(a, qwem.load("ppmi.h5"), questions=QUESTIONS)}
    ov = rows["embedding subspace overlap top-10"][3]
    check(0.05 < ov < 0.999 and rows["Procrustes distance (unit norms)"][3] > 0.01, f"compare(M*, PPMI): overlap {ov:.3f}")
    check(abs(rows["analogy standard (a, b, b - a)"][1] - a.eval["analogy_standard"]["overall_accuracy"]) < 1e-12,
          "compare(): analogy column a is the run's accuracy")

    # The command-line tools.
    p = py(["evaluate", "a.h5", "--json", "--similarity", SIMLEX])
    res = json.loads(p.stdout)
    check(len(res["analogy"]) == 4 and res["analogy"][0]["overall"]["correct"] == a.eval["analogy_standard"]["overall_correct"],
          "python3 -m qwem evaluate --json: both methods x both protocols")
    p = py(["evaluate", "a.bin", "--similarity", "simlex_original.txt", "--method", "3cosadd", "--protocol", "standard"])
    check("analogy 3cosadd standard" in p.stdout and "Spearman" in p.stdout, "evaluate on a word2vec file")
    p = py(["neighbors", "a.h5", "his", "she", "--negative", "he", "--topn", "3"])
    check(len(p.stdout.splitlines()) == 4, "neighbors with --negative: 3 answers")
    p = py(["neighbors", "a.h5", "zzzznotaword"], expect=1)
    check(p.stderr.strip().startswith("qwem: error:") and len(p.stderr.strip().splitlines()) == 1,
          "neighbors of an unknown word: one error line")
    p = py(["compare", "a.h5", "ppmi.h5", "--analogies", "none"])
    check("subspace overlap" in p.stdout, "python3 -m qwem compare prints the table")
    p = py(["info", "nosuchfile.h5"], expect=1)
    check("nosuchfile.h5" in p.stderr, "info on a missing file: one error line")

    # ---- --counts-from: the same eigenpairs as counting again, on other rank counts ----
    for np_ in sorted({1, 3, NP}):
        run(["--counts-from", "a.h5", "--dim", str(d), "--out", f"c{np_}.h5"], np_=np_)
        c = qwem.load(f"c{np_}.h5")
        rel = np.abs(c.spectrum.eigenvalues - a.spectrum.eigenvalues).max() / a.spectrum.eigenvalues[0]
        check(rel < 1e-10 and c.words == a.words and c.settings.window == L and c.settings.counts_from == "a.h5",
              f"--counts-from on {np_} ranks: eigenvalues as counting again (rel. diff {rel:.1e}), settings adopted")
    with h5py.File("c1.h5", "r") as f:
        check(dict(f["corpus"].attrs)["n_pairs"] == n_pairs_ref, "--counts-from keeps /corpus's totals")
    for args, needle in ((["--window", "4"], "counted with --window 8, not 4"),
                         (["--vocab-size", "500"], "--vocab-size 1000, not 500"),
                         (["--min-count", "3"], "--min-count 1, not 3")):
        p = run(["--counts-from", "a.h5", "--out", "x.h5"] + args, expect=1)
        check(needle in error_line(p), f"--counts-from refuses {' '.join(args)}: {error_line(p)}")
    p = run(["--counts-from", "a2.h5", "--out", "x.h5"], expect=1)
    check("--save-cooccurrence" in error_line(p), "--counts-from a file without counts: says --save-cooccurrence")
    run(["--counts-from", "a.h5", "--corpus", CORPUS, "--out", "x.h5"], expect=2)
    run(["--counts-from", "a.h5", "--mode", "sgd", "--loss", "sgns", "--sampling", "windows", "--out", "x.h5"], expect=2)

    # ---- --save-vocab / --read-vocab ----
    with open("vocab.txt") as f:
        lines = [l.split() for l in f]
    check([w for w, _ in lines] == a.words and [int(c) for _, c in lines] == a.counts.tolist(),
          "--save-vocab: 'word count' lines in id order")
    a.save_vocab("vocab_py.txt")
    with open("vocab_py.txt") as f1, open("vocab.txt") as f2:
        check(f1.read() == f2.read() and qwem.read_vocab("vocab.txt") == list(zip(a.words, a.counts.tolist())),
              "Python save_vocab() writes what --save-vocab writes; read_vocab() reads it")
    with open("vocab_w2v.txt", "w") as f:  # word2vec's own file starts with </s>; reverse the order too
        f.write("</s> 123\n" + "".join(f"{w} {c}\n" for w, c in reversed(lines)) + "notinthecorpusqq 5\n")
    p = run(["--corpus", CORPUS, "--read-vocab", "vocab_w2v.txt", "--window", str(L), "--dim", str(d), "--out", "r.h5"])
    r = qwem.load("r.h5")
    check(r.words == a.words and np.abs(r.spectrum.eigenvalues - a.spectrum.eigenvalues).max() < 1e-9 * a.spectrum.eigenvalues[0],
          "--read-vocab of --save-vocab's words: the same vocabulary and eigenpairs")
    check("1 of the 1001 words of --read-vocab do not occur" in p.stderr, "--read-vocab warns of words not in the corpus")
    with open("dup.txt", "w") as f:
        f.write("the 5\nof 4\nthe 3\n")
    p = run(["--corpus", CORPUS, "--read-vocab", "dup.txt", "--out", "x.h5"], expect=1)
    check("line 3: 'the' is listed twice" in error_line(p), "--read-vocab: a repeated word names its line")
    run(["--corpus", CORPUS, "--read-vocab", "vocab.txt", "--vocab-size", "10", "--out", "x.h5"], expect=2)
    p = run(["--corpus", CORPUS, "--read-vocab", tmp, "--out", "x.h5"], expect=1)
    check("is not a regular file" in error_line(p), "--read-vocab of a directory: one error line")

    # ---- --cds and --shift against a dense numpy eigensolve of hyperwords' matrices ----
    P = C_ref / (n_pairs_ref * (L + 1) / 2)
    n = a.counts.astype(np.float64)
    Pi = n / n.sum()
    for target, cds, shift in (("ppmi", 0.75, 1), ("ppmi", 1, 5), ("pmi", 0.75, 5), ("mstar", 0.75, 1)):
        args = ["--counts-from", "a.h5", "--dim", "10", "--target", target, "--cds", str(cds), "--out", "h.h5"]
        if shift != 1:
            args += ["--shift", str(shift)]
        run(args)
        r_i = np.sqrt(Pi * n ** cds / (n ** cds).sum())
        Q = np.outer(r_i, r_i)
        with np.errstate(divide="ignore"):
            pmi = np.log(P / Q) - math.log(shift)
        seen = C_ref > 0
        if target == "ppmi":
            M = np.where(seen, np.maximum(pmi, 0), 0)
        elif target == "pmi":
            M = np.where(seen, pmi, pmi[seen].min())
        else:
            M = np.where(seen, 4 * P / (P + Q), 0) - 2
        ref_eig = np.sort(np.linalg.eigvalsh(M))[::-1][:10]
        got = qwem.load("h.h5").spectrum.eigenvalues
        rel = np.abs(got - ref_eig).max() / abs(ref_eig[0])
        check(rel < 1e-8, f"--target {target} --cds {cds} --shift {shift}: eigenvalues = numpy's dense eigh (rel. {rel:.1e})")
    run(["--counts-from", "a.h5", "--shift", "5", "--out", "x.h5"], expect=2)
    run(base + ["--mode", "sgd", "--cds", "0.75", "--out", "x.h5"], expect=2)

    # ---- --eigen-from checks the target, nu and --dim (before any work) ----
    for args, needle in ((["--target", "ppmi"], "holds the eigenpairs of --target mstar, not ppmi"),
                         (["--ns-weight", "5"], "holds M* with --ns-weight 1, not 5"),
                         (["--cds", "0.75"], "--cds 1, not 0.75"),
                         (["--dim", str(d + 10)], f"holds {d} eigenpairs, fewer than --dim {d + 10}")):
        p = run(["--counts-from", "a.h5", "--eigen-from", "a.h5", "--out", "x.h5"] + args, expect=1)
        check(needle in error_line(p) and "load counts" not in p.stdout, f"--eigen-from refuses {' '.join(args)} up front")
    run(["--counts-from", "a.h5", "--eigen-from", "ppmi.h5", "--target", "ppmi", "--dim", "20", "--out", "e.h5"])
    check(np.array_equal(qwem.load("e.h5").spectrum.eigenvalues, qwem.load("ppmi.h5").spectrum.eigenvalues[:20]),
          "--eigen-from a PPMI file with --target ppmi: its first 20 eigenpairs")
    # A training run wants max(2d, d + 50) eigenpairs for its coupled theory: a file with only d
    # is loaded, with a warning that says so; with --theory-modes d there is nothing to warn of.
    train = ["--counts-from", "a.h5", "--eigen-from", "a.h5", "--dim", str(d), "--mode", "sgd", "--steps", "3",
             "--analogies", "none", "--similarity", "none"]
    p = run(train + ["--out", "t1.h5"])
    check(f"holds {d} eigenpairs; the coupled theory wants {d + 50}" in p.stderr
          and qwem.load("t1.h5").training["coupled_eigenvalues"].shape == (d,),
          "--eigen-from with fewer eigenpairs than the coupled theory wants: loaded, and warned of")
    p = run(train + ["--theory-modes", str(d), "--out", "t2.h5"])
    check("the coupled theory wants" not in p.stderr, "--theory-modes d with d eigenpairs: no such warning")

    # ---- Training: gd's summary, --no-theory, --embeddings w+c ----
    small = ["--corpus", CORPUS, "--vocab-size", "300", "--dim", "8", "--analogies", "none", "--similarity", "none"]
    p = run(small + ["--mode", "gd", "--steps", "20", "--out", "gd.h5"])
    summary = p.stdout.strip().splitlines()[-1]
    check("gd on M*: 20 steps" in summary and "gd qwem" not in summary, "gd's summary says 'gd on M*'")
    # --steps auto (the theory's horizon) and the warning of a run too short to show anything.
    p = run(small + ["--mode", "gd", "--steps", "auto", "--lr", "1.5", "--init-scale", "1e-3", "--dim", "4",
                     "--out", "auto.h5"])
    auto_steps = re.search(r"train: --steps auto = (\d+) ", p.stdout)
    check(auto_steps is not None and "4 of the top 4 modes switched on" in p.stdout
          and qwem.load("auto.h5").settings.steps == int(auto_steps.group(1)),
          f"--steps auto: {auto_steps.group(1) if auto_steps else '?'} steps, every mode switched on, recorded")
    p = run(small + ["--mode", "gd", "--steps", "20", "--out", "short.h5"])
    check("warning: no mode switched on in 20 steps" in p.stderr and "raise --steps or --lr" in p.stderr,
          "a run too short for any mode: one warning with the distance to mode 1")
    run(small + ["--mode", "sgd", "--loss", "sgns", "--sampling", "windows", "--steps", "auto", "--out", "x.h5"],
        expect=2)
    p = run(small + ["--mode", "sgd", "--loss", "sgns", "--sampling", "windows", "--steps", "4", "--batch", "50000",
                     "--no-theory", "--embeddings", "w+c", "--out", "w.h5", "--export-w2v", "w.txt"])
    with h5py.File("w.h5", "r") as f:
        W, Cv, E = f["train/state/W"][()], f["train/state/C"][()], f["embeddings"][()]
        check("spectrum" not in f and "train/theory_singular_values" not in f and "theory" in f["train"].attrs,
              "--no-theory: no /spectrum, no theory curves, recorded in /train")
    check(np.array_equal(E, W + Cv), "--embeddings w+c: /embeddings = W + C")
    check(" eigensolve: " not in p.stdout and " target: " not in p.stdout, "--no-theory: no target or eigensolve phase")
    wrun = qwem.load("w.h5")
    check(np.array_equal(wrun.vectors("w+c"), W + Cv) and np.array_equal(wrun.vectors("c"), Cv),
          "load().vectors('c' | 'w+c')")
    check(np.allclose(qwem.load("w.txt").embeddings, W + Cv, rtol=1e-6, atol=1e-7), "--export-w2v exports W + C")
    p = run(small + ["--mode", "sgd", "--loss", "sgns", "--sampling", "windows", "--steps", "8", "--batch", "50000",
                     "--resume", "w.h5", "--out", "w2.h5"], expect=1)
    check("--no-theory" in error_line(p), "a --no-theory checkpoint resumed with theory is refused")
    run(small + ["--mode", "sgd", "--embeddings", "w+c", "--out", "x.h5"], expect=2)

    # ---- Linear representations: a hand-built spiked model, and the run's own pair protocol ----
    from qwem import linear
    rng = np.random.default_rng(7)
    n_pairs, dim, sigma = 200, 100, 0.1
    u = np.zeros(dim)
    u[3] = 1.0
    R = u[None, :] + sigma * rng.standard_normal((n_pairs, dim))
    st = linear.spiked_statistics(R)
    sv = np.linalg.svd(R, compute_uv=False)
    check(abs(st["snr"] - sv[0] ** 2 / ((sv ** 2).sum() / min(n_pairs, dim))) < 1e-9,
          f"SNR = s_1^2 / (sum s_i^2 / rank) of R (numpy's SVD): {st['snr']:.2f}")
    check(abs(st["mp_sigma2"] - sigma ** 2) < 0.05 * sigma ** 2 and st["outlier"] > st["mp_edge"],
          f"Marchenko-Pastur fit: sigma^2 {st['mp_sigma2']:.4f} (true {sigma ** 2}), outlier above the edge")
    check(st["alignment"][3] > 0.9 and st["participation"] < 1.5, "the mean difference is localized on its dimension")
    for ratio in (0.3, 2.5):
        x = np.linspace(0, 5, 200001)
        mass = float(np.trapz(linear.marchenko_pastur_density(x, ratio, 0.7), x))
        check(abs(mass - 1) < 1e-3, f"Marchenko-Pastur density integrates to 1 (gamma {ratio}): {mass:.5f}")
    lin = linear.linear_representations(a, QUESTIONS)
    sections = a.eval["sections"]
    same = True
    for name, rec in lin["families"].items():
        k = sections["name"].index(rec["section"])
        want = sections["pairs_correct"][k] / sections["pairs_total"][k]
        same = same and lin["points"][-1] == d and abs(rec["accuracy"][-1] - want) < 1e-12
    check(same and len(lin["families"]) >= 4, f"family accuracy at d = {d} equals the run's pair protocol per section "
          f"({len(lin['families'])} families)")
    p = py(["linear", "a.h5", "--dims", "4,16,40", "--out", "lin.h5", "--plots", "linplots"])
    with h5py.File("lin.h5", "r") as f:
        check(list(f["analysis/points"][()]) == [4, 16, 40] and f["analysis/country-nationality/snr"].shape == (3,)
              and os.path.exists("linplots/mp_country-nationality.png"), "python3 -m qwem linear: HDF5 and plots")
    p = py(["linear", "gd.h5", "--checkpoints", "--families", "country-nationality"])
    check("against step" in p.stdout, "linear representations along training time (checkpoints)")

    # ---- Plots of a closed-form result: the spectrum (top d and full) and the concepts table ----
    run(["--counts-from", "a.h5", "--dim", "20", "--full-spectrum", "--out", "full.h5"])
    p = subprocess.run(["/usr/bin/python3", os.path.join(SHARE, "plot_dynamics.py"), "full.h5", "--out-dir", "fplots"],
                       capture_output=True, text=True, timeout=LIMIT)
    check(p.returncode == 0 and os.path.getsize("fplots/spectrum.png") > 0 and os.path.getsize("fplots/concepts.png") > 0
          and not os.path.exists("fplots/singular_values.png"), "plot_dynamics.py on a closed-form file: spectrum, concepts")
    run(base + ["--counts-only", "--out", "counts.h5"])
    p = subprocess.run(["/usr/bin/python3", os.path.join(SHARE, "plot_dynamics.py"), "counts.h5", "--out-dir", "cplots"],
                       capture_output=True, text=True, timeout=LIMIT)
    check(p.returncode != 0 and "nothing to plot" in p.stderr, "plot_dynamics.py on a counts-only file: says so")

    # ---- Progress lines (rate, time left) while reading, counting and solving; PETSc stages ----
    os.mkdir("big")
    with open(os.path.join(CORPUS, "text8-sample.txt"), "rb") as f:
        text = f.read()
    for k in range(3):
        with open(f"big/part{k}.txt", "wb") as f:
            f.write(text)
    p = run(["--corpus", "big", "--vocab-size", "1000", "--dim", "40", "--progress-seconds", "0.001", "--out", "big.h5",
             "--analogies", "none", "--similarity", "none", "-log_view"], np_=1)
    out = p.stdout
    check(re.search(r"read: \d+% of rank 0's [\d.]+ MiB, [\d.]+ MiB/s, [\d.]+[kM]? tokens/s, about [\d.]+ s left", out)
          is not None, "progress while reading: % of the share, MiB/s, tokens/s, time left")
    check(re.search(r"count: \d+% of rank 0's [\d.]+[kM]? positions, [\d.]+[kM]? positions/s, about [\d.]+ s left", out)
          is not None, "progress while counting: % of the positions, positions/s, time left")
    check(re.search(r"eigensolve: restart \d+, \d+ of 40 converged.*about [\d.]+ s left", out) is not None,
          "progress of the eigensolve with the time left")
    stages = re.findall(r"^\s*\d+:\s+(\w[\w ]*?): ", out, re.M)
    check(all(s in stages for s in ("read", "count", "reduce", "target", "eigensolve", "write")),
          f"-log_view has one stage per phase: {stages}")

    # ---- The README's options table names every option of --help ----
    p = subprocess.run(["mpirun", "--allow-run-as-root", "-n", "1", QWEM, "--help"], capture_output=True, text=True,
                       timeout=LIMIT)
    options = sorted(set(re.findall(r"^\s+(--[a-z][a-z0-9-]*)", p.stdout, re.M)))
    with open(os.path.join(SHARE, "..", "README.md"), encoding="utf-8") as f:
        readme = f.read()
    table = "\n".join(l for l in readme.splitlines() if l.startswith("| `--"))
    missing = [o for o in options if f"`{o}" not in table]
    check(len(options) > 40 and not missing, f"README's options table names all {len(options)} options of --help"
          + (f" (missing: {' '.join(missing)})" if missing else ""))

    shutil.rmtree(tmp)
    print(f"{len(FAILURES)} failures" if FAILURES else "all toolkit checks passed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
