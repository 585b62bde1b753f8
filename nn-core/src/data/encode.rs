//! scikit-learn's encoders for a [`DataFrame`]'s columns, each fitted on the training split
//! only: `SimpleImputer` (mean, median, most frequent), `OneHotEncoder` (an unknown category
//! at transform time an error or all zeros, as chosen), `LabelEncoder` for a string target,
//! and a `ColumnTransformer` that turns chosen columns into fixed-width feature rows.

use super::frame::{Column, DataFrame};
use crate::{Error, Float};

/// How [`Imputer`] fills missing cells (scikit-learn's `SimpleImputer(strategy=...)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impute {
    /// The training column's mean (numbers only).
    Mean,
    /// The training column's median (numbers only).
    Median,
    /// The training column's most frequent value (the first in sorted order on ties).
    MostFrequent,
}

/// What [`OneHotEncoder`] does with a category it did not see when fitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unknown {
    /// An error naming the value (scikit-learn's default, `handle_unknown="error"`).
    Error,
    /// All zeros (`handle_unknown="ignore"`).
    Ignore,
}

/// A fitted fill value.
#[derive(Clone, Debug, PartialEq)]
enum Fill {
    Number(f64),
    Text(String),
}

/// A column's cells as text, numbers written as they parse (for categories given as numbers).
fn texts(column: &Column) -> Vec<Option<String>> {
    match column {
        Column::Strings(v) => v.clone(),
        Column::Numbers(v) => v.iter().map(|x| x.map(|x| x.to_string())).collect(),
    }
}

/// scikit-learn's `SimpleImputer`, for one column.
#[derive(Clone, Debug, PartialEq)]
pub struct Imputer {
    name: String,
    fill: Fill,
}

impl Imputer {
    /// Fits `strategy` on column `name` of the training `frame`.
    pub fn fit(frame: &DataFrame, name: &str, strategy: Impute) -> Result<Self, Error> {
        let column = frame.column(name)?;
        let empty =
            || Error::InvalidConfig(format!("column `{name}` has no values to impute from"));
        let fill = match (strategy, column) {
            (Impute::Mean | Impute::Median, Column::Strings(_)) => {
                return Err(Error::InvalidConfig(format!(
                    "column `{name}` holds strings: impute it with Impute::MostFrequent"
                )))
            }
            (Impute::Mean, Column::Numbers(v)) => {
                let present: Vec<f64> = v.iter().flatten().copied().collect();
                if present.is_empty() {
                    return Err(empty());
                }
                Fill::Number(present.iter().sum::<f64>() / present.len() as f64)
            }
            (Impute::Median, Column::Numbers(v)) => {
                let mut present: Vec<f64> = v.iter().flatten().copied().collect();
                if present.is_empty() {
                    return Err(empty());
                }
                present.sort_by(f64::total_cmp);
                let mid = present.len() / 2;
                Fill::Number(if present.len().is_multiple_of(2) {
                    (present[mid - 1] + present[mid]) / 2.0
                } else {
                    present[mid]
                })
            }
            (Impute::MostFrequent, column) => {
                let mut values: Vec<String> = texts(column).into_iter().flatten().collect();
                if values.is_empty() {
                    return Err(empty());
                }
                values.sort();
                let mut best = (0, &values[0]);
                let mut start = 0;
                for i in 1..=values.len() {
                    if i == values.len() || values[i] != values[start] {
                        if i - start > best.0 {
                            best = (i - start, &values[start]);
                        }
                        start = i;
                    }
                }
                match column {
                    Column::Numbers(_) => {
                        Fill::Number(best.1.parse().expect("written from a number"))
                    }
                    Column::Strings(_) => Fill::Text(best.1.clone()),
                }
            }
        };
        Ok(Imputer {
            name: name.into(),
            fill,
        })
    }

    /// Column `name` of `frame` with its missing cells filled.
    pub fn transform(&self, frame: &DataFrame) -> Result<Column, Error> {
        Ok(match (frame.column(&self.name)?, &self.fill) {
            (Column::Numbers(v), Fill::Number(x)) => {
                Column::Numbers(v.iter().map(|c| Some(c.unwrap_or(*x))).collect())
            }
            (column, fill) => {
                let fill = match fill {
                    Fill::Number(x) => x.to_string(),
                    Fill::Text(t) => t.clone(),
                };
                Column::Strings(
                    texts(column)
                        .into_iter()
                        .map(|c| Some(c.unwrap_or_else(|| fill.clone())))
                        .collect(),
                )
            }
        })
    }
}

/// scikit-learn's `OneHotEncoder`, for one column: one 0/1 feature per category seen in
/// training, in sorted order.
#[derive(Clone, Debug, PartialEq)]
pub struct OneHotEncoder {
    name: String,
    categories: Vec<String>,
    unknown: Unknown,
}

impl OneHotEncoder {
    /// Fits the categories of column `name` (its present cells) on the training `frame`.
    pub fn fit(frame: &DataFrame, name: &str, unknown: Unknown) -> Result<Self, Error> {
        let mut categories: Vec<String> =
            texts(frame.column(name)?).into_iter().flatten().collect();
        categories.sort();
        categories.dedup();
        Ok(OneHotEncoder {
            name: name.into(),
            categories,
            unknown,
        })
    }
    /// The categories, in feature order.
    pub fn categories(&self) -> &[String] {
        &self.categories
    }
    /// Each cell of `column` (already imputed, or missing) as one-hot features.
    fn encode(&self, column: &Column) -> Result<Vec<Vec<f64>>, Error> {
        texts(column)
            .into_iter()
            .enumerate()
            .map(|(row, cell)| {
                let mut features = vec![0.0; self.categories.len()];
                match cell
                    .as_ref()
                    .and_then(|c| self.categories.iter().position(|k| k == c))
                {
                    Some(i) => features[i] = 1.0,
                    None if self.unknown == Unknown::Ignore => {}
                    None => {
                        return Err(Error::InvalidConfig(format!(
                            "column `{}`, row {row}: {} is not a category seen in training ({}); \
                             use Unknown::Ignore to encode it as all zeros",
                            self.name,
                            cell.map_or("a missing value".into(), |c| format!("`{c}`")),
                            self.categories.join(", ")
                        )))
                    }
                }
                Ok(features)
            })
            .collect()
    }
}

/// scikit-learn's `LabelEncoder`: a string target's classes, sorted, as class indices.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelEncoder {
    classes: Vec<String>,
}

impl LabelEncoder {
    /// Fits the classes of column `name` of the training `frame`; missing labels are an error.
    pub fn fit(frame: &DataFrame, name: &str) -> Result<Self, Error> {
        let column = frame.column(name)?;
        if let Some(row) = (0..column.len()).find(|&r| column.is_missing(r)) {
            return Err(Error::InvalidConfig(format!(
                "column `{name}`: row {row} has no label"
            )));
        }
        let mut classes: Vec<String> = texts(column).into_iter().flatten().collect();
        classes.sort();
        classes.dedup();
        Ok(LabelEncoder { classes })
    }
    /// The classes, index by index.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }
    /// Column `name` of `frame` as class indices; a missing or unseen label is an error.
    pub fn transform(&self, frame: &DataFrame, name: &str) -> Result<Vec<usize>, Error> {
        texts(frame.column(name)?)
            .into_iter()
            .enumerate()
            .map(|(row, cell)| {
                cell.as_ref()
                    .and_then(|c| self.classes.iter().position(|k| k == c))
                    .ok_or_else(|| {
                        Error::InvalidConfig(format!(
                            "column `{name}`, row {row}: {} is not a class seen in training",
                            cell.map_or("a missing label".into(), |c| format!("`{c}`"))
                        ))
                    })
            })
            .collect()
    }
}

/// One column's treatment in a [`ColumnTransformer`].
#[derive(Clone, Debug)]
enum Plan {
    /// Imputed (or required complete), then standardised.
    Numeric(String, Option<Impute>),
    /// Imputed (or missing kept as unknown), then one-hot encoded.
    Categorical(String, Option<Impute>, Unknown),
}

/// scikit-learn's `ColumnTransformer` for a course's tables: numeric columns imputed and
/// standardised, categorical columns imputed and one-hot encoded, all fitted on the training
/// split only, into feature rows of fixed width.
///
/// ```no_run
/// # use nn_core::data::{ColumnTransformer, DataFrame, Impute, Unknown};
/// # fn main() -> Result<(), nn_core::Error> {
/// let train = DataFrame::read_csv("data/tabular/penguins.csv", &[])?;
/// let prep = ColumnTransformer::new()
///     .numeric(["bill_length_mm", "body_mass_g"], Some(Impute::Mean))
///     .categorical(["island", "sex"], Some(Impute::MostFrequent), Unknown::Ignore)
///     .fit(&train)?;
/// let x: Vec<[f32; 7]> = prep.transform(&train)?; // 2 numbers + 3 islands + 2 sexes
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct ColumnTransformer {
    plans: Vec<Plan>,
}

/// One fitted column.
#[derive(Clone, Debug)]
enum Fitted {
    Numeric {
        name: String,
        imputer: Option<Imputer>,
        mean: f64,
        std: f64,
    },
    Categorical {
        imputer: Option<Imputer>,
        encoder: OneHotEncoder,
    },
}

/// A [`ColumnTransformer`] fitted on training rows.
#[derive(Clone, Debug)]
pub struct FittedTransformer {
    columns: Vec<Fitted>,
}

impl ColumnTransformer {
    /// No columns yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// Numeric columns: missing cells filled by `impute` (with `None`, a missing cell is an
    /// error), then standardised with the training mean and standard deviation.
    pub fn numeric<'a>(
        mut self,
        names: impl IntoIterator<Item = &'a str>,
        impute: Option<Impute>,
    ) -> Self {
        self.plans
            .extend(names.into_iter().map(|n| Plan::Numeric(n.into(), impute)));
        self
    }
    /// Categorical columns: missing cells filled by `impute` (with `None`, missing is treated
    /// as `unknown` treats an unseen category), then one-hot encoded.
    pub fn categorical<'a>(
        mut self,
        names: impl IntoIterator<Item = &'a str>,
        impute: Option<Impute>,
        unknown: Unknown,
    ) -> Self {
        self.plans.extend(
            names
                .into_iter()
                .map(|n| Plan::Categorical(n.into(), impute, unknown)),
        );
        self
    }
    /// Fits every column on the training `frame`.
    pub fn fit(&self, frame: &DataFrame) -> Result<FittedTransformer, Error> {
        let columns = self
            .plans
            .iter()
            .map(|plan| match plan {
                Plan::Numeric(name, impute) => {
                    let imputer = impute.map(|s| Imputer::fit(frame, name, s)).transpose()?;
                    let values = numbers(name, frame, imputer.as_ref())?;
                    let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
                    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
                        / values.len().max(1) as f64;
                    let std = if var > 0.0 { var.sqrt() } else { 1.0 };
                    Ok(Fitted::Numeric {
                        name: name.clone(),
                        imputer,
                        mean,
                        std,
                    })
                }
                Plan::Categorical(name, impute, unknown) => {
                    let imputer = impute.map(|s| Imputer::fit(frame, name, s)).transpose()?;
                    let filled = DataFrame::single(
                        name,
                        match &imputer {
                            Some(i) => i.transform(frame)?,
                            None => frame.column(name)?.clone(),
                        },
                    );
                    let encoder = OneHotEncoder::fit(&filled, name, *unknown)?;
                    Ok(Fitted::Categorical { imputer, encoder })
                }
            })
            .collect::<Result<_, Error>>()?;
        Ok(FittedTransformer { columns })
    }
}

/// Column `name` as numbers, imputed; a missing cell without an imputer, or strings, is an
/// error.
fn numbers(name: &str, frame: &DataFrame, imputer: Option<&Imputer>) -> Result<Vec<f64>, Error> {
    let column = match imputer {
        Some(i) => i.transform(frame)?,
        None => frame.column(name)?.clone(),
    };
    match column {
        Column::Numbers(v) => v
            .iter()
            .enumerate()
            .map(|(row, c)| {
                c.ok_or_else(|| {
                    Error::InvalidConfig(format!(
                        "column `{name}`, row {row} is missing; impute it (Impute::Mean, ...)"
                    ))
                })
            })
            .collect(),
        Column::Strings(_) => Err(Error::InvalidConfig(format!(
            "column `{name}` holds strings: encode it as categorical"
        ))),
    }
}

impl FittedTransformer {
    /// The features each row becomes: a numeric column's name, or `column=category`.
    pub fn feature_names(&self) -> Vec<String> {
        self.columns
            .iter()
            .flat_map(|c| match c {
                Fitted::Numeric { name, .. } => vec![name.clone()],
                Fitted::Categorical { encoder, .. } => encoder
                    .categories()
                    .iter()
                    .map(|k| format!("{}={k}", encoder.name))
                    .collect(),
            })
            .collect()
    }
    /// `frame`'s rows as feature rows of width `N` (an error naming the width there is when
    /// `N` differs).
    pub fn transform<T: Float, const N: usize>(
        &self,
        frame: &DataFrame,
    ) -> Result<Vec<[T; N]>, Error> {
        let width = self.feature_names().len();
        if width != N {
            return Err(Error::InvalidConfig(format!(
                "the columns make {width} features ({}), not {N}",
                self.feature_names().join(", ")
            )));
        }
        let mut rows = vec![Vec::with_capacity(N); frame.len()];
        for column in &self.columns {
            match column {
                Fitted::Numeric {
                    name,
                    imputer,
                    mean,
                    std,
                } => {
                    for (row, v) in rows.iter_mut().zip(numbers(name, frame, imputer.as_ref())?) {
                        row.push((v - mean) / std);
                    }
                }
                Fitted::Categorical { imputer, encoder } => {
                    let column = match imputer {
                        Some(i) => i.transform(frame)?,
                        None => frame.column(&encoder.name)?.clone(),
                    };
                    for (row, features) in rows.iter_mut().zip(encoder.encode(&column)?) {
                        row.extend(features);
                    }
                }
            }
        }
        Ok(rows
            .iter()
            .map(|r| std::array::from_fn(|i| T::of(r[i])))
            .collect())
    }
}

#[cfg(test)]
mod tests;
