"""/usr/bin/python3 -m qwem COMMAND ...: qwem-dist results from the command line.

  info FILE                     what a result holds: settings, sizes, stored evaluation
  evaluate FILE [options]       analogy (3CosAdd, 3CosMul; standard and pair protocols) and
                                word similarity of an .h5 result or a word2vec file
  neighbors FILE WORD [...]     nearest neighbours (gensim's most_similar: --negative for analogies)
  compare A B [options]         two runs side by side: eigenvalues, subspace and neighbour
                                overlap, Procrustes distance, analogy deltas
  linear FILE [options]         linear representations of analogy families (SNR, Marchenko-
                                Pastur fit, localization, accuracy) against d or training step

FILE is a qwem-dist .h5 file or a word2vec file (text or binary). Run COMMAND --help for options.
"""
import argparse
import json
import math
import os
import sys

from . import analogy, compare, load, most_similar, similarity
from .compare import format_table

SHARE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_ANALOGIES = os.path.join(SHARE, "questions-words.txt")
DEFAULT_SIMILARITY = [os.path.join(SHARE, "EN-WS-353-ALL.txt"), os.path.join(SHARE, "EN-SIMLEX-999.txt")]


def fail(message):
    print(f"qwem: error: {message}", file=sys.stderr)
    sys.exit(1)


def open_run(path):
    try:
        return load(path)
    except (OSError, ValueError, KeyError) as e:
        fail(f"cannot read {path}: {e}")


def percent(x):
    return "undefined" if isinstance(x, float) and math.isnan(x) else f"{100 * x:.1f}%"


def info(args):
    run = open_run(args.file)
    s = run.settings
    print(f"{run.path}: {run.kind}, V = {len(run.words)}, d = {run.embeddings.shape[1] if run.embeddings is not None else 0}")
    for group, values in s.groups.items():
        print(f"[{group}]")
        for name, value in values.items():
            print(f"  {name} = {value}")
    if run.spectrum is not None:
        ev = run.spectrum.eigenvalues
        print(f"spectrum: {len(ev)} eigenpairs of {run.spectrum.target}, top {', '.join(f'{x:.4g}' for x in ev[:5])}")
    for name in ("analogy_standard", "analogy_pairs"):
        if name in run.eval:
            e = run.eval[name]
            print(f"stored {name}: {percent(e['overall_accuracy'])} of {e['overall_total']}")
    for name, e in run.eval.get("similarity", {}).items():
        print(f"stored similarity {name}: Spearman {e['spearman']:.3f} on {e['n_covered']} of {e['n_pairs']}")


def evaluate(args):
    run = open_run(args.file)
    results = {"file": args.file, "analogy": [], "similarity": []}
    methods = ["3cosadd", "3cosmul"] if args.method == "both" else [args.method]
    protocols = ["standard", "pairs"] if args.protocol == "both" else [args.protocol]
    try:
        if args.analogies != "none":
            for method in methods:
                for protocol in protocols:
                    r = analogy(run, args.analogies, method=method, protocol=protocol, kind=args.vectors)
                    results["analogy"].append(r)
        for path in ([] if args.similarity == ["none"] else args.similarity):
            r = similarity(run, path, kind=args.vectors)
            r["file"] = path
            results["similarity"].append(r)
    except (OSError, ValueError) as e:
        fail(str(e))
    if args.json:
        json.dump(results, sys.stdout, indent=1, default=str)
        print()
        return
    for r in results["analogy"]:
        o, se, sy = r["overall"], r["semantic"], r["syntactic"]
        print(f"analogy {r['method']} {r['protocol']}: {percent(o['accuracy'])} of {o['total']}; "
              f"semantic {percent(se['accuracy'])} of {se['total']}, syntactic {percent(sy['accuracy'])} of {sy['total']}")
        if args.sections:
            for sec in r["sections"]:
                print(f"  {sec['name']:<28} {percent(sec['accuracy']):>9} of {sec['total']}")
    for r in results["similarity"]:
        rho = "undefined" if math.isnan(r["spearman"]) else f"{r['spearman']:.3f}"
        print(f"similarity {os.path.basename(r['file'])}: Spearman {rho} on {r['n_covered']} of {r['n_pairs']} pairs")


def neighbors(args):
    run = open_run(args.file)
    try:
        if args.negative:
            hits = most_similar(run, args.words, negative=args.negative, topn=args.topn, kind=args.vectors)
            print(f"{' + '.join(args.words)} - {' - '.join(args.negative)}:")
            for w, c in hits:
                print(f"  {w:<20} {c:.4f}")
            return
        for word in args.words:
            print(f"{word}:")
            for w, c in most_similar(run, [word], topn=args.topn, kind=args.vectors):
                print(f"  {w:<20} {c:.4f}")
    except KeyError as e:
        fail(e.args[0])


def compare_command(args):
    a, b = open_run(args.a), open_run(args.b)
    try:
        rows = compare(a, b, k=args.k, neighbours=args.neighbours, n_queries=args.words,
                       questions=None if args.analogies == "none" else args.analogies)
    except (OSError, ValueError) as e:
        fail(str(e))
    print(format_table(rows, os.path.basename(args.a), os.path.basename(args.b)))


def linear_command(args):
    from .linear import FAMILIES, linear_representations, plot_analysis, write_analysis
    run = open_run(args.file)
    families = {k: v for k, v in FAMILIES.items() if not args.families or k in args.families}
    dims = [int(x) for x in args.dims.split(",")] if args.dims else None
    try:
        result = linear_representations(run, args.analogies, families, dims, checkpoints=args.checkpoints)
    except (OSError, ValueError) as e:
        fail(str(e))
    axis = "d" if result["axis"] == "dim" else "step"
    print(f"{args.file}: linear representations against {axis} = {', '.join(map(str, result['points']))}")
    for name, rec in result["families"].items():
        snr = ", ".join(f"{x:.2f}" for x in rec["snr"])
        acc = ", ".join("nan" if math.isnan(x) else f"{100 * x:.0f}%" for x in rec["accuracy"])
        print(f"  {name:<22} {rec['n_pairs']:>3} pairs  SNR {snr}")
        print(f"  {'':<22}            accuracy {acc}; last: outlier {rec['outlier'][-1]:.3g} vs MP edge "
              f"{rec['mp_edge'][-1]:.3g}, mean difference over {rec['participation'][-1]:.1f} dimensions")
    if args.out:
        write_analysis(result, args.out, args.file)
        print(f"wrote {args.out}")
    if args.plots:
        for path in plot_analysis(result, args.plots):
            print(path)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m qwem", description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="settings, sizes and stored evaluation of a result")
    p.add_argument("file")
    p.set_defaults(fn=info)
    p = sub.add_parser("evaluate", help="analogy and similarity scores of an .h5 or word2vec file")
    p.add_argument("file")
    p.add_argument("--analogies", default=DEFAULT_ANALOGIES, help="questions-words.txt format, or none")
    p.add_argument("--similarity", nargs="+", default=DEFAULT_SIMILARITY,
                   help="word-similarity files (header and extra columns allowed), or none")
    p.add_argument("--method", choices=["3cosadd", "3cosmul", "both"], default="both")
    p.add_argument("--protocol", choices=["standard", "pairs", "both"], default="both")
    p.add_argument("--vectors", choices=["w", "c", "w+c"], default="w", help="which vectors of the run")
    p.add_argument("--sections", action="store_true", help="also per analogy section")
    p.add_argument("--json", action="store_true", help="everything as JSON")
    p.set_defaults(fn=evaluate)
    p = sub.add_parser("neighbors", help="nearest neighbours by cosine")
    p.add_argument("file")
    p.add_argument("words", nargs="+")
    p.add_argument("--negative", nargs="+", default=[], help="subtract these (king woman --negative man)")
    p.add_argument("--topn", type=int, default=10)
    p.add_argument("--vectors", choices=["w", "c", "w+c"], default="w")
    p.set_defaults(fn=neighbors)
    p = sub.add_parser("compare", help="two runs side by side")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--k", type=int, default=10, help="subspace dimension of the overlaps")
    p.add_argument("--neighbours", type=int, default=10, help="k of neighbour overlap@k")
    p.add_argument("--words", type=int, default=1000, help="most frequent shared words queried for neighbours")
    p.add_argument("--analogies", default=DEFAULT_ANALOGIES, help="questions-words.txt format, or none")
    p.set_defaults(fn=compare_command)
    p = sub.add_parser("linear", help="linear representations of analogy families")
    p.add_argument("file")
    p.add_argument("--analogies", default=DEFAULT_ANALOGIES, help="questions-words.txt format")
    p.add_argument("--families", nargs="+", help="a subset of: " + ", ".join(__import__("qwem.linear").linear.FAMILIES))
    p.add_argument("--dims", help="comma-separated embedding sizes (default 4, 8, ..., all eigenpairs)")
    p.add_argument("--checkpoints", action="store_true", help="along training time: the run's SGD checkpoints")
    p.add_argument("--out", help="write the series to this new HDF5 file (/analysis/FAMILY/...)")
    p.add_argument("--plots", help="write snr.png, accuracy.png and mp_FAMILY.png into this folder")
    p.set_defaults(fn=linear_command)
    args = ap.parse_args(argv)
    try:
        args.fn(args)
    except BrokenPipeError:  # piped into head: the reader has what it wanted
        sys.stderr.close()


if __name__ == "__main__":
    main()
