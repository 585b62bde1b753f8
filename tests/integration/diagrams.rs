//! `to_dot` and `plot_model`: a box per input, layer (a shared layer once) and merge with its
//! name, class and shapes, and an arrow per tensor read; the SVG is laid out from the DOT.

use typed_nn::prelude::*;

model! {
    struct Mnist { Input<28, 28> => Flatten => Dense<300, Relu> => Dense<10, Softmax> }
    struct Siamese {
        let a = Input<6>;
        let b = Input<6>;
        let encode = Dense<4, Tanh>;
        let joined = Concatenate(a => encode, b => encode);
        let main = joined => Dense<1, Sigmoid>;
        let side = joined => Dense<2>;
        (main, side)
    }
}

#[test]
fn a_chain_is_a_column_of_boxes_with_keras_shapes() {
    let dot = Mnist::new(1).to_dot();
    assert!(dot.starts_with("digraph mnist {"), "{dot}");
    for want in [
        "n0 [label=\"{input_layer (InputLayer)|input: (None, 28, 28)|output: (None, 28, 28)}\"];",
        "n1 [label=\"{flatten (Flatten)|input: (None, 28, 28)|output: (None, 784)}\"];",
        "n2 [label=\"{dense (Dense)|input: (None, 784)|output: (None, 300)}\"];",
        "n3 [label=\"{dense_1 (Dense)|input: (None, 300)|output: (None, 10)}\"];",
        "n0 -> n1;",
        "n2 -> n3;",
    ] {
        assert!(dot.contains(want), "{want} missing from\n{dot}");
    }
    assert_eq!(dot.matches("->").count(), 3);
}

#[test]
fn a_graph_draws_a_shared_layer_once_with_both_inputs() {
    let dot = Siamese::new(1).to_dot();
    for want in [
        "{input_layer (InputLayer)|input: (None, 6)|output: (None, 6)}",
        "{dense (Dense)|input: [(None, 6), (None, 6)]|output: (None, 4)}",
        "{concatenate (Concatenate)|input: [(None, 4), (None, 4)]|output: (None, 8)}",
        "{dense_2 (Dense)|input: (None, 8)|output: (None, 2)}",
    ] {
        assert!(dot.contains(want), "{want} missing from\n{dot}");
    }
    assert_eq!(dot.matches("(Dense)|input: [").count(), 1, "{dot}");
    // Inputs 0 and 1 into the shared layer 2, which feeds the merge twice, which feeds both heads.
    for edge in [
        "n0 -> n2;",
        "n1 -> n2;",
        "n2 -> n3;",
        "n3 -> n4;",
        "n3 -> n5;",
    ] {
        assert!(dot.contains(edge), "{edge} missing from\n{dot}");
    }

    let path = std::env::temp_dir().join(format!("typed-nn-diagram-{}.svg", std::process::id()));
    plot_model(&Siamese::new(1), &path).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.contains("<svg"));
    for name in [
        "input_layer_1 (InputLayer)",
        "dense (Dense)",
        "concatenate (Concatenate)",
        "output: (None, 2)",
    ] {
        assert!(svg.contains(name), "{name} missing from the SVG");
    }
    std::fs::remove_file(path).unwrap();
}
