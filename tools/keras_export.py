"""Export a Keras model (.keras or .h5) to a typed-nn safetensors file and print its model! chain.

    python3 tools/keras_export.py model.keras out.safetensors [--name StructName]

Every supported layer becomes one link of the chain; its weights are written under the names
typed-nn gives layers (Keras's automatic names: dense, dense_1, conv2d, ...), so the file loads
with `Model::load` into the printed struct whatever the layers were called in Keras. Needs
keras (3.x) and numpy; the Rust side needs no Python. Unsupported layers or options (a Dense
without bias, BatchNormalization without center/scale, channels-first data) are reported, not
guessed.
"""
import argparse
import json
import os
import struct
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


class Unsupported(Exception):
    pass


ACTIVATIONS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax", "linear": "Linear", "elu": "Elu"}
# typed-nn's automatic layer names for each activation layer (see nn-macros/src/shape.rs).
ACTIVATION_LAYER_BASE = {"Relu": "re_lu", "Softmax": "softmax", "Elu": "elu"}


def activation_name(act):
    name = getattr(act, "__name__", str(act))
    if name not in ACTIVATIONS:
        raise Unsupported(f"activation {name!r}")
    return ACTIVATIONS[name]


def pair(v):
    return f"({v[0]}, {v[1]})" if v[0] != v[1] else str(v[0])


def convert(layer):
    """(DSL text, typed-nn base name, [(weight name, array)]) for one Keras layer."""
    cls = type(layer).__name__
    cfg = layer.get_config()
    w = layer.get_weights()
    if cls == "Dense":
        if not cfg.get("use_bias", True):
            raise Unsupported(f"{layer.name}: Dense without bias")
        act = activation_name(layer.activation)
        text = f"Dense<{cfg['units']}>" if act == "Linear" else f"Dense<{cfg['units']}, {act}>"
        return text, "dense", [("kernel", w[0]), ("bias", w[1])]
    if cls == "Conv2D":
        if cfg.get("data_format", "channels_last") != "channels_last" or tuple(cfg.get("dilation_rate", (1, 1))) != (1, 1) or cfg.get("groups", 1) != 1:
            raise Unsupported(f"{layer.name}: only channels-last, undilated, ungrouped Conv2D")
        if not cfg.get("use_bias", True):
            raise Unsupported(f"{layer.name}: Conv2D without bias")
        act = activation_name(layer.activation)
        parts = [str(cfg["filters"]), pair(cfg["kernel_size"])]
        if act != "Linear":
            parts.append(act)
        if tuple(cfg["strides"]) != (1, 1):
            parts.append(f"stride = {pair(cfg['strides'])}")
        if cfg["padding"] == "same":
            parts.append("padding = Same")
        return f"Conv2D<{', '.join(parts)}>", "conv2d", [("kernel", w[0]), ("bias", w[1])]
    if cls in ("MaxPooling2D", "AveragePooling2D"):
        name = "MaxPool2D" if cls == "MaxPooling2D" else "AvgPool2D"
        parts = [pair(cfg["pool_size"])]
        if tuple(cfg["strides"]) != tuple(cfg["pool_size"]):
            parts.append(f"stride = {pair(cfg['strides'])}")
        if cfg["padding"] == "same":
            parts.append("padding = Same")
        base = "max_pooling2d" if cls == "MaxPooling2D" else "average_pooling2d"
        return f"{name}<{', '.join(parts)}>", base, []
    if cls == "BatchNormalization":
        if not (cfg.get("center", True) and cfg.get("scale", True)) or cfg.get("axis", -1) not in (-1, [-1]):
            raise Unsupported(f"{layer.name}: BatchNormalization needs center, scale and the last axis")
        names = ["gamma", "beta", "moving_mean", "moving_variance"]
        return f"BatchNorm<momentum = {cfg['momentum']}, epsilon = {cfg['epsilon']}>", "batch_normalization", list(zip(names, w))
    if cls == "Dropout":
        return f"Dropout<{cfg['rate']}>", "dropout", []
    if cls == "Flatten":
        return "Flatten", "flatten", []
    if cls == "ReLU":
        if cfg.get("max_value") is not None or cfg.get("threshold", 0) != 0 or cfg.get("negative_slope", 0) != 0:
            raise Unsupported(f"{layer.name}: ReLU with max_value, threshold or slope")
        return "Relu", "re_lu", []
    if cls == "LeakyReLU":
        return f"LeakyRelu<{cfg['negative_slope']}>", "leaky_re_lu", []
    if cls == "ELU":
        return f"Elu<{cfg['alpha']}>", "elu", []
    if cls == "Softmax":
        return "Softmax", "softmax", []
    if cls == "Activation":
        act = activation_name(layer.activation)
        return act, ACTIVATION_LAYER_BASE.get(act, "activation"), []
    if cls == "InputLayer":
        return None, None, []
    raise Unsupported(f"{layer.name}: layer type {cls}")


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for name, array in tensors:
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def export(model, out, struct_name):
    shape = model.inputs[0].shape[1:]
    if any(d is None for d in shape) or not 1 <= len(shape) <= 3:
        raise Unsupported(f"input shape {tuple(shape)}: typed-nn needs 1 to 3 fixed dimensions")
    links = [f"Input<{', '.join(str(d) for d in shape)}>"]
    counts = {}
    tensors = []
    for layer in model.layers:
        text, base, weights = convert(layer)
        if text is None:
            continue
        n = counts.get(base, 0)
        counts[base] = n + 1
        name = base if n == 0 else f"{base}_{n}"
        links.append(text)
        tensors += [(f"{name}/{w}", a) for w, a in weights]
    write_safetensors(out, tensors, {"format": "typed-nn", "exported_from": "keras " + __import__("keras").__version__})
    return f"model! {{ pub struct {struct_name} {{ {' => '.join(links)} }} }}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a Keras .keras or .h5 file")
    parser.add_argument("out", help="the safetensors file to write")
    parser.add_argument("--name", default="Exported", help="the struct name in the printed chain")
    args = parser.parse_args()
    import keras

    try:
        chain = export(keras.models.load_model(args.model, compile=False), args.out, args.name)
    except Unsupported as e:
        sys.exit(f"keras_export: unsupported: {e}")
    print(chain)


if __name__ == "__main__":
    main()
