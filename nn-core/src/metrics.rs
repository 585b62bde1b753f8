//! Metrics reported by `fit` and `evaluate`, accumulated over all samples as Keras does.

#[allow(unused_imports)]
use crate::prelude::*;

pub use crate::confusion::{
    classification_report, confusion_matrix, ClassScores, ClassificationReport, ConfusionMatrix,
};
#[cfg(feature = "std")]
use crate::loss::Targets;
use crate::Float;

/// A metric to track. `Accuracy` picks binary, sparse or categorical accuracy from the output
/// width and the target type, as Keras's `"accuracy"` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Keras's `"accuracy"`.
    Accuracy,
    /// `prediction > 0.5` compared with the target.
    BinaryAccuracy,
    /// `argmax(prediction) == argmax(target)`.
    CategoricalAccuracy,
    /// `argmax(prediction) == label`.
    SparseCategoricalAccuracy,
    /// Mean absolute error.
    Mae,
    /// Mean squared error.
    Mse,
    /// Root mean squared error.
    Rmse,
}

impl Metric {
    /// The key under which the metric appears in logs and history (`"accuracy"`, `"mae"`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::BinaryAccuracy => "binary_accuracy",
            Metric::CategoricalAccuracy => "categorical_accuracy",
            Metric::SparseCategoricalAccuracy => "sparse_categorical_accuracy",
            Metric::Mae => "mae",
            Metric::Mse => "mse",
            Metric::Rmse => "rmse",
        }
    }

    /// Whether larger values are better (for callbacks' `mode = auto`).
    pub fn higher_is_better(self) -> bool {
        matches!(
            self,
            Metric::Accuracy
                | Metric::BinaryAccuracy
                | Metric::CategoricalAccuracy
                | Metric::SparseCategoricalAccuracy
        )
    }

    /// The accuracy variant Keras would choose for this output width and target kind.
    #[cfg(feature = "std")]
    fn resolve<T>(self, last: usize, targets: &Targets<'_, T>) -> Metric {
        match self {
            Metric::Accuracy if last == 1 => Metric::BinaryAccuracy,
            Metric::Accuracy if matches!(targets, Targets::Sparse(_)) => {
                Metric::SparseCategoricalAccuracy
            }
            Metric::Accuracy => Metric::CategoricalAccuracy,
            other => other,
        }
    }
}

/// A running total of one metric over batches.
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug)]
pub(crate) struct MetricState {
    /// The metric tracked.
    pub metric: Metric,
    /// The model output it is tracked on (0 for a model with one output).
    pub output: usize,
    sum: f64,
    count: f64,
}

#[cfg(feature = "std")]
impl MetricState {
    /// An empty total of `metric` on the model's output `output`.
    pub fn on_output(metric: Metric, output: usize) -> Self {
        Self {
            metric,
            output,
            sum: 0.0,
            count: 0.0,
        }
    }

    /// Adds a batch of predictions (rows of `last` elements) and their targets.
    pub fn update<T: Float>(&mut self, pred: &[T], targets: Targets<'_, T>, last: usize) {
        let (sum, count) = match (self.metric.resolve(last, &targets), targets) {
            (Metric::BinaryAccuracy, Targets::Dense(y)) => {
                let hits = pred.iter().zip(y).filter(|(&p, &y)| {
                    let class = if p > T::of(0.5) { T::one() } else { T::zero() };
                    class == y
                });
                (hits.count() as f64, pred.len() as f64)
            }
            (Metric::CategoricalAccuracy, Targets::Dense(y)) => {
                let rows = pred.chunks_exact(last).zip(y.chunks_exact(last));
                let hits = rows.filter(|(p, y)| argmax(p) == argmax(y)).count();
                (hits as f64, (pred.len() / last) as f64)
            }
            (
                Metric::SparseCategoricalAccuracy | Metric::BinaryAccuracy,
                Targets::Sparse(labels),
            )
            | (Metric::CategoricalAccuracy, Targets::Sparse(labels)) => {
                let hits = pred
                    .chunks_exact(last)
                    .zip(labels)
                    .filter(|(p, &l)| argmax(p) == l);
                (hits.count() as f64, labels.len() as f64)
            }
            (Metric::Mae, Targets::Dense(y)) => (
                pred.iter()
                    .zip(y)
                    .map(|(&p, &y)| (p - y).abs().as_f64())
                    .sum(),
                pred.len() as f64,
            ),
            (Metric::Mse | Metric::Rmse, Targets::Dense(y)) => (
                pred.iter()
                    .zip(y)
                    .map(|(&p, &y)| (p - y).as_f64() * (p - y).as_f64())
                    .sum(),
                pred.len() as f64,
            ),
            (Metric::Mae | Metric::Mse | Metric::Rmse, Targets::Sparse(_)) => (f64::NAN, 1.0),
            (m, _) => panic!("metric {m:?} was not resolved"),
        };
        self.sum += sum;
        self.count += count;
    }

    /// Merges another partial total of the same metric.
    pub fn merge(&mut self, other: &MetricState) {
        self.sum += other.sum;
        self.count += other.count;
    }

    /// The metric over everything added so far.
    pub fn value(&self) -> f64 {
        let mean = if self.count > 0.0 {
            self.sum / self.count
        } else {
            f64::NAN
        };
        if self.metric == Metric::Rmse {
            num_traits::Float::sqrt(mean)
        } else {
            mean
        }
    }
}

/// The index of the first largest element (TensorFlow's tie rule).
///
/// The best value so far stays in a register: read back from the row by index, it made each
/// element wait for the previous one's load, and the accuracy of a training step, which runs
/// on the calling thread alone, took three times as long (`BENCHMARKS.md`).
pub fn argmax<T: Float>(row: &[T]) -> usize {
    let Some(&first) = row.first() else {
        return 0;
    };
    let (mut best, mut best_value) = (0, first);
    for (i, &v) in row.iter().enumerate().skip(1) {
        if v > best_value {
            (best, best_value) = (i, v);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first of equal largest values; a NaN is never larger, nor beaten where it leads.
    #[test]
    fn argmax_takes_the_first_largest() {
        assert_eq!(argmax(&[0.1f32, 0.7, 0.2, 0.7]), 1);
        assert_eq!(argmax(&[-3.0f64, -1.0, -2.0]), 1);
        assert_eq!(argmax(&[0.5f32, f32::NAN, 0.9]), 2);
        assert_eq!(argmax(&[f32::NAN, 1.0, 2.0]), 0);
        assert_eq!(argmax(&[f32::NEG_INFINITY, f32::NEG_INFINITY]), 0);
        assert_eq!(argmax::<f32>(&[]), 0);
    }

    #[test]
    fn accuracy_resolves_like_keras_and_accumulates_over_samples() {
        let pred = [0.1f32, 0.7, 0.2, 0.5, 0.4, 0.1];
        let mut cat = MetricState::on_output(Metric::Accuracy, 0);
        cat.update(&pred, Targets::Dense(&[0.0, 1.0, 0.0, 0.0, 1.0, 0.0]), 3);
        assert_eq!(cat.value(), 0.5);
        let mut sparse = MetricState::on_output(Metric::Accuracy, 0);
        sparse.update(&pred[..3], Targets::Sparse(&[1]), 3);
        sparse.update(&pred[3..], Targets::Sparse(&[0]), 3);
        assert_eq!(sparse.value(), 1.0);
        // Binary: 0.5 is not above the threshold, so it predicts 0.
        let mut binary = MetricState::on_output(Metric::Accuracy, 0);
        binary.update(&[0.5f32, 0.51, 0.2], Targets::Dense(&[0.0, 1.0, 1.0]), 1);
        assert!((binary.value() - 2.0 / 3.0).abs() < 1e-12);
        let mut rmse = MetricState::on_output(Metric::Rmse, 0);
        rmse.update(&[1.0f32, 3.0], Targets::Dense(&[0.0, 0.0]), 1);
        assert!((rmse.value() - 5.0f64.sqrt()).abs() < 1e-12);
    }
}
