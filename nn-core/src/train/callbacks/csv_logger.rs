//! `CsvLogger`: one CSV row of logs per epoch.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

use crate::train::{Callback, Control, Logs};
use crate::Error;

/// Keras's `CSVLogger(filename, separator=",", append=False)`.
///
/// The columns are fixed at the first epoch's end: `epoch` (from 0), then the log keys in
/// sorted order; if none starts with `val_`, a `val_` twin of every key is added (Keras does so
/// for runs that validate later), filled with `NA` while missing. Rows are flushed as written.
#[derive(Debug)]
pub struct CsvLogger {
    path: PathBuf,
    separator: char,
    append: bool,
    file: Option<File>,
    keys: Option<Vec<String>>,
}

impl CsvLogger {
    /// Logs to `path`, replacing it.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            separator: ',',
            append: false,
            file: None,
            keys: None,
        }
    }
    /// The field separator (default `,`).
    pub fn separator(mut self, separator: char) -> Self {
        self.separator = separator;
        self
    }
    /// Appends to an existing file instead of replacing it (no second header).
    pub fn append(mut self, append: bool) -> Self {
        self.append = append;
        self
    }
}

impl Callback for CsvLogger {
    fn on_train_begin(&mut self, control: &mut Control<'_>) {
        let had_rows = self.append
            && std::fs::metadata(&self.path)
                .map(|m| m.len() > 0)
                .unwrap_or(false);
        let opened = OpenOptions::new()
            .create(true)
            .write(true)
            .append(self.append)
            .truncate(!self.append)
            .open(&self.path);
        match opened {
            Ok(file) => self.file = Some(file),
            Err(e) => control.fail(Error::io(&self.path, e)),
        }
        // Appending to a file with rows: its header is already there.
        self.keys = None;
        if had_rows {
            self.keys = Some(Vec::new());
        }
    }
    fn on_epoch_end(&mut self, epoch: usize, logs: &mut Logs, control: &mut Control<'_>) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        let sep = self.separator.to_string();
        let mut header = None;
        let keys = self.keys.get_or_insert_with(|| {
            let mut keys: Vec<String> = logs.keys().cloned().collect();
            if !keys.iter().any(|k| k.starts_with("val_")) {
                let twins: Vec<String> = keys.iter().map(|k| format!("val_{k}")).collect();
                keys.extend(twins);
            }
            header = Some(format!("epoch{sep}{}", keys.join(&sep)));
            keys
        });
        if keys.is_empty() {
            // Appending: take the columns from this epoch without writing a header.
            let mut fresh: Vec<String> = logs.keys().cloned().collect();
            if !fresh.iter().any(|k| k.starts_with("val_")) {
                let twins: Vec<String> = fresh.iter().map(|k| format!("val_{k}")).collect();
                fresh.extend(twins);
            }
            *keys = fresh;
        }
        let values: Vec<String> = keys
            .iter()
            .map(|k| {
                logs.get(k)
                    .map_or_else(|| "NA".to_string(), |v| v.to_string())
            })
            .collect();
        let mut text = String::new();
        if let Some(h) = header {
            text.push_str(&h);
            text.push('\n');
        }
        text.push_str(&format!("{epoch}{sep}{}\n", values.join(&sep)));
        if let Err(e) = file.write_all(text.as_bytes()).and_then(|_| file.flush()) {
            control.fail(Error::io(&self.path, e));
        }
    }
    fn on_train_end(&mut self, _control: &mut Control<'_>) {
        self.file = None;
    }
}
