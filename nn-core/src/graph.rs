//! The shape of a model as the runner walks it: nodes in topological order, each an input, a
//! layer applied to one node, or a merge of several; which nodes are the model's inputs and
//! outputs. A chain is the graph whose every node reads the one before it.
//!
//! `model!` writes a model's graph down as a constant; the layers themselves live in the
//! model's fields, and a node names its layer by its index in `Model::with_layers`'s
//! list, so a layer applied at several nodes (shared weights) is one entry there.

use crate::layers::Merge;

/// What a node computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// One of the model's inputs (its place in [`Graph::inputs`] says which).
    Input,
    /// Layer `i` of the model's layer list, applied to the node's one input.
    Layer(usize),
    /// A merge of the node's inputs.
    Merge(Merge),
}

/// One node of a model graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Node {
    /// What it computes.
    pub op: Op,
    /// The nodes it reads, in order (all earlier in the list).
    pub inputs: &'static [usize],
    /// Elements per sample of its output.
    pub size: usize,
    /// The buffer single-sample and batched inference keep its output in: nodes whose
    /// outputs are alive at the same time have different slots.
    pub slot: usize,
}

/// A model graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Graph {
    /// Every node, each after the nodes it reads.
    pub nodes: &'static [Node],
    /// The node of each model input, in the order of the input tuple.
    pub inputs: &'static [usize],
    /// The node of each model output, in the order of the output tuple.
    pub outputs: &'static [usize],
    /// The name of each output (its binding in `model!`), for per-output logs.
    pub output_names: &'static [&'static str],
    /// How many inference buffers ([`Node::slot`]) the graph needs.
    pub slots: usize,
}

impl Graph {
    /// The most elements per sample any node outputs (the size of an inference slot).
    pub fn widest(&self) -> usize {
        self.nodes.iter().map(|n| n.size).max().unwrap_or(0)
    }

    /// How many nodes read node `k` (a node reading it twice counts twice).
    pub fn consumers(&self, k: usize) -> usize {
        self.nodes
            .iter()
            .map(|n| n.inputs.iter().filter(|&&i| i == k).count())
            .sum()
    }

    /// The first node that applies layer `l`.
    pub fn node_of_layer(&self, l: usize) -> Option<usize> {
        self.nodes.iter().position(|n| n.op == Op::Layer(l))
    }
}
