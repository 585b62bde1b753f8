//! `summary()`: Keras's table of layers, output shapes and parameter counts.

#[allow(unused_imports)]
use crate::prelude::*;

use core::fmt::Write;

/// What the macro knows about one layer of a chain (the `Input` is not a layer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    /// Keras's layer name (`"dense"`, `"dense_1"`), also the struct field's name.
    pub name: &'static str,
    /// Keras's class name (`"Dense"`, `"Flatten"`, `"ReLU"`).
    pub class: &'static str,
    /// The output shape without the batch axis.
    pub output_shape: &'static [usize],
    /// Each weight array's Keras name and shape, as the macro's definition of the layer kind
    /// has them (`None` for a custom layer, whose type alone knows its weights).
    pub weights: Option<&'static [(&'static str, &'static [usize])]>,
}

impl LayerInfo {
    /// Whether `specs` (what the layer's type says of its weights) agree with the macro's
    /// definition of the layer, name for name and shape for shape.
    pub fn agrees_with(&self, specs: &[crate::WeightSpec]) -> bool {
        self.weights.is_none_or(|weights| {
            weights.len() == specs.len()
                && weights
                    .iter()
                    .zip(specs)
                    .all(|((name, shape), spec)| *name == spec.name && *shape == spec.shape)
        })
    }
}

/// One row's parameter counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParamCount {
    /// All weights.
    pub total: usize,
    /// Those the optimizer trains.
    pub trainable: usize,
}

/// `1234567` as `"1,234,567"`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A byte count the way Keras prints it (`931.68 KB`).
fn memory(bytes: usize) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1024.0 && unit < units.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.2} {}", units[unit])
}

/// One row of a graph's summary: a layer, an input or a merge, with the tensors it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SummaryRow {
    /// Keras's layer name (`"input_layer"`, `"dense"`, `"concatenate"`).
    pub name: &'static str,
    /// Keras's class name (`"InputLayer"`, `"Dense"`, `"Concatenate"`).
    pub class: &'static str,
    /// The output shape without the batch axis.
    pub output_shape: &'static [usize],
    /// The layer whose weights the row counts (its index in the model's layer list).
    pub layer: Option<usize>,
    /// Keras's "Connected to": each tensor read, as `layer[call][0]`.
    pub connected_to: &'static [&'static str],
}

/// Renders the table for chain model `name` whose elements take `element_bytes` each.
pub fn render(name: &str, layers: &[(LayerInfo, ParamCount)], element_bytes: usize) -> String {
    let rows: Vec<Vec<String>> = layers
        .iter()
        .map(|(info, count)| {
            vec![
                format!("{} ({})", info.name, info.class),
                shape(info.output_shape),
                thousands(count.total),
            ]
        })
        .collect();
    let counts: Vec<ParamCount> = layers.iter().map(|(_, c)| *c).collect();
    table(
        name,
        &["Layer (type)", "Output Shape", "Param #"],
        &rows,
        &counts,
        element_bytes,
    )
}

/// Renders the table for graph model `name`, with Keras's "Connected to" column; `counts`
/// holds each layer's weights (a shared layer is counted once, in its row).
pub fn render_graph(
    name: &str,
    rows: &[SummaryRow],
    counts: &[ParamCount],
    element_bytes: usize,
) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let params = row.layer.map_or(0, |l| counts[l].total);
            let connected = if row.connected_to.is_empty() {
                "-".to_string()
            } else {
                row.connected_to.join(",\n")
            };
            vec![
                format!("{} ({})", row.name, row.class),
                shape(row.output_shape),
                thousands(params),
                connected,
            ]
        })
        .collect();
    table(
        name,
        &["Layer (type)", "Output Shape", "Param #", "Connected to"],
        &cells,
        counts,
        element_bytes,
    )
}

/// `(None, 28, 28)`.
fn shape(dims: &[usize]) -> String {
    let dims: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
    format!("(None, {})", dims.join(", "))
}

/// Keras's box-drawn table: a line per row (a cell may hold several lines), the third column
/// right-aligned, then the totals of `counts`.
fn table(
    name: &str,
    headers: &[&str],
    rows: &[Vec<String>],
    counts: &[ParamCount],
    element_bytes: usize,
) -> String {
    let mut widths: Vec<usize> = [31usize, 22, 13, 22][..headers.len()].to_vec();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            for line in cell.lines() {
                *w = (*w).max(line.chars().count());
            }
        }
    }
    let line = |l: &str, m: &str, r: &str, fill: &str| {
        let parts: Vec<String> = widths.iter().map(|w| fill.repeat(w + 2)).collect();
        format!("{l}{}{r}\n", parts.join(m))
    };
    let cells = |out: &mut String, sep: &str, row: &[String]| {
        let height = row
            .iter()
            .map(|c| c.lines().count())
            .max()
            .unwrap_or(1)
            .max(1);
        for k in 0..height {
            out.push_str(sep);
            for (c, (cell, w)) in row.iter().zip(&widths).enumerate() {
                let text = cell.lines().nth(k).unwrap_or("");
                if c == 2 {
                    let _ = write!(out, " {text:>w$} {sep}");
                } else {
                    let _ = write!(out, " {text:<w$} {sep}");
                }
            }
            out.push('\n');
        }
    };
    let mut out = format!("Model: \"{name}\"\n");
    out += &line("┏", "┳", "┓", "━");
    let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    cells(&mut out, "┃", &headers);
    out += &line("┡", "╇", "┩", "━");
    for row in rows {
        cells(&mut out, "│", row);
    }
    out += &line("└", "┴", "┘", "─");
    let total: usize = counts.iter().map(|c| c.total).sum();
    let trainable: usize = counts.iter().map(|c| c.trainable).sum();
    let stat = |label: &str, n: usize| {
        format!(
            " {label}: {} ({})\n",
            thousands(n),
            memory(n * element_bytes)
        )
    };
    out += &stat("Total params", total);
    out += &stat("Trainable params", trainable);
    out += &stat("Non-trainable params", total - trainable);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layer_info_agrees_only_with_the_same_names_and_shapes() {
        let spec = |name, shape: &[usize]| crate::WeightSpec {
            name,
            shape: shape.to_vec(),
            trainable: true,
        };
        let info = LayerInfo {
            name: "dense",
            class: "Dense",
            output_shape: &[3],
            weights: Some(&[("kernel", &[4, 3]), ("bias", &[3])]),
        };
        assert!(info.agrees_with(&[spec("kernel", &[4, 3]), spec("bias", &[3])]));
        assert!(!info.agrees_with(&[spec("kernel", &[3, 4]), spec("bias", &[3])]));
        assert!(!info.agrees_with(&[spec("kernel", &[4, 3]), spec("beta", &[3])]));
        assert!(!info.agrees_with(&[spec("kernel", &[4, 3])]));
        let custom = LayerInfo {
            weights: None,
            ..info
        };
        assert!(custom.agrees_with(&[spec("alpha", &[3])]));
    }

    #[test]
    fn numbers_are_grouped_and_sized_like_keras() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(238_510), "238,510");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(memory(238_510 * 4), "931.68 KB");
        assert_eq!(memory(0), "0.00 B");
    }
}
