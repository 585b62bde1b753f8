//! `History`: what `fit` returns, one value per epoch for every logged key.

use std::collections::BTreeMap;
use std::path::Path;

use crate::io::write_atomic;
use crate::Error;

/// Per-epoch values of the loss, the metrics and their `val_` twins (Keras's
/// `history.history`), plus the wall-clock seconds of each epoch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Values by key, one per completed epoch.
    pub history: BTreeMap<String, Vec<f64>>,
    /// Seconds each epoch took (training and validation).
    pub epoch_seconds: Vec<f64>,
}

impl History {
    /// The values logged under `key` (`"loss"`, `"val_accuracy"`, ...).
    pub fn get(&self, key: &str) -> Option<&[f64]> {
        self.history.get(key).map(|v| v.as_slice())
    }
    /// The training loss of each epoch.
    pub fn loss(&self) -> &[f64] {
        self.get("loss").unwrap_or(&[])
    }
    /// The validation loss of each epoch (empty without validation).
    pub fn val_loss(&self) -> &[f64] {
        self.get("val_loss").unwrap_or(&[])
    }
    /// The last value logged under `key`.
    pub fn last(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(|v| v.last().copied())
    }
    /// The number of completed epochs.
    pub fn epochs(&self) -> usize {
        self.epoch_seconds.len()
    }
    /// The logged keys.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.history.keys().map(|k| k.as_str())
    }
    /// The history as CSV: an `epoch` column (from 0), then one column per key, sorted.
    pub fn to_csv(&self) -> String {
        let keys: Vec<&str> = self.keys().collect();
        let mut out = format!("epoch,{}\n", keys.join(","));
        for epoch in 0..self.epochs() {
            let row: Vec<String> = keys
                .iter()
                .map(|k| {
                    self.history[*k]
                        .get(epoch)
                        .map_or_else(|| "NA".to_string(), |v| v.to_string())
                })
                .collect();
            out.push_str(&format!("{epoch},{}\n", row.join(",")));
        }
        out
    }

    /// The history as JSON: `{"loss": [...], ..., "epoch_seconds": [...]}` (non-finite values
    /// as `null`).
    pub fn to_json(&self) -> String {
        let list = |v: &[f64]| {
            let items: Vec<String> = v
                .iter()
                .map(|x| {
                    if x.is_finite() {
                        x.to_string()
                    } else {
                        "null".to_string()
                    }
                })
                .collect();
            format!("[{}]", items.join(", "))
        };
        let mut fields: Vec<String> = self
            .history
            .iter()
            .map(|(k, v)| format!("  \"{k}\": {}", list(v)))
            .collect();
        fields.push(format!(
            "  \"epoch_seconds\": {}",
            list(&self.epoch_seconds)
        ));
        format!("{{\n{}\n}}\n", fields.join(",\n"))
    }

    /// Writes [`History::compare_svg`] to `path` (atomically).
    pub fn save_comparison_svg(
        runs: &[(&str, &History)],
        key: &str,
        path: impl AsRef<Path>,
    ) -> Result<(), Error> {
        write_atomic(path.as_ref(), Self::compare_svg(runs, key).as_bytes())
    }

    /// Writes [`History::to_csv`] to `path` (atomically).
    pub fn save_csv(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        write_atomic(path.as_ref(), self.to_csv().as_bytes())
    }

    /// Writes [`History::to_json`] to `path` (atomically).
    pub fn save_json(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        write_atomic(path.as_ref(), self.to_json().as_bytes())
    }

    /// Writes [`History::to_svg`] to `path` (atomically); open it in any browser.
    pub fn save_svg(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        write_atomic(path.as_ref(), self.to_svg().as_bytes())
    }

    pub(crate) fn record(&mut self, logs: &super::Logs, seconds: f64) {
        for (key, value) in logs {
            self.history.entry(key.clone()).or_default().push(*value);
        }
        self.epoch_seconds.push(seconds);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> History {
        let mut h = History::default();
        for (loss, val) in [(1.0, 1.2), (0.5, 0.9), (0.25, f64::NAN)] {
            let logs = super::super::Logs::from([
                ("loss".to_string(), loss),
                ("val_loss".to_string(), val),
            ]);
            h.record(&logs, 0.5);
        }
        h
    }

    #[test]
    fn csv_json_and_svg_carry_every_epoch() {
        let h = sample();
        assert_eq!(
            h.to_csv(),
            "epoch,loss,val_loss\n0,1,1.2\n1,0.5,0.9\n2,0.25,NaN\n"
        );
        let json = h.to_json();
        assert!(
            json.contains("\"loss\": [1, 0.5, 0.25]")
                && json.contains("\"val_loss\": [1.2, 0.9, null]"),
            "{json}"
        );
        let svg = h.to_svg();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("<title>val_loss</title>"));
        let both = History::compare_svg(&[("small", &h), ("big", &h)], "val_loss");
        assert_eq!(both.matches("<polyline").count(), 2);
        assert!(both.contains("<title>big</title>") && both.contains("— small"));
    }
}
