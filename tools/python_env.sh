#!/usr/bin/env bash
# Creates (once) the local Python venv that the Keras fixture scripts run in, and makes sure
# it has the pinned packages. Idempotent: an existing venv is reused, but pip always runs so
# an old venv picks up the current pins. Only needed to regenerate tests/fixtures/*.json and
# to read TensorBoard logs with TensorBoard's own reader (tools/check_tensorboard.py); the
# Rust build and tests need no Python.
#
# Usage:  bash tools/python_env.sh
#         tools/.venv/bin/python tools/keras_fixtures.py
#         tools/.venv/bin/python tools/keras_graph_fixtures.py
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi

nice -n 10 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "tensorflow-cpu==2.21.*" "keras==3.15.1" numpy tensorboard

"$venv/bin/python" - <<'PY'
import importlib.metadata as m
print("tools/.venv ready: tensorflow-cpu", m.version("tensorflow-cpu"), "keras", m.version("keras"), "numpy", m.version("numpy"), "tensorboard", m.version("tensorboard"))
PY
