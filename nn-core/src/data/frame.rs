//! A table of named columns holding numbers or strings, with missing values: what pandas's
//! `read_csv` gives a course's notebook before encoding (see `encode.rs`).

use std::path::Path;

use crate::Error;

/// Cells pandas reads as missing (`na_values` defaults).
const MISSING: [&str; 8] = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"];

/// Whether cell text `field` is the marker `marker`: equal as text, or as numbers (`-999`
/// marks `-999.0` too).
fn same(marker: &str, field: &str) -> bool {
    marker == field
        || matches!((marker.parse::<f64>(), field.parse::<f64>()), (Ok(a), Ok(b)) if a == b)
}

/// One column: numbers where every present cell parses as one, strings otherwise.
#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    /// A numeric column; `None` where the cell is missing.
    Numbers(Vec<Option<f64>>),
    /// A string column; `None` where the cell is missing.
    Strings(Vec<Option<String>>),
}

impl Column {
    /// The number of cells.
    pub fn len(&self) -> usize {
        match self {
            Column::Numbers(v) => v.len(),
            Column::Strings(v) => v.len(),
        }
    }
    /// Whether the column has no cells.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether cell `row` is missing.
    pub fn is_missing(&self, row: usize) -> bool {
        match self {
            Column::Numbers(v) => v[row].is_none(),
            Column::Strings(v) => v[row].is_none(),
        }
    }
    /// The cells `rows`, in that order.
    fn take(&self, rows: &[usize]) -> Column {
        match self {
            Column::Numbers(v) => Column::Numbers(rows.iter().map(|&r| v[r]).collect()),
            Column::Strings(v) => Column::Strings(rows.iter().map(|&r| v[r].clone()).collect()),
        }
    }
}

/// A table of named columns (pandas's `DataFrame`, for what a course uses of it).
#[derive(Clone, Debug, PartialEq)]
pub struct DataFrame {
    names: Vec<String>,
    columns: Vec<Column>,
}

impl DataFrame {
    /// Reads a CSV file with a header line; empty cells and `NA`, `NaN`, `null`, ... (pandas's
    /// defaults) are missing, and `extra_missing` adds markers of the file's own (`"-999"`,
    /// which as a number also marks `-999.0`).
    pub fn read_csv(path: impl AsRef<Path>, extra_missing: &[&str]) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse_csv(&text, extra_missing, path)
    }

    /// [`DataFrame::read_csv`] on text already in memory; `origin` names it in errors.
    pub fn parse_csv(text: &str, extra_missing: &[&str], origin: &Path) -> Result<Self, Error> {
        let path = origin;
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let (_, header) = lines
            .next()
            .ok_or_else(|| Error::format(path, "no header line"))?;
        let names: Vec<String> = super::csv::fields(header, ',')
            .into_iter()
            .map(|f| f.trim().to_string())
            .collect();
        let mut cells: Vec<Vec<Option<String>>> = vec![Vec::new(); names.len()];
        for (n, line) in lines {
            let fields = super::csv::fields(line, ',');
            if fields.len() != names.len() {
                return Err(Error::format(
                    path,
                    format!(
                        "line {}: {} fields, the header has {}",
                        n + 1,
                        fields.len(),
                        names.len()
                    ),
                ));
            }
            for (column, field) in cells.iter_mut().zip(fields) {
                let field = field.trim();
                let missing =
                    MISSING.contains(&field) || extra_missing.iter().any(|m| same(m, field));
                column.push((!missing).then(|| field.to_string()));
            }
        }
        let columns = cells
            .into_iter()
            .map(|cells| {
                let numbers: Option<Vec<Option<f64>>> = cells
                    .iter()
                    .map(|c| match c {
                        None => Some(None),
                        Some(s) => s.parse::<f64>().ok().filter(|v| v.is_finite()).map(Some),
                    })
                    .collect();
                match numbers {
                    Some(numbers) => Column::Numbers(numbers),
                    None => Column::Strings(cells),
                }
            })
            .collect();
        Ok(DataFrame { names, columns })
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }
    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The column names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
    /// The column `name`; an error naming the columns there are if there is none.
    pub fn column(&self, name: &str) -> Result<&Column, Error> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| &self.columns[i])
            .ok_or_else(|| {
                Error::InvalidConfig(format!(
                    "no column `{name}`; the columns are {}",
                    self.names.join(", ")
                ))
            })
    }
    /// Missing cells per column, as pandas's `df.isna().sum()`.
    pub fn missing_counts(&self) -> Vec<(&str, usize)> {
        self.names
            .iter()
            .zip(&self.columns)
            .map(|(n, c)| {
                (
                    n.as_str(),
                    (0..c.len()).filter(|&r| c.is_missing(r)).count(),
                )
            })
            .collect()
    }
    /// The rows `rows`, in that order (a split's part).
    pub fn rows(&self, rows: &[usize]) -> Self {
        DataFrame {
            names: self.names.clone(),
            columns: self.columns.iter().map(|c| c.take(rows)).collect(),
        }
    }
    /// A frame of one column.
    pub(crate) fn single(name: &str, column: Column) -> Self {
        DataFrame {
            names: vec![name.into()],
            columns: vec![column],
        }
    }
    /// The rows where `column` is present (pandas's `dropna(subset=[column])`).
    pub fn dropna(&self, column: &str) -> Result<Self, Error> {
        let c = self.column(column)?;
        let keep: Vec<usize> = (0..self.len()).filter(|&r| !c.is_missing(r)).collect();
        Ok(self.rows(&keep))
    }
}
