"""Makes tests/fixtures/keras_mnist.*: two small Keras models trained briefly on the committed
MNIST data, exported with tools/keras_export.py, plus Keras's predictions for test images.

    python3 tools/keras_mnist_fixture.py   (needs tensorflow-cpu / keras 3)
"""
import gzip
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from keras_export import export  # noqa: E402


def idx(name):
    with gzip.open(os.path.join(ROOT, "data", "mnist", name)) as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data[4 + 4 * ndim:], dtype=np.uint8).reshape(dims)


def main():
    keras.utils.set_random_seed(1)
    x = idx("train-images-idx3-ubyte.gz")[:6000].astype("float32") / 255.0
    y = idx("train-labels-idx1-ubyte.gz")[:6000]
    x_test = idx("t10k-images-idx3-ubyte.gz")[:32].astype("float32") / 255.0
    models = {
        "keras_mnist_mlp": keras.Sequential([
            keras.Input((28, 28)), layers.Flatten(), layers.Dense(64, activation="relu"),
            layers.Dropout(0.2), layers.Dense(10, activation="softmax", name="my_output")]),
        "keras_mnist_cnn": keras.Sequential([
            keras.Input((28, 28, 1)), layers.Conv2D(4, 3, activation="relu", padding="same"),
            layers.BatchNormalization(), layers.MaxPooling2D(2), layers.Conv2D(6, (3, 2), strides=2),
            layers.ReLU(), layers.Flatten(), layers.Dense(10, activation="softmax")]),
    }
    out = {}
    for name, model in models.items():
        inputs = x if len(model.inputs[0].shape) == 3 else x[..., None]
        tests = x_test if len(model.inputs[0].shape) == 3 else x_test[..., None]
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(inputs, y, epochs=1, batch_size=64, verbose=0)
        path = os.path.join(ROOT, "tests", "fixtures", name + ".keras")
        model.save(path)
        reloaded = keras.models.load_model(path)
        chain = export(reloaded, os.path.join(ROOT, "tests", "fixtures", name + ".safetensors"), "Exported")
        os.remove(path)
        out[name] = {"chain": chain, "predict": [float(v) for v in reloaded.predict(tests, verbose=0).ravel()]}
        print(chain)
    with open(os.path.join(ROOT, "tests", "fixtures", "keras_mnist_predictions.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
