"""Reads the release machine code of the kernels for three faults the tests cannot see.

The results stay right in both cases; only the speed suffers, and this machine's CPU may not
even run the instruction set concerned (AVX-512), so this script reads the disassembly:

1. An intrinsic called out of line. `_mm512_fmadd_ps` and the like only become their
   instruction inside a function with the matching `#[target_feature]`; code that does not
   inherit the feature (a closure LLVM did not inline, say) calls an out-of-line copy, one call
   per multiply-add. Every `call` into `core::arch` other than the CPU probes is reported.
2. A register tile that does not fit the registers. An innermost loop of multiply-adds that
   moves vector registers to or from the stack runs at about half speed. Loops with partial
   loads (AVX-512's masked loads, AVX2's `simd::load_prefix_*`) are left out: they read the
   last row or two of an operand, once per tile.
3. An AVX2 masked store (`vmaskmovps` / `vmaskmovpd` to memory) in nn-core's code. It is
   microcoded on AMD Zen, tens of cycles a register, and LLVM makes one of any conditional
   store in a loop it vectorises (`if x < 0 { *v = 0 }`): such loops are written over
   registers (`simd::Vector`) instead, and partial registers stored with `store_prefix_*`.

It reads the nn-core unit tests (which instantiate every kernel and tile shape for AVX-512
and AVX2) and the MNIST and LeNet examples. Code the tests themselves compiled into a kernel's
instruction-set copy (their checks, and the kernels on emulated registers, which are arrays in
memory by design) is left out: `addr2line` says which code a loop or call came from.

    python3 tools/check_kernel_code.py      (needs objdump, from binutils)
"""
import json
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Calls into core::arch that are not kernels: the CPU feature probes.
PROBES = re.compile(r"cpuid|xgetbv")
JUMP = re.compile(r"j\w+\s+([0-9a-f]+)\b")
VECTOR_STACK = re.compile(r"[xyz]mm\d+.*\(%rsp\)|\(%rsp\).*[xyz]mm\d+")
MASKED = re.compile(r"maskmov|\{%k[1-7]\}")
# AVX2's masked store: `vmaskmovps %data,%mask,memory` in AT&T syntax.
MASKED_STORE = re.compile(r"vmaskmovp[sd]\s+%[xy]mm\d+,%[xy]mm\d+,")
# A function defined in a `tests` module (mangled `...5tests...`): test code.
TEST_SYMBOL = re.compile(r"5tests")


# The release build with line tables, which say what code each instruction was inlined from,
# in a target directory of its own, so that the main build's artifacts stay as they are.
TARGET = os.path.join(ROOT, "target", "check-kernel-code")
BUILD_ENV = dict(os.environ, CARGO_PROFILE_RELEASE_DEBUG="line-tables-only",
                 CARGO_TARGET_DIR=TARGET)


def binaries():
    out = subprocess.run(
        ["cargo", "test", "--release", "-p", "nn-core", "--lib", "--no-run",
         "--message-format=json"],
        cwd=ROOT, env=BUILD_ENV, check=True, capture_output=True, text=True).stdout
    tests = [m["executable"] for m in map(json.loads, out.splitlines())
             if m.get("reason") == "compiler-artifact" and m.get("executable")]
    subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "mnist",
                    "--example", "lenet"], cwd=ROOT, env=BUILD_ENV, check=True)
    return tests + [os.path.join(TARGET, "release/examples", e) for e in ("mnist", "lenet")]


def functions(binary):
    """(name, [(address, instruction)]) for each function in the binary."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", binary],
                         check=True, capture_output=True, text=True).stdout
    name, body = None, []
    for line in out.splitlines():
        head = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if head:
            if name:
                yield name, body
            name, body = head.group(1), []
            continue
        insn = re.match(r"\s*([0-9a-f]+):\s+(.*)", line)
        if insn and name:
            body.append((int(insn.group(1), 16), insn.group(2)))
    if name:
        yield name, body


def innermost_loops(body):
    """Each loop (a backward jump's span) with no other backward jump inside."""
    at = {address: i for i, (address, _) in enumerate(body)}
    spans = []
    for i, (address, insn) in enumerate(body):
        jump = JUMP.match(insn)
        if jump and int(jump.group(1), 16) < address and int(jump.group(1), 16) in at:
            spans.append((at[int(jump.group(1), 16)], i))
    for start, end in spans:
        if not any(start <= s and e <= end for s, e in spans if (s, e) != (start, end)):
            yield loop_body(body[start:end + 1])


def loop_body(span):
    """The instructions of `span` (its first one the loop's head, its last the backward jump
    to it) that lie on a path from the head back to the jump: LLVM may place a loop's exit
    code (a tile's store, say) between the two, where it runs once, not at every step."""
    at = {address: i for i, (address, _) in enumerate(span)}
    last = len(span) - 1

    def successors(i):
        if i == last:
            return [0]
        insn = span[i][1]
        jump = JUMP.match(insn)
        target = [at[int(jump.group(1), 16)]] if jump and int(jump.group(1), 16) in at else []
        if insn.startswith("jmp"):
            return target
        if insn.startswith("ret") or "ud2" in insn:
            return []
        return [i + 1] + target

    def reach(starts, step):
        seen, todo = set(starts), list(starts)
        while todo:
            for j in step(todo.pop()):
                if j not in seen:
                    seen.add(j)
                    todo.append(j)
        return seen

    preds = {i: [] for i in range(len(span))}
    for i in range(len(span)):
        for j in successors(i):
            preds[j].append(i)
    on_path = reach([0], successors) & reach([last], lambda j: preds[j])
    return [span[i] for i in sorted(on_path)]


def test_code(binary, addresses):
    """The addresses among `addresses` whose code was inlined from a `tests` module."""
    return inlined_from(binary, addresses, "::tests::")


def inlined_from(binary, addresses, part):
    """The addresses among `addresses` whose code was inlined from a function whose path
    contains `part`."""
    if not addresses:
        return set()
    queried = [q for a in addresses for q in (f"{a:#x}", "0x0")]
    out = subprocess.run(["addr2line", "-f", "-i", "-C", "-e", binary] + queried,
                         check=True, capture_output=True, text=True).stdout.splitlines()
    # Each address prints (function, place) pairs, its inlined frames; the "0x0" after each
    # one marks where the next begins ("??").
    found, frames, queue = set(), [], list(addresses)
    for function in out[0::2]:
        if function == "??" and queue:
            if any(part in f for f in frames):
                found.add(queue[0])
            queue.pop(0)
            frames = []
        else:
            frames.append(function)
    return found


def check(binary):
    faults = []
    for name, body in functions(binary):
        if TEST_SYMBOL.search(name):
            continue
        for address, insn in body:
            if insn.startswith("call") and "core_arch" in insn and not PROBES.search(insn):
                callee = insn.split('<')[-1].rstrip('>')
                faults.append((address, f"{name} calls {callee} out of line"))
        if "nn_core" not in name:
            continue
        stores = [address for address, insn in body if MASKED_STORE.search(insn)]
        if stores:
            faults.append((stores[0], f"{name}: {len(stores)} AVX2 masked stores, the first "
                           f"at {stores[0]:#x}"))
        for loop in innermost_loops(body):
            insns = [insn for _, insn in loop]
            fmas = sum("vfmadd" in x for x in insns)
            spills = sum(bool(VECTOR_STACK.search(x)) for x in insns)
            if fmas >= 4 and spills and not any(MASKED.search(x) for x in insns) \
                    and not inlined_from(binary, [a for a, _ in loop], "load_prefix_"):
                # Asked where the loop's first multiply-add came from, which names the inlined
                # code; the loop's first instruction often names only the enclosing function.
                fma = next(a for a, x in loop if "vfmadd" in x)
                faults.append((fma, f"{name}: a loop of {fmas} multiply-adds at "
                               f"{loop[0][0]:#x} moves vector registers through the stack "
                               f"{spills} times a step"))
    tests = test_code(binary, sorted({a for a, _ in faults}))
    return sorted({fault for a, fault in faults if a not in tests})


def main():
    if not shutil.which("objdump"):
        sys.exit("objdump not found (install binutils)")
    found = False
    checked = binaries()
    for binary in checked:
        for fault in check(binary):
            print(f"{os.path.relpath(binary, ROOT)}: {fault}")
            found = True
    if found:
        sys.exit(1)
    print(f"ok: {len(checked)} binaries, no intrinsic out of line, no kernel loop spilling, "
          "no AVX2 masked store")


if __name__ == "__main__":
    main()
