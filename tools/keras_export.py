"""Export a Keras model (.keras or .h5) to a typed-nn safetensors file and print its model! text.

    python3 tools/keras_export.py model.keras out.safetensors [--name StructName]

A Sequential model (or a functional model that is one chain) prints as a chain, every
supported layer one link of it. Any other functional model (several inputs or outputs, merge
layers, shared layers) prints in the graph form: the inputs bound first in `model.inputs`
order, then one `let` per chain of layers or merge (a shared layer bound once, right before
its first use), then the outputs in `model.outputs` order, bound to their Keras names where
those are lowercase Rust identifiers and not automatic names such as dense_3. Weights are
written under the names typed-nn gives layers (Keras's automatic names dense, dense_1,
conv2d, ..., counted in the order layers first appear in the printed text), so the file loads
with `Model::load` into the printed struct whatever the layers were called in Keras. Needs
keras (3.x) and numpy; the Rust side needs no Python. Unsupported layers or options (a Dense without bias,
BatchNormalization without center/scale, channels-first data, a layer with several inputs or
outputs that is no merge, raw ops, nested models) are reported, not guessed.
"""
import argparse
import json
import os
import re
import struct
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


class Unsupported(Exception):
    pass


ACTIVATIONS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax", "linear": "Linear", "elu": "Elu"}
# typed-nn's automatic layer names for each activation layer (each layer kind is defined in
# nn-macros/src/layers/<kind>.rs; these are the base_name()s in nn-macros/src/layers/activation.rs).
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


def metadata():
    return {"format": "typed-nn", "exported_from": "keras " + __import__("keras").__version__}


def input_text(tensor, what):
    shape = tuple(tensor.shape[1:])
    if any(d is None for d in shape) or not 1 <= len(shape) <= 3:
        raise Unsupported(f"{what} shape {shape}: typed-nn needs 1 to 3 fixed dimensions")
    return f"Input<{', '.join(str(d) for d in shape)}>"


def export(model, out, struct_name):
    """Writes `out` and returns the model! text: a chain for a Sequential model, else the
    graph form (a chain too if the functional model is one)."""
    import keras

    if isinstance(model, keras.Sequential):
        return export_sequential(model, out, struct_name)
    return export_functional(model, out, struct_name)


def export_sequential(model, out, struct_name):
    links = [input_text(model.inputs[0], "input")]
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
    write_safetensors(out, tensors, metadata())
    return f"model! {{ pub struct {struct_name} {{ {' => '.join(links)} }} }}"


# Keras's merge layers, all typed-nn knows (Keras class name = DSL name).
MERGES = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate")
# The most inputs or outputs a typed-nn model can have (MAX_IO in nn-macros/src/graph.rs).
MAX_IO = 4
RUST_KEYWORDS = set("""as async await break const continue crate dyn else enum extern false fn for if impl
    in let loop match mod move mut pub ref return self static struct super trait true type unsafe use
    where while abstract become box do final macro override priv try typeof unsized virtual yield gen""".split())


def merge_text(layer, shapes):
    """The DSL head of a merge of tensors of these (sample) shapes, without its arguments."""
    cls = type(layer).__name__
    if cls == "Subtract" and len(shapes) != 2:
        raise Unsupported(f"{layer.name}: Subtract of {len(shapes)} tensors (typed-nn takes exactly 2)")
    if len(shapes) < 2:
        raise Unsupported(f"{layer.name}: {cls} of fewer than two tensors")
    if cls != "Concatenate":
        if any(s != shapes[0] for s in shapes):
            raise Unsupported(f"{layer.name}: {cls} of shapes {', '.join(map(str, shapes))}; typed-nn merges "
                              "tensors of one shape only (no broadcasting)")
        return cls
    axis = layer.get_config().get("axis", -1)
    return "Concatenate" if axis == -1 else f"Concatenate<axis = {axis}>"


def node_key(tensor):
    """The graph node that produced a KerasTensor: (operation, node index)."""
    history = getattr(tensor, "_keras_history", None)
    if history is None or history.operation is None:
        raise Unsupported(f"tensor {tensor!r} has no Keras history (not made by a layer)")
    if history.tensor_index != 0:
        raise Unsupported(f"{history.operation.name}: a layer with several outputs")
    return history.operation, history.node_index


def export_functional(model, out, struct_name):
    import keras

    inputs, outputs = list(model.inputs), list(model.outputs)
    if len(inputs) > MAX_IO or len(outputs) > MAX_IO:
        raise Unsupported(f"{len(inputs)} inputs and {len(outputs)} outputs: a typed-nn model has at most "
                          f"{MAX_IO} of each")
    input_keys = [node_key(t) for t in inputs]
    input_texts = [input_text(t, f"input {i} ({t.name})") for i, t in enumerate(inputs)]

    # The graph in DFS post-order from the outputs (a node's inputs left to right), each node once.
    # A node: {"layer", "kind": "input" | "layer" | "merge", "args": [node ids], "shape"}.
    nodes, ids = [], {}

    def visit(tensor):
        op, index = key = node_key(tensor)
        k = (id(op), index)
        if k in ids:
            return ids[k]
        cls = type(op).__name__
        if key in input_keys:
            node = {"layer": op, "kind": "input", "args": [], "input": input_keys.index(key)}
        elif cls == "InputLayer":
            raise Unsupported(f"{op.name}: an Input that is not among the model's inputs")
        else:
            if not isinstance(op, keras.layers.Layer):
                raise Unsupported(f"{op.name}: {cls} is a raw operation, not a layer (keras.ops calls and "
                                  "tensor arithmetic such as a + b have no typed-nn form; use a layer such as "
                                  "layers.Add)")
            if isinstance(op, keras.Model):
                raise Unsupported(f"{op.name}: a nested model ({cls}); typed-nn has no nested models, "
                                  "build the outer model from its layers")
            knode = op._inbound_nodes[index]
            if len(knode.outputs) != 1:
                raise Unsupported(f"{op.name}: a layer with {len(knode.outputs)} outputs")
            args = list(knode.arguments.keras_tensors)
            if cls in MERGES:
                kind = "merge"
            else:
                kind = "layer"
                if len(args) != 1:
                    raise Unsupported(f"{op.name}: {cls} called on {len(args)} tensors; only merges "
                                      f"({', '.join(MERGES)}) take several")
                if knode.arguments.kwargs.get("training") is True:
                    raise Unsupported(f"{op.name}: called with training=True (typed-nn predicts in inference mode)")
            arg_ids = [visit(a) for a in args]
            node = {"layer": op, "kind": kind, "args": arg_ids}
        node["shape"] = tuple(tensor.shape[1:])
        nodes.append(node)
        ids[k] = len(nodes) - 1
        return ids[k]

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))  # one frame per node on a path
    out_ids = [visit(t) for t in outputs]
    for i, o in enumerate(out_ids):
        if nodes[o]["kind"] == "input":
            raise Unsupported(f"output {i} is the model input {inputs[nodes[o]['input']].name} itself; "
                              "typed-nn's outputs are computed by a layer")
        if o in out_ids[:i]:
            raise Unsupported(f"output {i} repeats output {out_ids.index(o)}: typed-nn's outputs are "
                              "distinct tensors")
    used_inputs = {n["input"] for n in nodes if n["kind"] == "input"}
    for i, t in enumerate(inputs):
        if i not in used_inputs:
            raise Unsupported(f"input {i} ({t.name}) is not used by any output")

    # How often each node's tensor is read (by nodes or as an output), and each layer applied.
    reads = [0] * len(nodes)
    for n in nodes:
        for a in n["args"]:
            reads[a] += 1
    for o in out_ids:
        reads[o] += 1
    applications = {}
    for n in nodes:
        if n["kind"] == "layer":
            applications[id(n["layer"])] = applications.get(id(n["layer"]), 0) + 1

    # Lines of the body after the inputs, in DFS post-order: a layer applied to a tensor read
    # only by it extends that tensor's chain; a shared layer gets its own `let` right before
    # the line of its first application. A line: {"def": layer} or {"head": ..., "steps": [layers],
    # "end": node id} where head is ("var", node id) or ("merge", layer, [node ids]).
    lines, line_of, defined = [], {}, set()
    for k, n in enumerate(nodes):
        if n["kind"] == "input":
            continue
        if n["kind"] == "merge":
            shapes = [nodes[a]["shape"] for a in n["args"]]
            lines.append({"head": ("merge", merge_text(n["layer"], shapes), n["args"]), "steps": [], "end": k})
            line_of[k] = lines[-1]
            continue
        (a,) = n["args"]
        layer = n["layer"]
        shared = applications[id(layer)] > 1
        if shared and id(layer) not in defined:
            defined.add(id(layer))
            definition = {"def": layer}
        else:
            definition = None
        chain = line_of.get(a)
        if nodes[a]["kind"] != "input" and reads[a] == 1 and chain is lines[-1] and chain["end"] == a:
            if definition:
                lines.insert(len(lines) - 1, definition)
        else:
            if definition:
                lines.append(definition)
            chain = {"head": ("var", a), "steps": [], "end": k}
            lines.append(chain)
        chain["steps"].append(layer)
        chain["end"] = k
        line_of[k] = chain

    # Names: variables for inputs, shared layers and line ends; typed-nn's layer names counted
    # in the order layers first appear in the text.
    var = {}
    for n_id, n in enumerate(nodes):
        if n["kind"] == "input":
            var[n_id] = f"x{n['input']}"
    shared_var, taken = {}, set(var.values())
    t = 0
    for line in lines:
        if "def" in line:
            shared_var[id(line["def"])] = f"shared{len(shared_var)}"
        else:
            var[line["end"]] = f"t{t}"
            t += 1
    taken |= set(var.values()) | set(shared_var.values())
    auto = re.compile(r"^(input_layer|dense|conv2d|max_pooling2d|average_pooling2d|batch_normalization|dropout|"
                      r"flatten|re_lu|leaky_re_lu|elu|softmax|activation|add|subtract|multiply|average|maximum|"
                      r"minimum|concatenate)(_\d+)?$")
    # An output keeps its Keras name (so per-output loss names agree) unless it looks automatic.
    for o, name in zip(out_ids, getattr(model, "output_names", None) or []):
        if (re.fullmatch(r"[a-z_][a-z0-9_]*", name) and name != "_" and name not in RUST_KEYWORDS
                and not auto.match(name) and name not in taken):
            taken.discard(var[o])
            var[o] = name
            taken.add(name)

    counts = {}

    def auto_name(base):
        n = counts.get(base, 0)
        counts[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    tensors, text_lines = [], []

    def define(layer):
        text, base, weights = convert(layer)
        name = auto_name(base)
        tensors.extend((f"{name}/{w}", a) for w, a in weights)
        return text

    for i, t_in in enumerate(input_texts):
        auto_name("input_layer")
        text_lines.append(f"let x{i} = {t_in};")
    for line in lines:
        if "def" in line:
            text_lines.append(f"let {shared_var[id(line['def'])]} = {define(line['def'])};")
            continue
        if line["head"][0] == "var":
            parts = [var[line["head"][1]]]
        else:
            _, head, args = line["head"]
            auto_name(head.split("<")[0].lower())
            parts = [f"{head}({', '.join(var[a] for a in args)})"]
        for layer in line["steps"]:
            parts.append(shared_var[id(layer)] if id(layer) in shared_var else define(layer))
        line["text"] = " => ".join(parts)
        text_lines.append(f"let {var[line['end']]} = {line['text']};")
    names = [var[o] for o in out_ids]
    result = names[0] if len(names) == 1 else f"({', '.join(names)})"

    # One input, one output, one chain from the input and nothing shared: the chain form.
    if len(inputs) == 1 and len(outputs) == 1 and len(lines) == 1 and lines[0].get("head") == ("var", 0):
        chain = lines[0]["text"].split(" => ", 1)[1]
        source = f"model! {{ pub struct {struct_name} {{ {input_texts[0]} => {chain} }} }}"
    else:
        body = "".join(f"        {line}\n" for line in text_lines + [result])
        source = f"model! {{\n    pub struct {struct_name} {{\n{body}    }}\n}}"
    write_safetensors(out, tensors, metadata())
    return source


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a Keras .keras or .h5 file")
    parser.add_argument("out", help="the safetensors file to write")
    parser.add_argument("--name", default="Exported", help="the struct name in the printed chain")
    args = parser.parse_args()
    import keras

    try:
        source = export(keras.models.load_model(args.model, compile=False), args.out, args.name)
    except Unsupported as e:
        sys.exit(f"keras_export: unsupported: {e}")
    print(source)


if __name__ == "__main__":
    main()
