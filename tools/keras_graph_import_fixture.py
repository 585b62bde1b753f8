"""Makes tests/fixtures/keras_graph_mnist.*: a small Keras *functional* model (two inputs, a
shared Dense, Concatenate and Add, two outputs) trained briefly on the committed MNIST data,
exported with tools/keras_export.py, plus Keras's predictions for the first 32 test images.

    tools/.venv/bin/python tools/keras_graph_import_fixture.py   (bash tools/python_env.sh first)

The model's inputs: the 28x28 image (pixels / 255) and its 56-value ink profile, p[r] = mean
of row r and p[28 + c] = mean of column c of that image. Its outputs: the digit (10-way
softmax) and whether it is even (sigmoid).

Writes tests/fixtures/keras_graph_mnist.safetensors and tests/fixtures/keras_graph_mnist.json:
{"keras": version, "source": the model! text the exporter printed, "predict": one flat C-order
list per output (model.outputs order) for the first 32 test images, "profile": those images'
56-value profiles (flat, C order), "labels": their digits}. Before writing the JSON, checks that
the safetensors tensor names (and the Dense/BatchNorm shapes the text fixes) are exactly what
typed-nn's automatic names for the printed text give (counted independently of the exporter).
"""
import gzip
import json
import os
import re
import struct
import sys
import tempfile

sys.dont_write_bytecode = True  # importing keras_export must not leave tools/__pycache__ behind

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
sys.path.insert(0, HERE)
from keras_export import export  # noqa: E402

TESTS = 32


def idx(name):
    with gzip.open(os.path.join(ROOT, "data", "mnist", name)) as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data[4 + 4 * ndim:], dtype=np.uint8).reshape(dims)


def profile(images):
    """Each image's row means then column means: (n, 56), float32."""
    return np.concatenate([images.mean(axis=2), images.mean(axis=1)], axis=1).astype("float32")


def build():
    image = keras.Input((28, 28), name="image")
    prof = keras.Input((56,), name="profile")
    h = layers.Dense(32, activation="relu")(layers.Flatten()(image))
    p = layers.Dense(32, activation="relu")(prof)
    shared = layers.Dense(16, activation="tanh")  # applied to both branches: one set of weights
    a, b = shared(h), shared(p)
    joined = layers.Concatenate()([layers.Add()([a, b]), h])
    joined = layers.Dropout(0.1)(joined)
    digit = layers.Dense(10, activation="softmax", name="digit")(joined)
    even = layers.Dense(1, activation="sigmoid", name="even")(layers.Concatenate()([joined, digit]))
    return keras.Model([image, prof], [digit, even])


# --- An independent check of the printed text against the file's tensor names. ---

# The DSL's layer names -> typed-nn's automatic-name bases; weights per base.
BASES = {"Dense": "dense", "Conv2D": "conv2d", "MaxPool2D": "max_pooling2d", "AvgPool2D": "average_pooling2d",
         "BatchNorm": "batch_normalization", "Dropout": "dropout", "Flatten": "flatten", "Relu": "re_lu",
         "LeakyRelu": "leaky_re_lu", "Elu": "elu", "Softmax": "softmax", "Sigmoid": "activation",
         "Tanh": "activation", "Linear": "activation", "Input": "input_layer", "Add": "add",
         "Subtract": "subtract", "Multiply": "multiply", "Average": "average", "Maximum": "maximum",
         "Minimum": "minimum", "Concatenate": "concatenate"}
WEIGHTS = {"dense": ["kernel", "bias"], "conv2d": ["kernel", "bias"],
           "batch_normalization": ["gamma", "beta", "moving_mean", "moving_variance"]}


def expected_tensors(source):
    """{tensor name: the shape the text fixes (or None)} for the model! text: every layer in
    order of first appearance (a bound layer once), named base, base_1, ..."""
    counts, names = {}, {}
    # Capitalised names outside <...> are layers, inputs or merges (inside <...> are options).
    depth, layer_calls = 0, []
    for m in re.finditer(r"=>|[<>]|[A-Z][A-Za-z0-9]*", source):
        tok = m.group()
        if tok == "=>":
            continue
        if tok == "<":
            depth += 1
        elif tok == ">":
            depth -= 1
        elif depth == 0 and not source[:m.start()].endswith("struct "):
            args = ""
            if source[m.end():m.end() + 1] == "<":
                d, j = 0, m.end()
                while True:
                    d += {"<": 1, ">": -1}.get(source[j], 0)
                    j += 1
                    if d == 0:
                        break
                args = source[m.end() + 1:j - 1]
            layer_calls.append((tok, args))
    for name, args in layer_calls:
        base = BASES[name]
        n = counts.get(base, 0)
        counts[base] = n + 1
        auto = base if n == 0 else f"{base}_{n}"
        for w in WEIGHTS.get(base, []):
            shape = None
            if base == "dense":
                units = int(args.split(",")[0])
                shape = (None, units) if w == "kernel" else (units,)
            names[f"{auto}/{w}"] = shape
    return names


def safetensors_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return header


def check(source, path):
    want = expected_tensors(source)
    got = safetensors_header(path)
    if set(want) != set(got):
        sys.exit(f"tensor names differ: only in the text {sorted(set(want) - set(got))}, "
                 f"only in the file {sorted(set(got) - set(want))}")
    for name, shape in want.items():
        if shape is not None and any(w is not None and w != g for w, g in zip(shape, got[name]["shape"])):
            sys.exit(f"{name}: the text implies shape {shape}, the file has {got[name]['shape']}")
    return sorted(got)


def main():
    keras.utils.set_random_seed(1)
    x = idx("train-images-idx3-ubyte.gz")[:6000].astype("float32") / 255.0
    y = idx("train-labels-idx1-ubyte.gz")[:6000].astype("int64")
    x_eval = idx("t10k-images-idx3-ubyte.gz")[:1000].astype("float32") / 255.0
    y_eval = idx("t10k-labels-idx1-ubyte.gz")[:1000].astype("int64")
    x_test, y_test = x_eval[:TESTS], y_eval[:TESTS]
    p, p_eval = profile(x), profile(x_eval)
    p_test = p_eval[:TESTS]

    model = build()
    model.compile(optimizer="adam", loss=["sparse_categorical_crossentropy", "binary_crossentropy"],
                  metrics=[["accuracy"], ["accuracy"]])
    model.fit([x, p], [y, (y % 2 == 0).astype("float32")], epochs=2, batch_size=64, verbose=0)
    scores = model.evaluate([x_eval, p_eval], [y_eval, (y_eval % 2 == 0).astype("float32")], verbose=0,
                            return_dict=True)
    print("on 1000 test images:", {k: round(float(v), 3) for k, v in scores.items()})

    weights = os.path.join(FIXTURES, "keras_graph_mnist.safetensors")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "keras_graph_mnist.keras")
        model.save(path)
        reloaded = keras.models.load_model(path)
    source = export(reloaded, weights, "Exported")
    print(source)
    names = check(source, weights)
    print("tensors:", ", ".join(names))

    predictions = reloaded.predict([x_test, p_test], verbose=0)
    out = {
        "keras": keras.__version__,
        "source": source,
        "predict": [[float(v) for v in np.asarray(o).ravel()] for o in predictions],
        "profile": [float(v) for v in p_test.ravel()],
        "labels": [int(v) for v in y_test],
    }
    with open(os.path.join(FIXTURES, "keras_graph_mnist.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
