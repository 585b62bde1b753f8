//! The contract's examples compile as written there and run.

mod chains;
mod convolutions;
mod graphs;

#[test]
fn the_chain_examples_compile_and_run() {
    chains::run().unwrap();
}

#[test]
fn the_convolution_examples_compile_and_run() {
    convolutions::run();
}

#[test]
fn the_graph_examples_compile_and_run() {
    graphs::run().unwrap();
}
