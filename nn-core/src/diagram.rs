//! Model diagrams, as Keras's `plot_model(model, show_shapes=True)` draws them: a box per
//! input, layer (a shared layer once) and merge, naming it, its class and its input and output
//! shapes, with an arrow from each tensor to each layer that reads it. [`dot`] writes the
//! diagram as a Graphviz graph; [`svg`] lays it out (the `layout-rs` crate) for `plot_model`.

#[allow(unused_imports)]
use crate::prelude::*;

use crate::summary::{LayerInfo, SummaryRow};

/// What a diagram shows of a model (the `Model` trait's constants, as data, so that this
/// module does not depend on the trait whose `to_dot` calls it).
pub(crate) struct Outline<'a> {
    /// The model's name.
    pub name: &'a str,
    /// Its (first) input's shape.
    pub input_shape: &'static [usize],
    /// A graph's summary rows (empty for a chain).
    pub rows: &'static [SummaryRow],
    /// Every layer's metadata.
    pub layers: &'static [LayerInfo],
}

/// One box of a diagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiagramNode {
    /// Keras's name (`dense_1`).
    pub name: &'static str,
    /// Keras's class (`Dense`).
    pub class: &'static str,
    /// The boxes it reads, in order (a shared layer reads once per application).
    pub inputs: Vec<usize>,
    /// Its output shape without the batch axis.
    pub output_shape: &'static [usize],
}

/// The boxes of a model's diagram, each after the boxes it reads.
pub(crate) fn nodes(model: &Outline<'_>) -> Vec<DiagramNode> {
    let rows = model.rows;
    if rows.is_empty() {
        // A chain: its input, then each layer reading the one before.
        let input = DiagramNode {
            name: "input_layer",
            class: "InputLayer",
            inputs: Vec::new(),
            output_shape: model.input_shape,
        };
        return core::iter::once(input)
            .chain(
                model
                    .layers
                    .iter()
                    .enumerate()
                    .map(|(i, info)| DiagramNode {
                        name: info.name,
                        class: info.class,
                        inputs: vec![i],
                        output_shape: info.output_shape,
                    }),
            )
            .collect();
    }
    let position = |reference: &str| {
        let name = reference.split('[').next().unwrap_or(reference);
        rows.iter().position(|r| r.name == name)
    };
    rows.iter()
        .map(|row| DiagramNode {
            name: row.name,
            class: row.class,
            inputs: row
                .connected_to
                .iter()
                .filter_map(|r| position(r))
                .collect(),
            output_shape: row.output_shape,
        })
        .collect()
}

/// `(None, 28, 28)`.
fn shape(dims: &[usize]) -> String {
    let dims: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
    format!("(None, {})", dims.join(", "))
}

/// The diagram as a Graphviz graph: record-shaped boxes, top to bottom.
pub(crate) fn dot(model: &Outline<'_>) -> String {
    let nodes = nodes(model);
    let mut out = format!("digraph {} {{\n  node [shape=record];\n", model.name);
    for (i, node) in nodes.iter().enumerate() {
        let inputs: Vec<String> = node
            .inputs
            .iter()
            .map(|&k| shape(nodes[k].output_shape))
            .collect();
        let input = match inputs.as_slice() {
            [] => shape(node.output_shape),
            [one] => one.clone(),
            many => format!("[{}]", many.join(", ")),
        };
        out += &format!(
            "  n{i} [label=\"{{{} ({})|input: {input}|output: {}}}\"];\n",
            node.name,
            node.class,
            shape(node.output_shape)
        );
    }
    for (i, node) in nodes.iter().enumerate() {
        for k in &node.inputs {
            out += &format!("  n{k} -> n{i};\n");
        }
    }
    out + "}\n"
}

/// Lays out a Graphviz graph and draws it as SVG.
#[cfg(feature = "std")]
pub fn svg(dot: &str) -> Result<String, crate::Error> {
    use layout::backends::svg::SVGWriter;
    use layout::gv::{DotParser, GraphBuilder};

    let graph = DotParser::new(dot).process().map_err(|e| {
        crate::Error::InvalidConfig(format!("not a diagram the layout can read: {e}"))
    })?;
    let mut builder = GraphBuilder::new();
    builder.visit_graph(&graph);
    let mut visual = builder.get();
    let mut writer = SVGWriter::new();
    visual.do_it(false, false, false, &mut writer);
    Ok(writer.finalize())
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::svg;

    #[test]
    fn a_record_graph_lays_out_as_svg() {
        let drawn = svg("digraph m {\n node [shape=record];\n n0 [label=\"{a (InputLayer)|input: (None, 4)|output: (None, 4)}\"];\n n1 [label=\"{b (Dense)|input: (None, 4)|output: (None, 2)}\"];\n n0 -> n1;\n}\n").unwrap();
        assert!(
            drawn.starts_with("<svg") || drawn.contains("<svg"),
            "{drawn}"
        );
        assert!(drawn.contains("b (Dense)") && drawn.contains("output: (None, 2)"));
        assert!(svg("digraph { a -> }").is_err());
    }
}
