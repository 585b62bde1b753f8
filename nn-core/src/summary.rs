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

/// Renders the table for model `name` whose elements take `element_bytes` each.
pub fn render(name: &str, layers: &[(LayerInfo, ParamCount)], element_bytes: usize) -> String {
    let rows: Vec<[String; 3]> = layers
        .iter()
        .map(|(info, count)| {
            let dims: Vec<String> = info.output_shape.iter().map(|d| d.to_string()).collect();
            [
                format!("{} ({})", info.name, info.class),
                format!("(None, {})", dims.join(", ")),
                thousands(count.total),
            ]
        })
        .collect();
    let headers = ["Layer (type)", "Output Shape", "Param #"];
    let mut widths = [31usize, 22, 13];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |l: &str, m: &str, r: &str, fill: &str| {
        let parts: Vec<String> = widths.iter().map(|w| fill.repeat(w + 2)).collect();
        format!("{l}{}{r}\n", parts.join(m))
    };
    let cells = |out: &mut String, sep: &str, row: &[String; 3]| {
        let _ = writeln!(
            out,
            "{sep} {:<w0$} {sep} {:<w1$} {sep} {:>w2$} {sep}",
            row[0],
            row[1],
            row[2],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    };
    let mut out = format!("Model: \"{name}\"\n");
    out += &line("┏", "┳", "┓", "━");
    cells(&mut out, "┃", &headers.map(String::from));
    out += &line("┡", "╇", "┩", "━");
    for row in &rows {
        cells(&mut out, "│", row);
    }
    out += &line("└", "┴", "┘", "─");
    let total: usize = layers.iter().map(|(_, c)| c.total).sum();
    let trainable: usize = layers.iter().map(|(_, c)| c.trainable).sum();
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
    fn numbers_are_grouped_and_sized_like_keras() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(238_510), "238,510");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(memory(238_510 * 4), "931.68 KB");
        assert_eq!(memory(0), "0.00 B");
    }
}
