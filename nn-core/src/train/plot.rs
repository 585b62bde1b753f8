//! A training-curve chart as SVG, written by hand: a few polylines need no plotting crate.

use std::fmt::Write;

use super::History;

const PANEL_W: f64 = 420.0;
const PANEL_H: f64 = 260.0;
const MARGIN: f64 = 48.0;

impl History {
    /// A chart of every metric per epoch, training against validation, as SVG.
    pub fn to_svg(&self) -> String {
        render_svg(self)
    }

    /// A chart of `key` (`"val_loss"`) from several runs overlaid, each named, to compare
    /// models (the course's overfitting experiment).
    pub fn compare_svg(runs: &[(&str, &History)], key: &str) -> String {
        render_comparison(runs, key)
    }
}

/// One panel per base metric (`loss`, `accuracy`, ...), the training curve solid and blue, the
/// validation curve dashed and orange, epochs on the x axis (from 1).
fn render_svg(history: &History) -> String {
    let bases: Vec<&str> = history
        .keys()
        .filter(|k| !k.starts_with("val_") && *k != "learning_rate")
        .collect();
    let width = MARGIN + bases.len().max(1) as f64 * (PANEL_W + MARGIN);
    let height = PANEL_H + 2.0 * MARGIN;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    for (p, base) in bases.iter().enumerate() {
        let x0 = MARGIN + p as f64 * (PANEL_W + MARGIN);
        let y0 = MARGIN;
        let train = history.get(base).unwrap_or(&[]);
        let val_key = format!("val_{base}");
        let val = history.get(&val_key).unwrap_or(&[]);
        let (lo, hi) = range(train.iter().chain(val).copied());
        let epochs = train.len().max(val.len()).max(2);
        let sx = |i: usize| x0 + i as f64 / (epochs - 1) as f64 * PANEL_W;
        let sy = |v: f64| y0 + PANEL_H - (v - lo) / (hi - lo) * PANEL_H;
        frame(&mut svg, (x0, y0, PANEL_W, PANEL_H), base, (lo, hi), epochs);
        for (values, colour, dash, label) in [
            (train, "#1f77b4", "", *base),
            (val, "#ff7f0e", "6 4", val_key.as_str()),
        ] {
            if values.is_empty() {
                continue;
            }
            let points: Vec<String> = values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(i, &v)| format!("{:.1},{:.1}", sx(i), sy(v)))
                .collect();
            let _ = writeln!(
                svg,
                "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" stroke-dasharray=\"{dash}\" points=\"{}\"><title>{label}</title></polyline>",
                points.join(" ")
            );
        }
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" fill=\"#1f77b4\">— train</text><text x=\"{}\" y=\"{}\" fill=\"#ff7f0e\">- - validation</text>",
            x0 + 8.0,
            y0 + 16.0,
            x0 + 80.0,
            y0 + 16.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// The least and greatest finite values, a range of 1 where they are one value, `(0, 1)` where
/// there are none.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo.is_finite() {
        (lo, if hi > lo { hi } else { lo + 1.0 })
    } else {
        (0.0, 1.0)
    }
}

/// A panel's box at `(x, y, width, height)`, its title, the value range at its left and the
/// epochs (from 1) below it.
fn frame(
    svg: &mut String,
    (x0, y0, w, h): (f64, f64, f64, f64),
    title: &str,
    (lo, hi): (f64, f64),
    epochs: usize,
) {
    let _ = writeln!(
        svg,
        "<rect x=\"{x0}\" y=\"{y0}\" width=\"{w}\" height=\"{h}\" fill=\"none\" stroke=\"#888\"/>\n\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"14\">{title}</text>\n\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{hi:.4}</text>\n\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{lo:.4}</text>\n\
         <text x=\"{x0}\" y=\"{}\">1</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">epoch {epochs}</text>",
        x0 + w / 2.0,
        y0 - 12.0,
        x0 - 4.0,
        y0 + 10.0,
        x0 - 4.0,
        y0 + h,
        y0 + h + 16.0,
        x0 + w,
        y0 + h + 16.0,
    );
}

/// Colours of the runs in a comparison chart, in order.
const COLOURS: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
];

/// One panel with the curve of `key` from each named run overlaid, a legend naming them
/// (the course's chart comparing models' validation losses).
fn render_comparison(runs: &[(&str, &History)], key: &str) -> String {
    let curves: Vec<(&str, &[f64])> = runs
        .iter()
        .map(|(name, h)| (*name, h.get(key).unwrap_or(&[])))
        .collect();
    let (lo, hi) = range(curves.iter().flat_map(|c| c.1).copied());
    let epochs = curves.iter().map(|c| c.1.len()).max().unwrap_or(0).max(2);
    let (x0, y0) = (MARGIN + 16.0, MARGIN);
    let (w, h) = (PANEL_W * 1.5, PANEL_H * 1.5);
    let sx = |i: usize| x0 + i as f64 / (epochs - 1) as f64 * w;
    let sy = |v: f64| y0 + h - (v - lo) / (hi - lo) * h;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        x0 + w + 170.0,
        y0 + h + MARGIN
    );
    frame(&mut svg, (x0, y0, w, h), key, (lo, hi), epochs);
    for (i, (name, values)) in curves.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(e, &v)| format!("{:.1},{:.1}", sx(e), sy(v)))
            .collect();
        let _ = writeln!(
            svg,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"><title>{name}</title></polyline>\n\
             <text x=\"{}\" y=\"{}\" fill=\"{colour}\">— {name}</text>",
            points.join(" "),
            x0 + w + 12.0,
            y0 + 16.0 + 18.0 * i as f64,
        );
    }
    svg.push_str("</svg>\n");
    svg
}
