"""Estimates, with llvm-mca, how fast the kernels' inner loops run on CPUs this machine is not.

The harness's machine has AVX-512 and Intel's port layout, where integer instructions share
ports 0 and 5 with the vector multiply-adds; development machines may have neither. This script
takes every innermost nn_core loop of at least `--min-fma` multiply-adds from the release MNIST
example (the 784-300-10 MLP: the blocked, packed, listed, narrow and batch-1
kernels) and prints llvm-mca's cycles per iteration and multiply-adds per cycle for each CPU
model. Two multiply-adds a cycle is the ceiling on these cores; the 12 x 2 AVX-512 dense tile
(24 per step) reads about 13 cycles.

These are a model's figures, not measurements: compare loops and versions, not engines.

    python3 tools/kernel_throughput.py [--cpus skylake-avx512,icelake-server] [--min-fma 8]
                                       [--match blocked]     (needs objdump and llvm-mca)
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_kernel_code import ROOT, functions, innermost_loops  # noqa: E402

BINARY = os.path.join(ROOT, "target/release/examples/mnist")


def mca_source(loop):
    """The loop's instructions as llvm-mca input (AT&T syntax), its jumps aimed at a label."""
    lines = ["L0:"]
    for _, insn in loop:
        insn = re.sub(r"#.*", "", insn)
        lines.append(re.sub(r"^(j\w+)\s+\S+.*", r"\1 L0", insn))
    return "\n".join(lines) + "\n"


def cycles(source, cpu, iterations=200):
    """llvm-mca's cycles per iteration for `source` on `cpu`, or None if it cannot say."""
    out = subprocess.run(["llvm-mca", f"-mcpu={cpu}", f"-iterations={iterations}"],
                         input=source, capture_output=True, text=True).stdout
    total = re.search(r"Total Cycles:\s+(\d+)", out)
    return int(total.group(1)) / iterations if total else None


def short_name(symbol):
    """`nn_core::kernels::blocked::blocked_avx512` from a (legacy-mangled) Rust symbol."""
    mangled = re.fullmatch(r"_ZN(.*)E", symbol)
    if not mangled:
        return symbol
    rest, names = mangled.group(1), []
    while (length := re.match(r"\d+", rest)):
        end = length.end() + int(length.group())
        names.append(rest[length.end():end])
        rest = rest[end:]
    return "::".join(n for n in names if not re.fullmatch(r"h[0-9a-f]{16}", n))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpus", default="skylake-avx512,icelake-server")
    parser.add_argument("--min-fma", type=int, default=8)
    parser.add_argument("--match", default="", help="only functions whose symbol contains this")
    args = parser.parse_args()
    for tool in ("objdump", "llvm-mca"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found (binutils; llvm)")
    subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "mnist"],
                   cwd=ROOT, check=True)
    cpus = args.cpus.split(",")
    print(f"{'function':44} {'loop':>8} {'regs':4} {'insns':>5} {'fma':>3}  "
          + "  ".join(f"{cpu:>24}" for cpu in cpus))
    for name, body in functions(BINARY):
        if "nn_core" not in name or args.match not in name:
            continue
        for loop in innermost_loops(body):
            insns = [insn for _, insn in loop]
            fmas = sum("vfmadd" in insn for insn in insns)
            if fmas < args.min_fma:
                continue
            regs = next((r for r in ("zmm", "ymm", "xmm") if any(r in i for i in insns)), "-")
            source = mca_source(loop)
            figures = []
            for cpu in cpus:
                c = cycles(source, cpu)
                figures.append(f"{c:6.2f} cyc {fmas / c:4.2f} fma/c" if c else "-")
            label = short_name(name).removeprefix("nn_core::kernels::")[:44]
            print(f"{label:44} {loop[0][0]:#8x} {regs:4} {len(insns):5} {fmas:3}  "
                  + "  ".join(f"{f:>24}" for f in figures))


if __name__ == "__main__":
    main()
