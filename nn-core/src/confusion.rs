//! `confusion_matrix` and `classification_report`: per-class results as readable tables.

#[allow(unused_imports)]
use crate::prelude::*;

use core::fmt;

use crate::Error;

/// Counts of (true class, predicted class) pairs: rows are true classes, columns predictions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix {
    classes: usize,
    counts: Vec<usize>,
}

/// Precision, recall, F1 and support of one class.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClassScores {
    /// Of the samples predicted as this class, the fraction that are.
    pub precision: f64,
    /// Of the samples of this class, the fraction predicted as it.
    pub recall: f64,
    /// The harmonic mean of precision and recall.
    pub f1: f64,
    /// How many samples have this class.
    pub support: usize,
}

/// scikit-learn's `classification_report`: per-class scores, accuracy, and macro and
/// support-weighted averages. Undefined ratios (no predictions of a class) count as 0.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassificationReport {
    /// One row per class.
    pub classes: Vec<ClassScores>,
    /// The fraction of samples predicted correctly.
    pub accuracy: f64,
    /// The unweighted mean over classes.
    pub macro_avg: ClassScores,
    /// The mean over classes weighted by support.
    pub weighted_avg: ClassScores,
}

/// Counts predictions against truth for labels below `classes`.
///
/// Errors when the two lists differ in length or a label is out of range.
pub fn confusion_matrix(
    y_true: &[usize],
    y_pred: &[usize],
    classes: usize,
) -> Result<ConfusionMatrix, Error> {
    if y_true.len() != y_pred.len() {
        return Err(Error::LengthMismatch {
            what: "confusion_matrix",
            inputs: y_pred.len(),
            targets: y_true.len(),
        });
    }
    let mut counts = vec![0; classes * classes];
    for (index, (&t, &p)) in y_true.iter().zip(y_pred).enumerate() {
        let label = t.max(p);
        if label >= classes {
            return Err(Error::LabelOutOfRange {
                what: "confusion_matrix",
                index,
                label,
                classes,
            });
        }
        counts[t * classes + p] += 1;
    }
    Ok(ConfusionMatrix { classes, counts })
}

/// [`ConfusionMatrix::report`] of the pairs.
pub fn classification_report(
    y_true: &[usize],
    y_pred: &[usize],
    classes: usize,
) -> Result<ClassificationReport, Error> {
    Ok(confusion_matrix(y_true, y_pred, classes)?.report())
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

impl ConfusionMatrix {
    /// How many samples of class `truth` were predicted as `predicted`.
    pub fn get(&self, truth: usize, predicted: usize) -> usize {
        self.counts[truth * self.classes + predicted]
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Per-class precision, recall, F1 and support, with accuracy and averages.
    pub fn report(&self) -> ClassificationReport {
        let n = self.classes;
        let total: usize = self.counts.iter().sum();
        let classes: Vec<ClassScores> = (0..n)
            .map(|c| {
                let hit = self.get(c, c);
                let support: usize = (0..n).map(|p| self.get(c, p)).sum();
                let predicted: usize = (0..n).map(|t| self.get(t, c)).sum();
                let (precision, recall) = (ratio(hit, predicted), ratio(hit, support));
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                ClassScores {
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect();
        let average = |weight: &dyn Fn(&ClassScores) -> f64| {
            let sum: f64 = classes.iter().map(weight).sum();
            let mean = |f: fn(&ClassScores) -> f64| {
                if sum == 0.0 {
                    0.0
                } else {
                    classes.iter().map(|c| f(c) * weight(c)).sum::<f64>() / sum
                }
            };
            ClassScores {
                precision: mean(|c| c.precision),
                recall: mean(|c| c.recall),
                f1: mean(|c| c.f1),
                support: total,
            }
        };
        ClassificationReport {
            accuracy: ratio((0..n).map(|c| self.get(c, c)).sum(), total),
            macro_avg: average(&|_| 1.0),
            weighted_avg: average(&|c| c.support as f64),
            classes,
        }
    }
}

impl fmt::Display for ConfusionMatrix {
    /// Rows are true classes, columns predictions, as scikit-learn prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .counts
            .iter()
            .max()
            .map_or(1, |m| m.to_string().len())
            .max(self.classes.to_string().len());
        write!(f, "{:>w$}  ", "t\\p", w = width.max(3))?;
        for p in 0..self.classes {
            write!(f, " {p:>width$}")?;
        }
        writeln!(f)?;
        for t in 0..self.classes {
            write!(f, "{t:>w$}  ", w = width.max(3))?;
            for p in 0..self.classes {
                write!(f, " {:>width$}", self.get(t, p))?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

impl fmt::Display for ClassificationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>12} {:>9} {:>9} {:>9} {:>9}",
            "", "precision", "recall", "f1-score", "support"
        )?;
        writeln!(f)?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, s: &ClassScores| {
            writeln!(
                f,
                "{name:>12} {:>9.4} {:>9.4} {:>9.4} {:>9}",
                s.precision, s.recall, s.f1, s.support
            )
        };
        for (c, s) in self.classes.iter().enumerate() {
            row(f, &c.to_string(), s)?;
        }
        writeln!(f)?;
        let total = self.macro_avg.support;
        writeln!(
            f,
            "{:>12} {:>9} {:>9} {:>9.4} {:>9}",
            "accuracy", "", "", self.accuracy, total
        )?;
        row(f, "macro avg", &self.macro_avg)?;
        row(f, "weighted avg", &self.weighted_avg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_scores_and_averages_match_hand_computation() {
        let y_true = [0, 0, 1, 1, 1, 2];
        let y_pred = [0, 1, 1, 1, 0, 1];
        let cm = confusion_matrix(&y_true, &y_pred, 3).unwrap();
        assert_eq!(
            (
                cm.get(0, 0),
                cm.get(0, 1),
                cm.get(1, 0),
                cm.get(1, 1),
                cm.get(2, 1)
            ),
            (1, 1, 1, 2, 1)
        );
        let r = cm.report();
        // Class 1: predicted 4 times, 2 right -> precision 0.5; 3 samples -> recall 2/3.
        assert!(
            (r.classes[1].precision - 0.5).abs() < 1e-12
                && (r.classes[1].recall - 2.0 / 3.0).abs() < 1e-12
        );
        assert!((r.classes[1].f1 - 4.0 / 7.0).abs() < 1e-12);
        // Class 2 is never predicted: precision 0 by convention.
        assert_eq!(
            r.classes[2],
            ClassScores {
                precision: 0.0,
                recall: 0.0,
                f1: 0.0,
                support: 1
            }
        );
        assert!((r.accuracy - 0.5).abs() < 1e-12);
        let macro_recall = (0.5 + 2.0 / 3.0 + 0.0) / 3.0;
        assert!((r.macro_avg.recall - macro_recall).abs() < 1e-12);
        let weighted_recall = (2.0 * 0.5 + 3.0 * (2.0 / 3.0)) / 6.0;
        assert!((r.weighted_avg.recall - weighted_recall).abs() < 1e-12);
        let table = r.to_string();
        assert!(
            table.contains("precision")
                && table.contains("weighted avg")
                && table.contains("accuracy")
        );
        assert!(cm.to_string().lines().count() == 4);
    }

    #[test]
    fn bad_labels_are_errors() {
        assert!(confusion_matrix(&[0, 3], &[0, 1], 3).is_err());
        assert!(confusion_matrix(&[0], &[0, 1], 3).is_err());
    }
}
