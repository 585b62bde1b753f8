#!/usr/bin/env bash
# Fails if a release build of the kernels calls an intrinsic out of line.
#
# An intrinsic (`_mm512_fmadd_ps`, ...) only compiles to its instruction inside a function with
# the matching `#[target_feature]`. Code that does not inherit the feature (a closure LLVM did
# not inline, say) calls an out-of-line copy instead: one call, with its operands through
# memory, per multiply-add. The tests cannot see this (the results are right, only slow), and
# this machine's CPU may not even run the instruction set concerned, so this script reads the
# machine code: every `call` into `core::arch` from the nn-core unit tests (which instantiate
# every kernel shape for AVX-512 and AVX2) and from the MNIST and LeNet examples.
#
#     bash tools/check_kernels_inlined.sh      (needs objdump, from binutils)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v objdump >/dev/null || { echo "objdump not found (install binutils)" >&2; exit 2; }

tests=$(cargo test --release -p nn-core --lib --no-run --message-format=json 2>/dev/null \
  | grep -o '"executable":"[^"]*"' | cut -d'"' -f4)
cargo build --release --example mnist --example lenet --quiet
binaries="$tests target/release/examples/mnist target/release/examples/lenet"

found=0
for bin in $binaries; do
  # Calls into core::arch, other than the CPU feature probes (cpuid, xgetbv).
  calls=$(objdump -d --no-show-raw-insn "$bin" \
    | awk '/^[0-9a-f]+ <.*>:$/ { fn = $2 }
           /call.*core_arch/ && !/cpuid|xgetbv/ { n = split($0, p, "<"); print fn " -> <" p[n] }' \
    | sort | uniq -c)
  if [ -n "$calls" ]; then
    echo "$bin calls intrinsics out of line:"
    echo "$calls"
    found=1
  fi
done
if [ "$found" = 0 ]; then
  echo "ok: no kernel calls an intrinsic out of line ($(echo $binaries | wc -w) binaries)"
fi
exit "$found"
