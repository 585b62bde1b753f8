#!/usr/bin/env bash
# One command for the peer comparison: builds the Rust timing binary (typed-nn, candle, burn,
# dfdx), installs the Python peers (PyTorch, onnxruntime, TF-Keras) into benches/peers/.venv,
# times everything on 1 and 2 threads in this run, and prints one table with typed-nn's
# speed-up over each peer. The first run downloads PyTorch from PyPI (its Linux wheel brings the
# CUDA libraries, several GB) and compiles the Rust peers (about 15 minutes on 2 cores).
#
#   bash benches/peers/run.sh            (PASSES=1 for one pass, about half the time)
#
# Each engine's median comes from one slot of about a minute, and this machine has slow
# minutes, so the whole sequence runs PASSES times (default 2) and the table keeps each
# engine's faster pass: a slow minute must then hit the same engine twice to show.
set -euo pipefail
passes="${PASSES:-2}"
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --upgrade pip
fi
# A no-op once everything is there, so an older venv picks up new peers.
.venv/bin/pip install --quiet numpy onnx onnxruntime tensorflow-cpu torch
cargo build --quiet --release
# Raw rows of the last run, kept for inspection.
results="$here/target/peers-results.jsonl"
: > "$results"
for pass in $(seq "$passes"); do
    for threads in 1 2; do
        # burn-ndarray turns on matrixmultiply's own threading (cargo unifies features), which
        # typed-nn shares in this binary: matrixmultiply's threads are capped at 1 for the others
        # (their threads come from TYPED_NN_THREADS / RAYON_NUM_THREADS) and at $threads for burn.
        export TYPED_NN_THREADS=$threads RAYON_NUM_THREADS=$threads
        MATMUL_NUM_THREADS=1 ./target/release/typed-nn-peers typed-nn candle dfdx >> "$results"
        MATMUL_NUM_THREADS=$threads ./target/release/typed-nn-peers burn-ndarray >> "$results"
        .venv/bin/python python/peers.py "$threads" >> "$results"
    done
done
.venv/bin/python - "$results" "$passes" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
for message in sorted({f"{r['engine']}: not measured ({r['error']})" for r in rows if "error" in r}):
    print(message)
# Each engine's faster pass (its median there).
times = {}
for r in rows:
    if "seconds" in r:
        key = (r["engine"], r["threads"], r["workload"])
        times[key] = min(times.get(key, r["seconds"]), r["seconds"])
print(f"best of {sys.argv[2]} pass(es), each a median of its rounds")
workloads = sorted({w for (_, _, w) in times})
engines = sorted({e for (e, _, _) in times} - {"typed-nn"})
def show(seconds):
    return f"{seconds * 1e9:6.0f} ns" if seconds < 1e-5 else f"{seconds * 1e6:6.1f} us"
print(f"{'workload':32} {'thr':>3} {'typed-nn':>10} " + " ".join(f"{e:>20}" for e in engines))
for w in workloads:
    for t in (1, 2):
        ours = times.get(("typed-nn", t, w))
        if ours is None:
            continue
        cells = []
        for e in engines:
            theirs = times.get((e, t, w))
            cells.append(f"{show(theirs)} ({theirs / ours:5.2f}x)" if theirs else f"{'-':>20}")
        print(f"{w:32} {t:>3} {show(ours):>10} " + " ".join(f"{c:>20}" for c in cells))
print("(x = peer time / typed-nn time: above 1 means typed-nn is faster)")
PY
