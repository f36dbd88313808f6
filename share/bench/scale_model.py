#!/usr/bin/python3
"""A model of the closed form's time and memory per rank at P = 2..256 ranks (issue 13 item 5),
for the 1B-token corpus of share/bench/scale.sh. Every unit cost below was measured on this
project's 2-core VM (share/bench/scale.sh and closed_form.sh, 2026-12-06); the network is assumed:
12.5 GB/s per rank (a 100 Gb/s link each) and 2 us latency. One rank per core; the file system is
assumed to deliver 5 bytes per token at the read rate (70 MB/s per rank: 18 GB/s at 256 ranks,
which many parallel file systems will not, and then reading is the bound).

Usage: /usr/bin/python3 share/bench/scale_model.py
"""
import math

BETA, ALPHA = 12.5e9, 2e-6      # network: bytes/s per rank, latency (assumed)
DGEMM, SGEMM = 50e9, 60e9       # flop/s per core: Gram-Schmidt's dgemm; the analogy scores' sgemm and recheck
ROTATE = 120e9                  # flop/s per core of the restart's large dgemm (measured 3.7 s at V = 100k)
READ = 13.8e6                   # tokens/s per rank, WikiExtractor files (1B-token run)
MAP = 1.35e8                    # tokens/s per rank mapped to vocabulary ids (the vocabulary phase)
SPARSE = 85e-9                  # s per nonzero of the sparse part (rarer words: combined, exchanged, placed)
PLACE = 25e-9                   # s per nonzero placed in the CSR (reduce)
CELL = 0.4e-9                   # s per triangle cell scanned for the nonzero bitmap
T = 0.996e9                     # tokens
B = 32                          # block width

CASES = {
    # count: in-vocabulary tokens/s per rank; nnz: per nonzero per column of the block kernel;
    # products and restarts of the eigensolve; Q: analogy queries (both protocols).
    # Zs: nonzeros outside the dense triangle (with a word beyond the H most frequent).
    "V = 10k, d = 200": dict(V=10000, H=10000, Z=28.96e6, Zs=0, d=200, K=500, products=3200, restarts=15, rr=0.017,
                             count=11.2e6, nnz=47e-12, Q=9271),
    "V = 100k, d = 300": dict(V=100000, H=20065, Z=65.1e6, Zs=40e6, d=300, K=750, products=4100, restarts=12, rr=0.041,
                              count=4.0e6, nnz=75e-12, Q=24771),
}


def model(c, P):
    V, H, Z, K = c["V"], c["H"], c["Z"], c["K"]
    t = {}
    t["read"] = T / P / READ
    t["vocabulary"] = T / P / MAP
    t["count"] = T / P / c["count"]
    # Reduce: the bitmap of the local triangle (H^2 / 2 cells, not divided by P) and its OR (H^2 / 16
    # bytes); the reduce-scatter of the triangle (about H^2 bytes sent per rank whatever P); the
    # rank's nonzeros placed; latency per peer.
    t["reduce"] = (H * H / 2 * CELL + 2 * H * H / 16 / BETA + H * H / BETA + Z / P * PLACE + c["Zs"] / P * SPARSE +
                   16 * c["Zs"] / P / BETA + ALPHA * P)
    # Eigensolve, per column product: the kernel on Z / P nonzeros, the all-gather of the block (4 V
    # bytes per column in single precision), its latency per block, Gram-Schmidt against the basis
    # (4 (V / P) K flops); per restart the Ritz pairs on rank 0 (serial) and the rotation; the
    # double-precision check (d columns of double products, twice the kernel's cost).
    per_column = Z / P * c["nnz"] + 4 * V / BETA + ALPHA * math.log2(P) / B + 4 * V / P * K / DGEMM
    rotate = c["restarts"] * 2 * V / P * K * (K / 2) / ROTATE
    check = c["d"] * 2 * Z / P * c["nnz"]
    t["eigensolve"] = c["products"] * per_column + c["restarts"] * c["rr"] + rotate + check
    # Evaluation: every query against every word (the even share of rows), and a MAXLOC per batch.
    t["evaluate"] = c["Q"] * V * c["d"] * 2 / P / SGEMM + c["Q"] / 1024 * ALPHA * math.log2(P)
    mem = {
        "tokens": 4 * T / P,                    # the token stream (4 bytes each)
        "triangle": H * H,                      # 16-bit cells of the dense triangle, per rank whatever P
        "matrix": (12 + 8 + 16) * Z / P,        # CSR counts, the target's values, the kernel's tiles
        "basis": 8 * V / P * (K + B) + 12 * V * B,  # the Krylov basis; the gathered block (float and double)
    }
    return t, mem


def main():
    for name, c in CASES.items():
        print(f"\n{name}, 1B tokens: seconds per phase and MiB per rank")
        print("| P | read | vocabulary | count | reduce | eigensolve | evaluate | total s | tokens | triangle | matrix | basis |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for P in [2, 4, 16, 64, 256]:
            t, m = model(c, P)
            cells = " | ".join(f"{t[k]:.2f}" for k in ["read", "vocabulary", "count", "reduce", "eigensolve", "evaluate"])
            mib = " | ".join(f"{m[k] / 2**20:.0f}" for k in ["tokens", "triangle", "matrix", "basis"])
            print(f"| {P} | {cells} | {sum(t.values()):.1f} | {mib} |")


if __name__ == "__main__":
    main()
