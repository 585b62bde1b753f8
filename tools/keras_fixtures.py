"""Generates tests/fixtures/keras.json: real Keras numbers for dense and conv models.

For each model below: fixed initial weights, Keras's predictions, and for each (loss,
optimizer) pair the `evaluate` loss before training, the losses `train_on_batch` returns for
three steps, and every weight after them. `tests/integration/keras_parity.rs` replays the same chains in
typed-nn and compares. The Rust side needs no Python; rerun this only to regenerate.

Usage: python3 tools/keras_fixtures.py   (needs tensorflow-cpu 2.21 / keras 3.15 in the env)
"""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers, regularizers  # noqa: E402

OPTIMIZERS = {
    "sgd": lambda: keras.optimizers.SGD(learning_rate=0.1),
    "sgd_momentum": lambda: keras.optimizers.SGD(learning_rate=0.1, momentum=0.9),
    "sgd_nesterov": lambda: keras.optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
    "adagrad": lambda: keras.optimizers.Adagrad(learning_rate=0.1),
    "rmsprop": lambda: keras.optimizers.RMSprop(learning_rate=0.01),
    "rmsprop_centered_momentum": lambda: keras.optimizers.RMSprop(learning_rate=0.01, momentum=0.5, centered=True),
    "adam": lambda: keras.optimizers.Adam(learning_rate=0.01),
    "adam_amsgrad": lambda: keras.optimizers.Adam(learning_rate=0.01, amsgrad=True),
}

# name: (model! chain, input shape, layer builder, batch, [(loss, target kind, optimizers)])
CASES = {
    "softmax_mlp": (
        "Input<6> => Dense<8, Relu> => Dense<4, Softmax>",
        (6,),
        lambda: [layers.Dense(8, activation="relu"), layers.Dense(4, activation="softmax")],
        5,
        [
            ("categorical_crossentropy", "onehot", list(OPTIMIZERS)),
            ("sparse_categorical_crossentropy", "labels", ["sgd", "adam"]),
            ("mean_squared_error", "onehot", ["sgd", "rmsprop"]),
        ],
    ),
    "softmax_layer": (
        "Input<4> => Dense<6> => LeakyRelu => Dense<3> => Softmax",
        (4,),
        lambda: [layers.Dense(6), layers.LeakyReLU(), layers.Dense(3), layers.Softmax()],
        4,
        [
            ("categorical_crossentropy", "onehot", ["adam", "sgd_momentum"]),
            ("sparse_categorical_crossentropy", "labels", ["adam"]),
        ],
    ),
    "sigmoid_mlp": (
        "Input<5> => Dense<6, Tanh> => Dense<2, Sigmoid>",
        (5,),
        lambda: [layers.Dense(6, activation="tanh"), layers.Dense(2, activation="sigmoid")],
        6,
        [
            ("binary_crossentropy", "binary", ["adam", "sgd", "rmsprop"]),
            ("mean_absolute_error", "binary", ["adam"]),
        ],
    ),
    "regression": (
        "Input<2, 3> => Flatten => Dense<5, Elu, l2 = 0.01> => Dense<4, Sigmoid, l1 = 0.02> => Dense<2>",
        (2, 3),
        lambda: [
            layers.Flatten(),
            layers.Dense(5, activation="elu", kernel_regularizer=regularizers.L2(0.01)),
            layers.Dense(4, activation="sigmoid", kernel_regularizer=regularizers.L1(0.02)),
            layers.Dense(2),
        ],
        7,
        [
            ("mean_squared_error", "real", ["adam", "sgd_nesterov", "adagrad"]),
            ("mean_absolute_error", "real", ["rmsprop_centered_momentum"]),
        ],
    ),
    "activations": (
        "Input<3> => Dense<5, Elu> => Elu<0.5> => Dense<4, LeakyRelu<0.1>> => Sigmoid => Dense<3, Tanh> => Relu => Dense<2, Softmax>",
        (3,),
        lambda: [
            layers.Dense(5, activation="elu"),
            layers.ELU(alpha=0.5),
            layers.Dense(4, activation=lambda x: keras.activations.leaky_relu(x, negative_slope=0.1)),
            layers.Activation("sigmoid"),
            layers.Dense(3, activation="tanh"),
            layers.ReLU(),
            layers.Dense(2, activation="softmax"),
        ],
        4,
        [("categorical_crossentropy", "onehot", ["adam"])],
    ),
    "strided_same_conv": (
        "Input<7, 9, 2> => Conv2D<3, (3, 2), Relu, stride = (2, 3), padding = Same> => Conv2D<2, 3, Tanh, padding = Same> => Flatten => Dense<3, Softmax>",
        (7, 9, 2),
        lambda: [
            layers.Conv2D(3, (3, 2), strides=(2, 3), padding="same", activation="relu"),
            layers.Conv2D(2, 3, padding="same", activation="tanh"),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ],
        4,
        [("categorical_crossentropy", "onehot", ["adam", "sgd_momentum"])],
    ),
    "pooling": (
        "Input<10, 10, 1> => Conv2D<4, 3, Relu, padding = Same> => MaxPool2D<2> => Conv2D<6, (2, 3)> => AvgPool2D<2, padding = Same> => Flatten => Dense<5, Relu> => Dense<3, Softmax>",
        (10, 10, 1),
        lambda: [
            layers.Conv2D(4, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(6, (2, 3)),
            layers.AveragePooling2D(2, padding="same"),
            layers.Flatten(),
            layers.Dense(5, activation="relu"),
            layers.Dense(3, activation="softmax"),
        ],
        5,
        [("sparse_categorical_crossentropy", "labels", ["adam", "rmsprop"])],
    ),
    "batch_norm": (
        "Input<6, 6, 2> => Conv2D<3, 3, padding = Same> => BatchNorm => Relu => MaxPool2D<2, stride = 1, padding = Same> => AvgPool2D<3, stride = 2> => Flatten => Dense<4> => BatchNorm<momentum = 0.9> => Dense<2, Sigmoid>",
        (6, 6, 2),
        lambda: [
            layers.Conv2D(3, 3, padding="same"),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.MaxPooling2D(2, strides=1, padding="same"),
            layers.AveragePooling2D(3, strides=2),
            layers.Flatten(),
            layers.Dense(4),
            layers.BatchNormalization(momentum=0.9),
            layers.Dense(2, activation="sigmoid"),
        ],
        6,
        # Not Adam: the bias feeding a BatchNorm has a zero gradient up to rounding noise,
        # which Adam's normalisation turns into steps of lr * noise / eps that no two
        # implementations share.
        [("binary_crossentropy", "binary", ["sgd", "sgd_momentum", "rmsprop"])],
    ),
}


def build(shape, make):
    return keras.Sequential([keras.Input(shape=shape)] + make())


def targets(kind, rng, batch, width):
    if kind == "labels":
        return rng.integers(0, width, size=batch)
    if kind == "onehot":
        return np.eye(width, dtype=np.float32)[rng.integers(0, width, size=batch)]
    if kind == "binary":
        return rng.integers(0, 2, size=(batch, width)).astype(np.float32)
    return rng.normal(size=(batch, width)).astype(np.float32)


def flat(arrays):
    return [float(v) for a in arrays for v in np.asarray(a, dtype=np.float32).ravel()]


def main():
    out = {"keras": keras.__version__, "cases": []}
    for seed, (name, (chain, shape, make, batch, runs)) in enumerate(CASES.items()):
        rng = np.random.default_rng(seed + 1)
        model = build(shape, make)
        # Variances and BatchNorm scales must stay positive.
        weights = [
            rng.uniform(0.5, 1.5, size=v.shape).astype(np.float32)
            if ("moving_variance" in v.path or "gamma" in v.path)
            else rng.uniform(-0.6, 0.6, size=v.shape).astype(np.float32)
            for v in model.weights
        ]
        x = rng.normal(size=(batch,) + shape).astype(np.float32)
        model.set_weights(weights)
        width = model.output_shape[-1]
        case = {
            "name": name,
            "chain": chain,
            "x": flat([x]),
            "weights": flat(weights),
            "predict": flat([model.predict(x, verbose=0)]),
            "runs": [],
        }
        for loss, kind, optimizers in runs:
            y = targets(kind, rng, batch, width)
            for opt in optimizers:
                model = build(shape, make)
                model.set_weights(weights)
                model.compile(optimizer=OPTIMIZERS[opt](), loss=loss)
                before = float(model.evaluate(x, y, verbose=0))
                steps = [float(model.train_on_batch(x, y)) for _ in range(3)]
                case["runs"].append({
                    "loss": loss,
                    "optimizer": opt,
                    "targets": [int(v) for v in y] if kind == "labels" else flat([y]),
                    "evaluate": before,
                    "step_losses": steps,
                    "weights_after": flat(model.get_weights()),
                })
        out["cases"].append(case)
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "keras.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote {path}: {len(out['cases'])} models, {sum(len(c['runs']) for c in out['cases'])} training runs")


if __name__ == "__main__":
    main()
