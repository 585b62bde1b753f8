use super::*;
use crate::parse::Models;

fn run(src: &str) -> Result<Graph, Vec<String>> {
    let models: Models = syn::parse_str(src).expect("parses");
    let mut errors = Errors::default();
    match check(&models.models[0].body, &mut errors) {
        Some(g) if errors.0.is_empty() => Ok(g),
        _ => Err(errors.0.iter().map(|e| e.to_string()).collect()),
    }
}

fn fails(src: &str, want: &str) {
    let errors = run(src)
        .err()
        .unwrap_or_else(|| panic!("{src} should not check"));
    assert!(
        errors.iter().any(|e| e.contains(want)),
        "{errors:?} should mention {want:?}"
    );
}

fn names(g: &Graph) -> Vec<&str> {
    g.layers.iter().map(|l| l.name.as_str()).collect()
}

#[test]
fn the_mnist_chain_infers_keras_shapes_names_and_params() {
    let g = run("struct M { Input<28, 28> => Flatten => Dense<300, Relu> => Dropout<0.5> => Dense<10, Softmax> }")
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(names(&g), ["flatten", "dense", "dropout", "dense_1"]);
    assert_eq!(g.output_shapes(), [&vec![10]]);
    assert_eq!(g.known_params(), 238_510);
    assert!(g.is_chain());
}

#[test]
fn conv_and_pool_shapes_follow_tensorflow() {
    let g = run("struct L { Input<28, 28, 1> => Conv2D<6, 5, Relu, padding = Same> => MaxPool2D<2> \
                 => Conv2D<16, 5, Relu> => MaxPool2D<2> => Flatten => Dense<120, Relu> => Dense<84, Relu> \
                 => Dense<10, Softmax> }")
        .unwrap_or_else(|e| panic!("{e:?}"));
    let shapes: Vec<&[usize]> = g.layers.iter().map(|l| l.output_shape()).collect();
    assert_eq!(
        shapes[..5],
        [
            &[28, 28, 6][..],
            &[14, 14, 6],
            &[10, 10, 16],
            &[5, 5, 16],
            &[400]
        ]
    );
    assert_eq!(g.known_params(), 61_706);
    let g = run("struct S { Input<7, 8, 3> => Conv2D<4, (3, 2), stride = (2, 3), padding = Same> => BatchNorm }")
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(g.output_shapes(), [&vec![4, 3, 4]]);
    assert_eq!(g.layers[1].params(), Some((16, 8)));
}

#[test]
fn every_impossible_chain_is_a_named_error() {
    fails("struct A { Dense<10> }", "must start with `Input");
    fails(
        "struct A { Dense<10> => Dense<2> }",
        "must start with `Input",
    );
    fails("struct A { Input<4> => Input<4> => Dense<2> }", "only once");
    fails("struct A { Input<4> => Dense<0> }", "at least one unit");
    fails("struct A { Input<4> => Dropout<1.5> }", "[0, 1), got 1.5");
    fails("struct A { Input<4> => Dropout<1> }", "[0, 1), got 1");
    fails("struct A { Input<4> => Dens<2> }", "did you mean `Dense`");
    fails(
        "struct A { Input<4> => Dense<2, Rellu> }",
        "did you mean `Relu`",
    );
    fails(
        "struct A { Input<4, 4> => Dense<2> }",
        "needs a 1-D input, but receives shape (4, 4)",
    );
    fails(
        "struct A { Input<784> => Conv2D<6, 5> }",
        "needs an (H, W, C) input, but receives shape (784,)",
    );
    fails(
        "struct A { Input<4, 4, 1> => Conv2D<16, 5> }",
        "kernel 5x5 does not fit the 4x4 input",
    );
    fails(
        "struct A { Input<4, 4, 1> => MaxPool2D<5> }",
        "window 5x5 does not fit the 4x4 input",
    );
    fails("struct A { Input<4, 4, 1> => Conv2D<0, 3> }", "at least 1");
    fails(
        "struct A { Input<4, 4, 1> => Conv2D<2, 3, stride = 0> }",
        "at least 1",
    );
    fails(
        "struct A { Input<4> => Dense<2, init = HeNormall> }",
        "did you mean `HeNormal`",
    );
    fails(
        "struct A { Input<4> => Dense<2, strides = 2> }",
        "unknown option `strides`",
    );
    fails("struct A { Input<4> }", "at least one layer");
    fails(
        "struct A { Input<1, 2, 3, 4> => Flatten }",
        "1 to 3 dimensions",
    );
    fails("struct A { Input<4> => LeakyRelu<-0.1> }", "non-negative");
}

#[test]
fn every_bad_layer_is_reported_not_just_the_first() {
    let errors = run("struct A { Input<4> => Dense<0> => Dropout<2.0> => Dens<3> }")
        .err()
        .unwrap();
    assert!(errors.len() >= 3, "{errors:?}");
}

#[test]
fn the_contract_graphs_infer_shapes_names_and_order() {
    let g = run("struct Wide {
            let a = Input<10>;
            let b = Input<28>;
            let h = b => Dense<16, Relu> => Dense<8, Relu>;
            let c = Concatenate(a, h);
            let main = c => Dense<1, Sigmoid>;
            let side = h => Dense<1>;
            (main, side)
        }")
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(names(&g), ["dense", "dense_1", "dense_2", "dense_3"]);
    assert_eq!(g.inputs, [0, 1]);
    let outputs: Vec<&str> = g.outputs.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(outputs, ["main", "side"]);
    let concat = g.nodes.iter().find(|n| n.name == "concatenate").unwrap();
    assert_eq!(concat.output_shape, [18]);
    assert!(!g.is_chain());

    let g = run("struct Residual {
            let x = Input<8>;
            let y = x => Dense<8, Relu> => Dense<8>;
            Add(x, y) => Relu => Dense<3, Softmax>
        }")
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(names(&g), ["dense", "dense_1", "re_lu", "dense_2"]);

    let g = run("struct Siamese {
            let a = Input<6>;
            let b = Input<6>;
            let encode = Dense<4, Tanh>;
            Concatenate(a => encode, b => encode) => Dense<1, Sigmoid>
        }")
    .unwrap_or_else(|e| panic!("{e:?}"));
    // One layer, applied twice: its weights once, first in the order.
    assert_eq!(names(&g), ["dense", "dense_1"]);
    assert_eq!(g.known_params(), (6 * 4 + 4) + (8 + 1));
    let applications: Vec<usize> = g
        .nodes
        .iter()
        .filter(|n| matches!(n.kind, Kind::Layer(0)))
        .map(|n| n.call_index)
        .collect();
    assert_eq!(applications, [0, 1]);
}

#[test]
fn shadowing_keras_calls_and_concatenate_axes() {
    let g = run("struct S {
            let x = Input<3, 4>;
            let y = Input<2, 4>;
            let x = Concatenate<axis = 1>(x, y);
            let x = x => Flatten;
            let d = Dense<2>;
            d(x)
        }")
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(g.output_shapes(), [&vec![2]]);
    assert_eq!(g.nodes[2].output_shape, [5, 4]);
}

#[test]
fn every_bad_graph_is_a_named_error() {
    fails(
        "struct A { let a = Input<4>; let b = Input<3>; Add(a, b) => Dense<2> }",
        "needs inputs of one shape, but receives (4,), (3,)",
    );
    fails(
        "struct A { let a = Input<3, 4>; let b = Input<2, 4>; Concatenate(a, b) => Flatten => Dense<2> }",
        "on axis -1 needs the inputs to agree on every other axis",
    );
    fails(
        "struct A { let a = Input<4>; let b = Input<4>; Concatenate<axis = 2>(a, b) => Dense<2> }",
        "axis 2 is not an axis",
    );
    fails(
        "struct A { let a = Input<4>; b => Dense<2> }",
        "unknown name `b`",
    );
    fails(
        "struct A { let a = Input<4>; let b = Input<4>; a => Dense<2> }",
        "`b` is not used by any output",
    );
    fails(
        "struct A { let a = Input<4>; let h = a => Dense<3>; a => Dense<2> }",
        "`h` is not used by any output",
    );
    fails(
        "struct A { let a = Input<4>; let e = Dense<3>; a => Dense<2> }",
        "the layer `e` is not applied",
    );
    fails(
        "struct A { let a = Input<4>; let e = Dense<3>; (a => Dense<2>, e) }",
        "is a layer, not a tensor",
    );
    fails(
        "struct A { let a = Input<4>; let b = Input<6>; let e = Dense<3>; Add(a => e, b => e) }",
        "first to shape (4,), here to (6,)",
    );
    fails(
        "struct A { let a = Input<4>; Subtract(a, a, a) => Dense<2> }",
        "exactly two",
    );
    fails(
        "struct A { let a = Input<4>; let x = a => Dense<2>; x => Input<2> }",
        "`Input` starts a chain",
    );
    fails(
        "struct A { let a = Input<4>; (a => Dense<2>, a => Dense<2>) => Dense<1> }",
        "not a tuple",
    );
}
