//! Progress output of `fit`: a bar with loss and ETA on a terminal, one line per epoch otherwise.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::Logs;

/// How much `fit` prints (Keras's `verbose`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbosity {
    /// Nothing (`verbose=0`).
    Silent,
    /// A progress bar when stdout is a terminal, else one line per epoch (`verbose="auto"`).
    #[default]
    Auto,
    /// One line per epoch (`verbose=2`).
    EpochLines,
}

impl From<u8> for Verbosity {
    fn from(v: u8) -> Self {
        match v {
            0 => Verbosity::Silent,
            1 => Verbosity::Auto,
            _ => Verbosity::EpochLines,
        }
    }
}

pub(crate) struct Progress {
    verbosity: Verbosity,
    bar: Option<ProgressBar>,
}

/// `loss: 0.1234 - accuracy: 0.9800`, with `loss` first and the `val_` keys last.
pub(crate) fn format_logs(logs: &Logs) -> String {
    let mut keys: Vec<&String> = logs.keys().collect();
    keys.sort_by_key(|k| {
        (
            k.starts_with("val_"),
            !k.ends_with("loss"),
            k.as_str().to_owned(),
        )
    });
    keys.iter()
        .map(|k| format!("{k}: {:.4}", logs[*k]))
        .collect::<Vec<_>>()
        .join(" - ")
}

impl Progress {
    pub(crate) fn new(verbosity: Verbosity) -> Self {
        Self {
            verbosity,
            bar: None,
        }
    }

    pub(crate) fn begin_epoch(&mut self, epoch: usize, epochs: usize, batches: usize) {
        let terminal = self.verbosity == Verbosity::Auto && std::io::stdout().is_terminal();
        if !terminal {
            return;
        }
        let bar = ProgressBar::new(batches as u64);
        let style = ProgressStyle::with_template(
            "Epoch {prefix} {bar:30.cyan/blue} {pos}/{len} {elapsed} ETA {eta} - {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("━╸ ");
        bar.set_style(style);
        bar.set_prefix(format!("{}/{}", epoch + 1, epochs));
        bar.enable_steady_tick(Duration::from_millis(250));
        self.bar = Some(bar);
    }

    pub(crate) fn batch_done(&mut self, running: &Logs) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(format_logs(running));
        }
    }

    pub(crate) fn end_epoch(
        &mut self,
        epoch: usize,
        epochs: usize,
        batches: usize,
        seconds: f64,
        logs: &Logs,
    ) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.verbosity != Verbosity::Silent {
            println!(
                "Epoch {}/{epochs} - {batches} steps - {seconds:.2}s - {}",
                epoch + 1,
                format_logs(logs)
            );
        }
    }
}
