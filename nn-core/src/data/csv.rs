//! Numeric CSV tables: a header or not, a label column, feature columns, clear errors.

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use crate::{Error, Float};

/// Which column holds the label.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum LabelColumn {
    /// The last column (scikit-learn's data files).
    #[default]
    Last,
    /// The first column.
    First,
    /// A column by its header name.
    Named(String),
    /// A column by its 0-based index.
    Index(usize),
    /// No label: every kept column is a feature.
    None,
}

/// How to read a CSV file.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvOptions {
    /// Lines to skip before anything else (scikit-learn's files start with a summary line).
    pub skip_lines: usize,
    /// Whether the first line read is a header of column names.
    pub header: bool,
    /// Where the label is.
    pub label: LabelColumn,
    /// Columns to ignore, by header name (e.g. a passenger's name).
    pub drop: Vec<String>,
    /// The field separator.
    pub separator: char,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            skip_lines: 0,
            header: true,
            label: LabelColumn::Last,
            drop: Vec::new(),
            separator: ',',
        }
    }
}

impl CsvOptions {
    /// A header line, label in the last column.
    pub fn new() -> Self {
        Self::default()
    }
    /// scikit-learn's bundled files: one summary line, no header, label last.
    pub fn sklearn() -> Self {
        Self {
            skip_lines: 1,
            header: false,
            ..Self::default()
        }
    }
    /// Skips `n` lines first.
    pub fn skip_lines(mut self, n: usize) -> Self {
        self.skip_lines = n;
        self
    }
    /// Whether a header line names the columns.
    pub fn header(mut self, header: bool) -> Self {
        self.header = header;
        self
    }
    /// Where the label is.
    pub fn label(mut self, label: LabelColumn) -> Self {
        self.label = label;
        self
    }
    /// Ignores a column by name.
    pub fn drop(mut self, column: &str) -> Self {
        self.drop.push(column.to_string());
        self
    }
}

/// A numeric table: features per row, and the label of each row.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Names of the feature columns (`column_<i>` without a header).
    pub feature_names: Vec<String>,
    /// One row of features per sample.
    pub features: Vec<Vec<f64>>,
    /// One label per sample (empty with `LabelColumn::None`).
    pub labels: Vec<f64>,
}

impl Table {
    /// The features as fixed-width rows; an error if the table does not have `N` features.
    pub fn features_as<T: Float, const N: usize>(&self) -> Result<Vec<[T; N]>, Error> {
        if self.feature_names.len() != N {
            return Err(Error::InvalidConfig(format!(
                "the table has {} feature columns, not {N}",
                self.feature_names.len()
            )));
        }
        Ok(self
            .features
            .iter()
            .map(|row| std::array::from_fn(|i| T::of(row[i])))
            .collect())
    }

    /// The labels as class indices; an error for a negative or fractional label.
    pub fn class_labels(&self) -> Result<Vec<usize>, Error> {
        self.labels
            .iter()
            .enumerate()
            .map(|(i, &l)| {
                if l >= 0.0 && l.fract() == 0.0 {
                    Ok(l as usize)
                } else {
                    Err(Error::InvalidConfig(format!(
                        "label {l} of row {i} is not a class index"
                    )))
                }
            })
            .collect()
    }

    /// The labels as one-value targets (`[label]`) for regression or binary outputs.
    pub fn label_targets<T: Float>(&self) -> Vec<[T; 1]> {
        self.labels.iter().map(|&l| [T::of(l)]).collect()
    }
}

/// Splits one line into fields, honouring double quotes (`"Braund, Mr. Owen"`).
pub(crate) fn fields(line: &str, separator: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == separator && !quoted => out.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    out.push(field);
    out
}

/// Reads a numeric CSV file (gzip recognised by its magic number).
///
/// Every cell kept must parse as a number; a bad cell, a short row or a missing label column is
/// an error naming the file, the line and the column.
pub fn read_csv(path: impl AsRef<Path>, options: &CsvOptions) -> Result<Table, Error> {
    let path = path.as_ref();
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_csv(&raw, options, path)
}

/// [`read_csv`] on bytes already in memory; `origin` names them in errors.
pub fn parse_csv(raw: &[u8], options: &CsvOptions, origin: &Path) -> Result<Table, Error> {
    let path = origin;
    let text = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        GzDecoder::new(raw)
            .read_to_string(&mut s)
            .map_err(|e| Error::format(path, format!("corrupt or truncated gzip stream: {e}")))?;
        s
    } else {
        String::from_utf8(raw.to_vec()).map_err(|_| Error::format(path, "not UTF-8 text"))?
    };
    let mut lines = text
        .lines()
        .enumerate()
        .skip(options.skip_lines)
        .filter(|(_, l)| !l.trim().is_empty());
    let names: Option<Vec<String>> = if options.header {
        let (_, line) = lines
            .next()
            .ok_or_else(|| Error::format(path, "no header line"))?;
        Some(
            fields(line, options.separator)
                .into_iter()
                .map(|f| f.trim().to_string())
                .collect(),
        )
    } else {
        None
    };
    let mut rows: Vec<(usize, Vec<String>)> = lines
        .map(|(n, l)| (n + 1, fields(l, options.separator)))
        .collect();
    let width = names
        .as_ref()
        .map_or_else(|| rows.first().map_or(0, |r| r.1.len()), |n| n.len());
    let names = names.unwrap_or_else(|| (0..width).map(|i| format!("column_{i}")).collect());
    let label = match &options.label {
        LabelColumn::Last => width.checked_sub(1),
        LabelColumn::First => (width > 0).then_some(0),
        LabelColumn::Index(i) => Some(*i).filter(|&i| i < width),
        LabelColumn::Named(name) => names.iter().position(|n| n == name),
        LabelColumn::None => None,
    };
    if label.is_none() && options.label != LabelColumn::None {
        return Err(Error::format(
            path,
            format!("label column {:?} not found among {names:?}", options.label),
        ));
    }
    for dropped in &options.drop {
        if !names.contains(dropped) {
            return Err(Error::format(
                path,
                format!("column `{dropped}` to drop is not among {names:?}"),
            ));
        }
    }
    let kept: Vec<usize> = (0..width)
        .filter(|&i| Some(i) != label && !options.drop.contains(&names[i]))
        .collect();
    let mut table = Table {
        feature_names: kept.iter().map(|&i| names[i].clone()).collect(),
        features: Vec::new(),
        labels: Vec::new(),
    };
    for (line, cells) in rows.iter_mut() {
        if cells.len() != width {
            return Err(Error::format(
                path,
                format!("line {line}: {} fields, expected {width}", cells.len()),
            ));
        }
        let number = |i: usize| -> Result<f64, Error> {
            let cell = cells[i].trim();
            cell.parse::<f64>().map_err(|_| {
                Error::format(
                    path,
                    format!(
                        "line {line}, column `{}`: `{cell}` is not a number",
                        names[i]
                    ),
                )
            })
        };
        let features = kept
            .iter()
            .map(|&i| number(i))
            .collect::<Result<Vec<f64>, Error>>()?;
        if let Some(l) = label {
            table.labels.push(number(l)?);
        }
        table.features.push(features);
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("typed-nn-csv-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn reads_headers_quotes_labels_and_dropped_columns() {
        let p = write(
            "ok.csv",
            "Name,Survival,Fare\n\"Braund, Mr. Owen\",0,7.25\n\"Cumings, Mrs.\",1,71.28\n",
        );
        let t = read_csv(
            &p,
            &CsvOptions::new()
                .label(LabelColumn::Named("Survival".into()))
                .drop("Name"),
        )
        .unwrap();
        assert_eq!(t.feature_names, ["Fare"]);
        assert_eq!(t.features, vec![vec![7.25], vec![71.28]]);
        assert_eq!(t.class_labels().unwrap(), [0, 1]);
        let arrays: Vec<[f32; 1]> = t.features_as().unwrap();
        assert_eq!(arrays[1], [71.28]);
        assert!(t.features_as::<f32, 2>().is_err());
        let s = write("sk.csv", "2,2,a,b\n1.5,2,0\n3,4.5,1\n");
        let t = read_csv(&s, &CsvOptions::sklearn()).unwrap();
        assert_eq!((t.features.len(), t.labels.clone()), (2, vec![0.0, 1.0]));
        std::fs::remove_file(p).unwrap();
        std::fs::remove_file(s).unwrap();
    }

    #[test]
    fn bad_cells_and_short_rows_name_line_and_column() {
        let p = write("bad.csv", "a,b,y\n1,2,0\n3,x,1\n");
        let err = read_csv(&p, &CsvOptions::new()).unwrap_err().to_string();
        assert!(
            err.contains("line 3, column `b`: `x` is not a number"),
            "{err}"
        );
        let q = write("short.csv", "a,b,y\n1,2\n");
        let err = read_csv(&q, &CsvOptions::new()).unwrap_err().to_string();
        assert!(err.contains("line 2: 2 fields, expected 3"), "{err}");
        let err = read_csv(&q, &CsvOptions::new().label(LabelColumn::Named("z".into())))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not found"), "{err}");
        std::fs::remove_file(p).unwrap();
        std::fs::remove_file(q).unwrap();
    }
}
