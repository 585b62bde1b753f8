"""The peers' side: the same models and workloads in PyTorch (eager), onnxruntime and TF-Keras,
printed as one JSON object per (engine, threads, workload): median seconds per call.

Workloads (as in src/main.rs): the 784-300-10 MLP (f32) at batch 1 and 128 and
a batch-128 SGD step, and at batch 1 on real MNIST test digits (onnxruntime and PyTorch); the
tiny 16-32(tanh)-4 model at batch 1; LeNet-5 (the repository's `benches/lenet.rs` chain) at
batch 1 and a batch-64 Adam step.

    python peers.py THREADS
"""
import gzip
import itertools
import json
import os
import statistics
import sys
import time

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 1
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["OMP_NUM_THREADS"] = str(THREADS)

import numpy as np  # noqa: E402

X128 = ((np.arange(128 * 784).reshape(128, 784) * 31) % 255 / 255.0).astype(np.float32)
Y128 = np.arange(128) % 10
RNG = np.random.default_rng(1)
W1 = RNG.uniform(-0.07, 0.07, (784, 300)).astype(np.float32)
B1 = np.zeros(300, np.float32)
W2 = RNG.uniform(-0.14, 0.14, (300, 10)).astype(np.float32)
B2 = np.zeros(10, np.float32)
T1 = RNG.uniform(-0.3, 0.3, (16, 32)).astype(np.float32)
TB1 = np.zeros(32, np.float32)
T2 = RNG.uniform(-0.3, 0.3, (32, 4)).astype(np.float32)
TB2 = np.zeros(4, np.float32)
TINY_X1 = X128[:1, :16].copy()


def mnist_digits(count=100):
    """The first test digits of the repository's MNIST copy, one (1, 784) array each, scaled to
    [0, 1] as typed-nn's load_mnist does: the batch-1 workload on real data (82% zeros)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "data", "mnist",
                        "t10k-images-idx3-ubyte.gz")
    with gzip.open(path) as f:
        pixels = np.frombuffer(f.read(), np.uint8, offset=16)[: count * 784]
    images = (pixels.reshape(count, 784) / np.float32(255.0)).astype(np.float32)
    return [images[i : i + 1] for i in range(count)]


DIGITS = mnist_digits()
# LeNet-5 weights for onnxruntime and TF-Keras, in Keras's layouts: kernels (kh, kw, in, out).
LENET_SHAPES = [(5, 5, 1, 6), (6,), (5, 5, 6, 16), (16,), (400, 120), (120,), (120, 84), (84,), (84, 10), (10,)]
LENET_WEIGHTS = [RNG.uniform(-0.1, 0.1, s).astype(np.float32) for s in LENET_SHAPES]
# LeNet inputs as benches/lenet.rs makes them, in PyTorch's (N, C, H, W) layout.
_r, _c = np.meshgrid(np.arange(28), np.arange(28), indexing="ij")
LENET_X64 = np.stack([((_r * 28 + _c + s * 7) % 255 / 255.0) for s in range(64)])[:, None].astype(np.float32)


def median_seconds(fn, rounds=21, iters=50):
    for _ in range(iters):
        fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(iters):
            fn()
        times.append((time.perf_counter() - start) / iters)
    return statistics.median(times)


def emit(engine, workload, seconds):
    print(json.dumps({"engine": engine, "threads": THREADS, "workload": workload, "seconds": seconds}), flush=True)


def onnx_session(name, nodes, x_shape, y_shape, weights):
    """An onnxruntime InferenceSession for a graph from `x` to `y` with the named constant weights."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    import onnxruntime as ort

    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
        [numpy_helper.from_array(a, n) for n, a in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def onnxruntime_rows():
    from onnx import helper

    node = helper.make_node
    dense = lambda x, w, b, y: [node("MatMul", [x, w], [y + "_mm"]), node("Add", [y + "_mm", b], [y])]
    mlp = onnx_session(
        "mlp",
        dense("x", "w1", "b1", "h1") + [node("Relu", ["h1"], ["h2"])]
        + dense("h2", "w2", "b2", "z") + [node("Softmax", ["z"], ["y"], axis=-1)],
        ["batch", 784], ["batch", 10],
        {"w1": W1, "b1": B1, "w2": W2, "b2": B2},
    )
    x1 = X128[:1]
    emit("onnxruntime", "mlp_predict_batch1", median_seconds(lambda: mlp.run(None, {"x": x1}), iters=2000))
    digits = itertools.cycle(DIGITS)
    emit("onnxruntime", "mlp_predict_batch1_mnist_digit",
         median_seconds(lambda: mlp.run(None, {"x": next(digits)}), iters=2000))
    emit("onnxruntime", "mlp_predict_batch128", median_seconds(lambda: mlp.run(None, {"x": X128})))

    tiny = onnx_session(
        "tiny",
        dense("x", "t1", "tb1", "h1") + [node("Tanh", ["h1"], ["h2"])] + dense("h2", "t2", "tb2", "y"),
        [1, 16], [1, 4],
        {"t1": T1, "tb1": TB1, "t2": T2, "tb2": TB2},
    )
    emit("onnxruntime", "tiny_predict_batch1", median_seconds(lambda: tiny.run(None, {"x": TINY_X1}), iters=5000))

    k1, c1, k2, c2, w3, b3, w4, b4, w5, b5 = LENET_WEIGHTS
    lenet = onnx_session(
        "lenet",
        [
            node("Conv", ["x", "k1", "c1"], ["a1"], pads=[2, 2, 2, 2]), node("Relu", ["a1"], ["r1"]),
            node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
            node("Conv", ["p1", "k2", "c2"], ["a2"]), node("Relu", ["a2"], ["r2"]),
            node("MaxPool", ["r2"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
            node("Flatten", ["p2"], ["f"]),
        ]
        + dense("f", "w3", "b3", "d3") + [node("Relu", ["d3"], ["e3"])]
        + dense("e3", "w4", "b4", "d4") + [node("Relu", ["d4"], ["e4"])]
        + dense("e4", "w5", "b5", "z") + [node("Softmax", ["z"], ["y"], axis=-1)],
        ["batch", 1, 28, 28], ["batch", 10],
        # ONNX convolution kernels are (out, in, kh, kw).
        {"k1": k1.transpose(3, 2, 0, 1).copy(), "c1": c1, "k2": k2.transpose(3, 2, 0, 1).copy(), "c2": c2,
         "w3": w3, "b3": b3, "w4": w4, "b4": b4, "w5": w5, "b5": b5},
    )
    image = LENET_X64[:1]
    emit("onnxruntime", "lenet_predict_batch1", median_seconds(lambda: lenet.run(None, {"x": image}), iters=500))


def torch_rows():
    import torch
    from torch import nn

    torch.set_num_threads(THREADS)
    torch.set_num_interop_threads(1)
    torch.manual_seed(1)

    mlp = nn.Sequential(nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 10), nn.Softmax(dim=-1)).eval()
    x1, x128 = torch.from_numpy(X128[:1]), torch.from_numpy(X128)
    with torch.inference_mode():
        emit("pytorch", "mlp_predict_batch1", median_seconds(lambda: mlp(x1), iters=2000))
        digits = itertools.cycle([torch.from_numpy(d) for d in DIGITS])
        emit("pytorch", "mlp_predict_batch1_mnist_digit", median_seconds(lambda: mlp(next(digits)), iters=2000))
        emit("pytorch", "mlp_predict_batch128", median_seconds(lambda: mlp(x128)))
    def train_step(model, optimizer, x, y):
        """One step on logits (softmax folded into the loss), as typed-nn and Keras do."""
        def step():
            optimizer.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            return loss.item()
        return step

    logits = mlp[:3].train()
    sgd = torch.optim.SGD(logits.parameters(), lr=0.01)
    y128 = torch.from_numpy(Y128).long()
    emit("pytorch", "mlp_train_step_batch128_sgd", median_seconds(train_step(logits, sgd, x128, y128), iters=20))

    tiny = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 4)).eval()
    t1 = torch.rand(1, 16)
    with torch.inference_mode():
        emit("pytorch", "tiny_predict_batch1", median_seconds(lambda: tiny(t1), iters=5000))

    lenet = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )
    images = torch.from_numpy(LENET_X64)
    labels = torch.from_numpy(Y128[:64]).long()
    lenet.eval()
    with torch.inference_mode():
        emit("pytorch", "lenet_predict_batch1", median_seconds(lambda: torch.softmax(lenet(images[:1]), -1), iters=500))
    lenet.train()
    adam = torch.optim.Adam(lenet.parameters(), lr=0.001)
    emit("pytorch", "lenet_train_step_batch64_adam", median_seconds(train_step(lenet, adam, images, labels), iters=10))


def keras_rows():
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(300, activation="relu"), keras.layers.Dense(10, activation="softmax")])
    model.set_weights([W1, B1, W2, B2])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
    predict = tf.function(lambda x: model(x, training=False), jit_compile=False)
    x1, x128 = tf.constant(X128[:1]), tf.constant(X128)
    emit("tf-keras", "mlp_predict_batch1", median_seconds(lambda: predict(x1).numpy(), iters=500))
    emit("tf-keras", "mlp_predict_batch128", median_seconds(lambda: predict(x128).numpy()))
    y128 = tf.constant(Y128)
    emit("tf-keras", "mlp_train_step_batch128_sgd", median_seconds(lambda: model.train_on_batch(x128, y128), iters=20))

    tiny = keras.Sequential([keras.Input((16,)), keras.layers.Dense(32, activation="tanh"), keras.layers.Dense(4)])
    tiny.set_weights([T1, TB1, T2, TB2])
    tiny_predict = tf.function(lambda x: tiny(x, training=False), jit_compile=False)
    t1 = tf.constant(TINY_X1)
    emit("tf-keras", "tiny_predict_batch1", median_seconds(lambda: tiny_predict(t1).numpy(), iters=2000))

    layers = keras.layers
    lenet = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(6, 5, activation="relu", padding="same"), layers.MaxPooling2D(2),
        layers.Conv2D(16, 5, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(),
        layers.Dense(120, activation="relu"), layers.Dense(84, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    lenet.set_weights(LENET_WEIGHTS)
    lenet.compile(optimizer=keras.optimizers.Adam(0.001), loss="sparse_categorical_crossentropy")
    lenet_predict = tf.function(lambda x: lenet(x, training=False), jit_compile=False)
    images = tf.constant(LENET_X64.transpose(0, 2, 3, 1))  # Keras is channels-last
    image = images[:1]
    emit("tf-keras", "lenet_predict_batch1", median_seconds(lambda: lenet_predict(image).numpy(), iters=500))
    y64 = tf.constant(Y128[:64])
    emit("tf-keras", "lenet_train_step_batch64_adam", median_seconds(lambda: lenet.train_on_batch(images, y64), iters=10))

if __name__ == "__main__":
    for rows in (torch_rows, onnxruntime_rows, keras_rows):
        try:
            rows()
        except Exception as e:  # a missing peer is reported, not fatal
            print(json.dumps({"engine": rows.__name__.replace("_rows", ""), "error": str(e)}), flush=True)
