#!/usr/bin/env python3
"""The reproduction's table from the outputs of share/paper/reproduce.sh (one folder).

    /usr/bin/python3 share/paper/table.py OUT PRESET CORPUS > OUT/table.md

reproduce.sh calls it at the end; run it alone after re-running one of the steps into OUT (the
commands are in reproduce.sh and each step's log).
"""
import math, os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import qwem  # noqa: E402  (share/python)

out, preset, corpus = sys.argv[1:]
paper = {"sgns": 68.0, "qwem_sgd": 65.1, "mstar": 66.3, "ppmi": 50.6, "pmi": 8.4}
names = {"sgns": "SGNS (word2vec)", "qwem_sgd": "QWEM by SGD", "mstar": "QWEM closed form (M*)",
         "ppmi": "PPMI", "pmi": "PMI"}
def pct(x):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}"
print(f"Preset {preset}, corpus {corpus}.\n")
print("| method | analogy, pair protocol (%) | paper, Wikipedia (%) | analogy, standard (%) | WordSim-353 | SimLex-999 | notes |")
print("|---|---|---|---|---|---|---|")
for key in ("sgns", "qwem_sgd", "mstar", "ppmi", "pmi"):
    run = qwem.load(os.path.join(out, key + ".h5"))
    ev = run.eval
    sims = ev.get("similarity", {})
    ws = sims.get("EN-WS-353-ALL.txt", {}).get("spearman")
    sl = sims.get("EN-SIMLEX-999.txt", {}).get("spearman")
    note = ""
    if run.training is not None and key == "qwem_sgd":
        s = run.settings
        top5 = run.training["overlap"][-1, min(4, run.training["overlap"].shape[1] - 1)]
        note = f"{s.completed_steps} steps"
        drop = getattr(s, "lr_drop", 0)
        if drop and drop < s.completed_steps:
            note += f" (rate x{getattr(s, 'lr_drop_factor', 0.1):g} from step {drop})"
        note += f", top-5 overlap {top5:.3f}, theory max error {s.theory_max_error_top10:.3f}"
        coupled = getattr(s, "theory_coupled_max_error_top10", None)
        if coupled is not None:
            note += f" (coupled theory {coupled:.3f})"
    elif key == "sgns":
        note = f"{run.settings.completed_steps} steps of 65536 positions"
    print(f"| {names[key]} | {pct(ev['analogy_pairs']['overall_accuracy'])} of {ev['analogy_pairs']['overall_total']} "
          f"| {paper[key]} | {pct(ev['analogy_standard']['overall_accuracy'])} of {ev['analogy_standard']['overall_total']} "
          f"| {'-' if ws is None else f'{ws:.3f}'} | {'-' if sl is None else f'{sl:.3f}'} | {note} |")

# The appendix ablation: the reference code's final accuracy on COCA+NOW (its own protocol;
# launch/logs/ablation_*.log at 5M steps).
reference = {("qwem", "qwem"): 20.8, ("qwem", "word2vec"): 37.2, ("sgns", "qwem"): 22.0, ("sgns", "word2vec"): 40.1}
size = qwem.load(os.path.join(out, "ablation_mstar.h5"))
closed = size.eval["analogy_standard"]
vocab = len(size.words)
print(f"\nThe appendix ablation (pair sampling, the same steps in every cell; V = {vocab}, d = {size.embeddings.shape[1]}, "
      f"where the closed form of M* answers {pct(closed['overall_accuracy'])}% of {closed['overall_total']} (standard)):\n")
print("| loss | weights | steps | --lr | analogy, pair protocol (%) | analogy, standard (%) | top-5 overlap with M* | reference, COCA+NOW (%) |")
print("|---|---|---|---|---|---|---|---|")
for loss in ("qwem", "sgns"):
    for weights in ("qwem", "word2vec"):
        run = qwem.load(os.path.join(out, f"ablation_{loss}_{weights}.h5"))
        ev, s = run.eval, run.settings
        overlap = run.training["overlap"][-1, min(4, run.training["overlap"].shape[1] - 1)]
        print(f"| {loss.upper()} | {weights} | {s.completed_steps} | {s.lr:g} | {pct(ev['analogy_pairs']['overall_accuracy'])} "
              f"| {pct(ev['analogy_standard']['overall_accuracy'])} of {ev['analogy_standard']['overall_total']} "
              f"| {overlap:.3f} | {reference[(loss, weights)]} |")
