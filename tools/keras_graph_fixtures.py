"""Generates tests/fixtures/keras_graphs.json: real Keras numbers for functional (graph) models.

The graph counterpart of tools/keras_fixtures.py (same OPTIMIZERS, same uniform(-0.6, 0.6)
initial weights, same evaluate / three train_on_batch / weights_after record), for models with
several inputs, several outputs, shared layers and merge layers. Each case builds the Keras
functional model equivalent to its DSL `source`, creating the layers in the order they first
appear in the source text (top to bottom, left to right) after `keras.backend.clear_session()`,
so Keras's auto names are dense, dense_1, ..., concatenate, add, ...

Weight order: every flat weight list here ("weights", "weights_after") is in *source order*:
the layers in the order they first appear in the source, a shared layer once, each layer's
weights kernel then bias. The script sets and reads weights layer by layer in that order, so it
never depends on the order of Keras's `model.weights`; it still checks and prints whether that
order agrees.

Multi-output models: losses and targets are given per output, in output order. Keras 3.15's
`evaluate` / `train_on_batch` then return a list [total loss, <out1>_loss, <out2>_loss, ...]
where the per-output losses are *unweighted* and total = sum(loss_weight * output loss).

JSON: {"keras": version, "cases": [case]}. A case: name, source (the DSL text), seed, batch,
inputs (one flat C-order list per model input, whole batch), weight_names and weight_shapes (per
weight array, source order), weights (all of them flat, source order), predict (one flat list per
output), runs. A run: optimizer (a key of OPTIMIZERS), losses (one Keras loss name per output),
targets (one per output: int labels for sparse_categorical_crossentropy, flat floats otherwise),
evaluate (total loss before training), step_losses (what the three train_on_batch calls return:
a float each for one output; for several, a list each, named by step_losses_items), weights_after
(flat, source order); multi-output runs add loss_weights (when given), evaluate_items (Keras's
evaluate(return_dict=True), e.g. {"loss", "main_loss", "side_loss"}) and step_losses_items.

Usage: bash tools/python_env.sh && tools/.venv/bin/python tools/keras_graph_fixtures.py
"""
import json
import os
import sys

sys.dont_write_bytecode = True  # importing keras_fixtures must not leave tools/__pycache__ behind

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

from keras_fixtures import OPTIMIZERS, flat, targets  # noqa: E402

tf.get_logger().setLevel("ERROR")  # each run builds a fresh model: retracing warnings are expected


# Each builder creates its layers in source order and returns
# (inputs, outputs, layers in source order, each once).

def two_in_two_out():
    a = keras.Input(shape=(10,))
    b = keras.Input(shape=(28,))
    d16 = layers.Dense(16, activation="relu")
    d8 = layers.Dense(8, activation="relu")
    h = d8(d16(b))
    cat = layers.Concatenate()
    c = cat([a, h])
    # Naming the two output layers after their bindings leaves every other auto name as it
    # would be (dense, dense_1, concatenate), and names Keras's per-output losses main_loss
    # and side_loss.
    d_main = layers.Dense(1, activation="sigmoid", name="main")
    main = d_main(c)
    d_side = layers.Dense(1, name="side")
    side = d_side(h)
    return [a, b], [main, side], [d16, d8, cat, d_main, d_side]


def residual():
    x = keras.Input(shape=(8,))
    d1 = layers.Dense(8, activation="relu")
    d2 = layers.Dense(8)
    y = d2(d1(x))
    add = layers.Add()
    relu = layers.ReLU()
    d3 = layers.Dense(3, activation="softmax")
    return [x], [d3(relu(add([x, y])))], [d1, d2, add, relu, d3]


def shared():
    a = keras.Input(shape=(6,))
    b = keras.Input(shape=(6,))
    encode = layers.Dense(4, activation="tanh")
    cat = layers.Concatenate()
    out = layers.Dense(1, activation="sigmoid")
    return [a, b], [out(cat([encode(a), encode(b)]))], [encode, cat, out]


def merges():
    a = keras.Input(shape=(5,))
    b = keras.Input(shape=(5,))
    dp = layers.Dense(4, activation="tanh")
    p = dp(a)
    dq = layers.Dense(4, activation="sigmoid")
    q = dq(b)
    cat = layers.Concatenate()
    sub, mul, avg, mx, mn, add = (
        layers.Subtract(), layers.Multiply(), layers.Average(),
        layers.Maximum(), layers.Minimum(), layers.Add(),
    )
    out = layers.Dense(2)
    y = out(cat([sub([p, q]), mul([p, q]), avg([p, q]), mx([p, q]), mn([p, q]), add([p, q])]))
    return [a, b], [y], [dp, dq, cat, sub, mul, avg, mx, mn, add, out]


def conv_residual():
    x = keras.Input(shape=(8, 8, 2))
    c1 = layers.Conv2D(4, 3, activation="relu", padding="same")
    h = c1(x)
    c2 = layers.Conv2D(4, 3, padding="same")
    y = c2(h)
    add = layers.Add()
    relu = layers.ReLU()
    pool = layers.MaxPooling2D(2)
    z = pool(relu(add([h, y])))
    cat = layers.Concatenate()
    c3 = layers.Conv2D(3, 1)
    flatten = layers.Flatten()
    out = layers.Dense(3, activation="softmax")
    return [x], [out(flatten(cat([z, c3(z)])))], [c1, c2, add, relu, pool, cat, c3, flatten, out]


def concat_axis():
    a = keras.Input(shape=(3, 4))
    b = keras.Input(shape=(2, 4))
    cat = layers.Concatenate(axis=1)
    flatten = layers.Flatten()
    out = layers.Dense(2, activation="softmax")
    return [a, b], [out(flatten(cat([a, b])))], [cat, flatten, out]


# name: (source, builder, batch, losses per output, target kind per output, loss_weights, optimizers)
CASES = {
    "two_in_two_out": (
        """let a = Input<10>;
let b = Input<28>;
let h = b => Dense<16, Relu> => Dense<8, Relu>;
let c = Concatenate(a, h);
let main = c => Dense<1, Sigmoid>;
let side = h => Dense<1>;
(main, side)""",
        two_in_two_out, 6,
        ["binary_crossentropy", "mean_squared_error"], ["binary", "real"], [1.0, 0.2],
        ["sgd", "adam"],
    ),
    "residual": (
        """let x = Input<8>;
let y = x => Dense<8, Relu> => Dense<8>;
Add(x, y) => Relu => Dense<3, Softmax>""",
        residual, 5,
        ["categorical_crossentropy"], ["onehot"], None,
        ["sgd_momentum", "adam"],
    ),
    "shared": (
        """let a = Input<6>;
let b = Input<6>;
let encode = Dense<4, Tanh>;
Concatenate(a => encode, b => encode) => Dense<1, Sigmoid>""",
        shared, 6,
        ["binary_crossentropy"], ["binary"], None,
        ["sgd", "adam", "rmsprop"],
    ),
    "merges": (
        """let a = Input<5>;
let b = Input<5>;
let p = a => Dense<4, Tanh>;
let q = b => Dense<4, Sigmoid>;
Concatenate(Subtract(p, q), Multiply(p, q), Average(p, q), Maximum(p, q), Minimum(p, q), Add(p, q)) => Dense<2>""",
        merges, 7,
        ["mean_squared_error"], ["real"], None,
        ["adam", "sgd"],
    ),
    "conv_residual": (
        """let x = Input<8, 8, 2>;
let h = x => Conv2D<4, 3, Relu, padding = Same>;
let y = h => Conv2D<4, 3, padding = Same>;
let z = Add(h, y) => Relu => MaxPool2D<2>;
Concatenate(z, z => Conv2D<3, 1>) => Flatten => Dense<3, Softmax>""",
        conv_residual, 4,
        ["sparse_categorical_crossentropy"], ["labels"], None,
        ["adam", "sgd_momentum"],
    ),
    "concat_axis": (
        """let a = Input<3, 4>;
let b = Input<2, 4>;
Concatenate<axis = 1>(a, b) => Flatten => Dense<2, Softmax>""",
        concat_axis, 4,
        ["categorical_crossentropy"], ["onehot"], None,
        ["adam"],
    ),
}

# Each case's rng seed is its index + 1 (as in tools/keras_fixtures.py) unless overridden here,
# where that draw made a weak fixture:
# - two_in_two_out: seed 1 drew all six `main` targets 0. Seed 9 draws three of each.
# - conv_residual: with uniform(-0.6, 0.6) weights its 112-wide Dense gives large logits; seed 5
#   drew one class for all four labels and drove sgd_momentum to a loss of exactly 0 (a saturated
#   softmax: no gradient left to compare). Seed 38 draws all three classes and both runs' losses
#   fall smoothly (2.67 -> 1.33 -> 0.51 and 2.67 -> 1.06 -> 0.11).
SEEDS = {"two_in_two_out": 9, "conv_residual": 38}

# Expected weight arrays per case, source order: a sanity check on the builders.
EXPECTED_SHAPES = {
    "two_in_two_out": [(28, 16), (16,), (16, 8), (8,), (18, 1), (1,), (8, 1), (1,)],
    "residual": [(8, 8), (8,), (8, 8), (8,), (8, 3), (3,)],
    "shared": [(6, 4), (4,), (8, 1), (1,)],
    "merges": [(5, 4), (4,), (5, 4), (4,), (24, 2), (2,)],
    "conv_residual": [(3, 3, 2, 4), (4,), (3, 3, 4, 4), (4,), (1, 1, 4, 3), (3,), (112, 3), (3,)],
    "concat_axis": [(20, 2), (2,)],
}


def build(builder):
    """A fresh model, its weight variables in source order, and whether Keras's order agrees."""
    keras.backend.clear_session()
    inputs, outputs, source_layers = builder()
    model = keras.Model(inputs, outputs)
    assert len({id(l) for l in source_layers}) == len(source_layers)
    in_model = {id(l) for l in model.layers}
    assert all(id(l) in in_model for l in source_layers), "a source layer is missing from the model"
    weighted = [l for l in model.layers if l.weights]
    assert {id(l) for l in weighted} <= {id(l) for l in source_layers}, "model has a weighted layer not in source"
    variables = []
    for layer in source_layers:
        vs = list(layer.weights)
        if not vs:
            continue
        # Every weighted layer here is Dense or Conv2D: exactly kernel then bias.
        assert [v.path.rsplit("/", 1)[-1] for v in vs] == ["kernel", "bias"], [v.path for v in vs]
        assert len(layer.trainable_weights) == 2 and not layer.non_trainable_weights
        variables.extend(vs)
    keras_paths = [v.path for v in model.weights]
    source_paths = [v.path for v in variables]
    assert sorted(keras_paths) == sorted(source_paths), (keras_paths, source_paths)
    return model, variables, keras_paths == source_paths


def set_source_weights(variables, arrays):
    assert len(variables) == len(arrays)
    for v, a in zip(variables, arrays):
        assert tuple(v.shape) == a.shape, (v.path, v.shape, a.shape)
        v.assign(a)


def read_source_weights(variables):
    return [keras.ops.convert_to_numpy(v) for v in variables]


def as_list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def main():
    out = {"keras": keras.__version__, "cases": []}
    for index, (name, (source, builder, batch, losses, kinds, loss_weights, optimizers)) in enumerate(CASES.items()):
        seed = SEEDS.get(name, index + 1)
        rng = np.random.default_rng(seed)
        model, variables, keras_order = build(builder)
        shapes = [tuple(v.shape) for v in variables]
        assert shapes == EXPECTED_SHAPES[name], (name, shapes)
        assert len(model.outputs) == len(losses) == len(kinds)
        weights = [rng.uniform(-0.6, 0.6, size=s).astype(np.float32) for s in shapes]
        xs = [rng.normal(size=(batch,) + tuple(i.shape[1:])).astype(np.float32) for i in model.inputs]
        set_source_weights(variables, weights)
        assert all(np.array_equal(a, b) for a, b in zip(read_source_weights(variables), weights))
        predict = as_list(model.predict(xs, verbose=0))
        ys = [targets(kind, rng, batch, o.shape[-1]) for kind, o in zip(kinds, model.outputs)]
        for kind, y in zip(kinds, ys):
            if kind != "real":
                assert len(np.unique(y, axis=0)) > 1, f"{name}: seed {seed} drew a single class; see SEEDS"
        multi = len(losses) > 1
        print(f"{name}: keras weight order {'matches' if keras_order else 'DIFFERS from'} source order; "
              f"{len(weights)} weight arrays; layers {[l.name for l in model.layers]}")
        case = {
            "name": name,
            "source": source,
            "seed": seed,
            "batch": batch,
            "inputs": [flat([x]) for x in xs],
            "weight_names": [v.path for v in variables],
            "weight_shapes": [list(s) for s in shapes],
            "weights": flat(weights),
            "predict": [flat([p]) for p in predict],
            "runs": [],
        }
        for opt in optimizers:
            model, variables, _ = build(builder)
            set_source_weights(variables, weights)
            compile_args = {"optimizer": OPTIMIZERS[opt](), "loss": list(losses)}
            if loss_weights is not None:
                compile_args["loss_weights"] = list(loss_weights)
            model.compile(**compile_args)
            y_arg = ys if multi else ys[0]
            evaluated = model.evaluate(xs, y_arg, verbose=0, return_dict=True)
            items = list(model.metrics_names)
            assert list(evaluated) == items, (evaluated, items)
            steps = []
            for _ in range(3):
                r = model.train_on_batch(xs, y_arg)
                steps.append([float(v) for v in r] if isinstance(r, (list, tuple)) else float(r))
            run = {
                "optimizer": opt,
                "losses": list(losses),
                "targets": [
                    [int(v) for v in y] if kind == "labels" else flat([y]) for kind, y in zip(kinds, ys)
                ],
                "evaluate": float(evaluated["loss"]),
                "step_losses": steps,
                "weights_after": flat(read_source_weights(variables)),
            }
            if loss_weights is not None:
                run["loss_weights"] = list(loss_weights)
            if multi:
                # Exactly what Keras reports, by its names; per-output losses are unweighted.
                run["evaluate_items"] = {k: float(v) for k, v in evaluated.items()}
                run["step_losses_items"] = items
                assert all(isinstance(s, list) and len(s) == len(items) for s in steps)
                lw = loss_weights or [1.0] * len(losses)
                for vals in [list(run["evaluate_items"].values())] + steps:
                    total = sum(w * v for w, v in zip(lw, vals[1:]))
                    assert abs(total - vals[0]) <= 1e-5 * max(1.0, abs(total)), (vals, total)
            else:
                assert items == ["loss"] and all(isinstance(s, float) for s in steps), (items, steps)
            totals = [run["evaluate"]] + [s[0] if multi else s for s in steps]
            assert all(np.isfinite(totals)), (name, opt, totals)
            if min(totals) < 1e-3 or max(totals) > 16.0:
                print(f"  WARNING {name}/{opt}: saturated or exploding losses {totals}")
            case["runs"].append(run)
        out["cases"].append(case)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "keras_graphs.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote {os.path.normpath(path)}: {len(out['cases'])} models, "
          f"{sum(len(c['runs']) for c in out['cases'])} training runs")


if __name__ == "__main__":
    main()
