//! `fit`: Keras's training loop, and `Fit`, its settings as a builder.

use std::path::PathBuf;
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::callback::{Callback, Control, Logs};
use super::checkpoint;
use super::history::History;
use super::progress::{Progress, Verbosity};
use super::trainee::Trainee;
use crate::data::ImageAugmentation;
use crate::loss::{LossParts, OwnedTargets, TargetRows, TargetSet, Targets};
use crate::metrics::{Metric, MetricState};
use crate::network::{Objective, Passes};
use crate::optim::Optimizer;
use crate::{Error, Float};

/// The settings of one `fit` call, with Keras's defaults: 1 epoch, batches of 32, shuffling
/// every epoch, no validation, no metrics besides the loss.
///
/// ```
/// # use nn_core::{Fit, Adam, CategoricalCrossentropy, Metric};
/// let fit = Fit::new(CategoricalCrossentropy, Adam::<f32>::new(0.001))
///     .epochs(10).batch_size(128).validation_split(0.1).seed(7).metrics([Metric::Accuracy]);
/// ```
pub struct Fit<'a, L, O, V = NoValidation> {
    pub(crate) loss: L,
    pub(crate) optimizer: O,
    pub(crate) validation: V,
    pub(crate) settings: FitSettings<'a>,
}

/// The settings of a `fit` call that do not depend on its loss, optimizer and validation
/// types: all that the loop reads besides those two, which it takes as trait objects, so
/// that it is compiled once for each element type ([`fit_loop`]).
pub(crate) struct FitSettings<'a> {
    pub(crate) epochs: usize,
    pub(crate) batch_size: usize,
    pub(crate) validation_split: f64,
    pub(crate) shuffle: bool,
    pub(crate) seed: Option<u64>,
    pub(crate) metrics: Vec<Metric>,
    pub(crate) loss_weights: Vec<f64>,
    pub(crate) callbacks: Vec<Box<dyn Callback + 'a>>,
    pub(crate) verbosity: Verbosity,
    pub(crate) augmentation: Option<ImageAugmentation>,
    pub(crate) checkpoint: Option<PathBuf>,
    pub(crate) resume: Option<PathBuf>,
}

/// No separate validation data (the default; `validation_split` may still carve some out).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoValidation;

/// Validation inputs and targets given to [`Fit::validation_data`].
#[derive(Clone, Copy, Debug)]
pub struct ValidationSet<'a, X, Y> {
    x: &'a [X],
    y: &'a [Y],
}

/// Validation data for a model with inputs `X` and targets `Y`.
#[diagnostic::on_unimplemented(
    message = "validation data of type `{Self}` does not match the model",
    label = "validation inputs must be the model's `Input` type and targets the loss's target type `{Y}`"
)]
pub trait Validation<'a, X, Y> {
    /// The inputs and targets, if any.
    fn data(&self) -> Option<(&'a [X], &'a [Y])>;
}

impl<'a, X, Y> Validation<'a, X, Y> for NoValidation {
    fn data(&self) -> Option<(&'a [X], &'a [Y])> {
        None
    }
}

impl<'a, X, Y> Validation<'a, X, Y> for ValidationSet<'a, X, Y> {
    fn data(&self) -> Option<(&'a [X], &'a [Y])> {
        Some((self.x, self.y))
    }
}

impl<'a, L, O> Fit<'a, L, O, NoValidation> {
    /// Training with this loss and optimizer, Keras's defaults for everything else.
    pub fn new(loss: L, optimizer: O) -> Self {
        Fit {
            loss,
            optimizer,
            validation: NoValidation,
            settings: FitSettings {
                epochs: 1,
                batch_size: 32,
                validation_split: 0.0,
                shuffle: true,
                seed: None,
                metrics: Vec::new(),
                loss_weights: Vec::new(),
                callbacks: Vec::new(),
                verbosity: Verbosity::Auto,
                augmentation: None,
                checkpoint: None,
                resume: None,
            },
        }
    }
}

impl<'a, L, O, V> Fit<'a, L, O, V> {
    /// The number of passes over the training data (default 1).
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.settings.epochs = epochs;
        self
    }
    /// Samples per optimizer step (default 32); the last batch of an epoch may be smaller.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.settings.batch_size = batch_size;
        self
    }
    /// Validates on the last `fraction` of the data, taken before shuffling (as Keras).
    pub fn validation_split(mut self, fraction: f64) -> Self {
        self.settings.validation_split = fraction;
        self
    }
    /// Validates on separate data after every epoch (overrides `validation_split`).
    pub fn validation_data<X, Y>(
        self,
        x: &'a [X],
        y: &'a [Y],
    ) -> Fit<'a, L, O, ValidationSet<'a, X, Y>> {
        Fit {
            loss: self.loss,
            optimizer: self.optimizer,
            validation: ValidationSet { x, y },
            settings: self.settings,
        }
    }
    /// Whether to draw a fresh permutation of the training data every epoch (default true).
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.settings.shuffle = shuffle;
        self
    }
    /// Seeds shuffling and dropout, so that a run can be repeated exactly.
    pub fn seed(mut self, seed: u64) -> Self {
        self.settings.seed = Some(seed);
        self
    }
    /// Metrics to report besides the loss.
    pub fn metrics(mut self, metrics: impl IntoIterator<Item = Metric>) -> Self {
        self.settings.metrics = metrics.into_iter().collect();
        self
    }
    /// The weight of each output's loss in the total that training minimises and `loss`
    /// reports (Keras's `loss_weights`; default all 1). One weight per output. As Keras
    /// compiles them into the model, the model keeps them for later `train_step`, `evaluate`
    /// and `fit` calls (see `Model::set_loss_weights`).
    pub fn loss_weights(mut self, weights: impl IntoIterator<Item = f64>) -> Self {
        self.settings.loss_weights = weights.into_iter().collect();
        self
    }
    /// Adds callbacks, called in this order.
    pub fn callbacks<C: Callback + 'a>(mut self, callbacks: impl IntoIterator<Item = C>) -> Self {
        for c in callbacks {
            self.settings.callbacks.push(Box::new(c));
        }
        self
    }
    /// Adds one callback.
    pub fn callback(mut self, callback: impl Callback + 'a) -> Self {
        self.settings.callbacks.push(Box::new(callback));
        self
    }
    /// Randomly transforms every training image of every batch (Keras's
    /// `ImageDataGenerator`); validation data is left as it is. Needs `(H, W)` or
    /// `(H, W, C)` inputs.
    pub fn augment(mut self, augmentation: ImageAugmentation) -> Self {
        self.settings.augmentation = Some(augmentation);
        self
    }
    /// After every epoch, saves a training checkpoint to `path` (atomically): the weights
    /// (loadable with `Model::load`), the optimizer's state, the epoch and every random
    /// stream, so that [`Fit::resume_from`] continues exactly where this run was.
    pub fn checkpoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.checkpoint = Some(path.into());
        self
    }
    /// Continues training from a checkpoint written by [`Fit::checkpoint`]: weights,
    /// optimizer state and random streams are restored and the run goes on from the epoch
    /// after the saved one up to `epochs`. With the same data and settings (and one thread),
    /// the weights match an uninterrupted run bit for bit.
    pub fn resume_from(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.resume = Some(path.into());
        self
    }
    /// How much to print: `0` nothing, `1` a bar on a terminal (the default), `2` a line per epoch.
    pub fn verbose(mut self, verbosity: impl Into<Verbosity>) -> Self {
        self.settings.verbosity = verbosity.into();
        self
    }
}

/// Forwards every hook to the callback behind a box or a mutable reference, so that `fit`
/// takes callbacks by value, boxed, or borrowed (to read their state afterwards).
macro_rules! forward_callback {
    ($($ptr:ty),*) => {$(
        impl<C: Callback + ?Sized> Callback for $ptr {
            fn on_train_begin(&mut self, control: &mut Control<'_>) {
                (**self).on_train_begin(control)
            }
            fn on_epoch_begin(&mut self, epoch: usize, control: &mut Control<'_>) {
                (**self).on_epoch_begin(epoch, control)
            }
            fn on_train_batch_end(&mut self, batch: usize, logs: &Logs, control: &mut Control<'_>) {
                (**self).on_train_batch_end(batch, logs, control)
            }
            fn add_epoch_logs(&mut self, epoch: usize, logs: &mut Logs, control: &Control<'_>) {
                (**self).add_epoch_logs(epoch, logs, control)
            }
            fn on_epoch_end(&mut self, epoch: usize, logs: &mut Logs, control: &mut Control<'_>) {
                (**self).on_epoch_end(epoch, logs, control)
            }
            fn on_train_end(&mut self, control: &mut Control<'_>) {
                (**self).on_train_end(control)
            }
        }
    )*};
}

forward_callback!(Box<C>, &mut C);

/// The data of a `fit` call, flattened.
pub(crate) struct FitData<'a, T> {
    pub x: &'a [T],
    pub targets: &'a TargetSet<'a, T>,
    pub validation: Option<(&'a [T], &'a TargetSet<'a, T>)>,
}

/// Copies the samples `indices` of every output's targets into a batch's buffers.
fn gather_targets<T: Float>(
    batch: &mut TargetSet<'_, T>,
    targets: TargetRows<'_, T>,
    indices: &[usize],
) {
    let TargetSet::Many(parts) = batch else {
        unreachable!("batch buffers are gathered")
    };
    parts.resize_with(targets.outputs(), || OwnedTargets::Sparse(Vec::new()));
    for (j, part) in parts.iter_mut().enumerate() {
        match targets.part(j) {
            Targets::Dense(t) => {
                let width = t.len() / targets.len().max(1);
                if !matches!(part, OwnedTargets::Dense(_)) {
                    *part = OwnedTargets::Dense(Vec::new());
                }
                let OwnedTargets::Dense(buf) = part else {
                    unreachable!()
                };
                buf.clear();
                indices
                    .iter()
                    .for_each(|&i| buf.extend_from_slice(&t[i * width..(i + 1) * width]));
            }
            Targets::Sparse(t) => {
                if !matches!(part, OwnedTargets::Sparse(_)) {
                    *part = OwnedTargets::Sparse(Vec::new());
                }
                let OwnedTargets::Sparse(buf) = part else {
                    unreachable!()
                };
                buf.clear();
                buf.extend(indices.iter().map(|&i| t[i]));
            }
        }
    }
}

/// The metric totals of an epoch: each metric on each output.
fn metric_states(metrics: &[Metric], outputs: usize) -> Vec<MetricState> {
    (0..outputs)
        .flat_map(|j| metrics.iter().map(move |&m| MetricState::on_output(m, j)))
        .collect()
}

/// Writes each output's loss and every metric into `logs`, named as Keras names them (with
/// several outputs: `main_loss`, `main_accuracy`), each key after `prefix`.
fn log_outputs(
    logs: &mut Logs,
    prefix: &str,
    names: &[&str],
    losses: &[f64],
    metrics: &[MetricState],
) {
    if names.len() > 1 {
        for (name, loss) in names.iter().zip(losses) {
            logs.insert(format!("{prefix}{name}_loss"), *loss);
        }
    }
    for m in metrics {
        let key = if names.len() > 1 {
            format!("{prefix}{}_{}", names[m.output], m.metric.name())
        } else {
            format!("{prefix}{}", m.metric.name())
        };
        logs.insert(key, m.value());
    }
}

/// Copies the rows `indices` (each `width` long) of `src` into `dst`. The workers wait for
/// each batch, and shuffled rows come from all over memory, so a large batch is copied by the
/// worker pool rather than by the calling thread alone.
fn gather_rows<T: Float>(dst: &mut Vec<T>, src: &[T], width: usize, indices: &[usize]) {
    use rayon::prelude::*;
    T::resize_zeroed(dst, indices.len() * width);
    let copy = |(row, &i): (&mut [T], &usize)| row.copy_from_slice(&src[i * width..][..width]);
    if indices.len() >= PARALLEL_GATHER && crate::threads::thread_count() > 1 {
        crate::threads::pool().install(|| {
            dst.par_chunks_mut(width)
                .zip(indices.par_iter())
                .with_min_len(PARALLEL_GATHER / 2)
                .for_each(copy)
        });
    } else {
        dst.chunks_mut(width).zip(indices).for_each(copy);
    }
}

/// The fewest rows of a batch worth gathering on the worker pool.
const PARALLEL_GATHER: usize = 64;

/// Calls `hook` on every callback in order with a fresh [`Control`], then folds the requests
/// to stop and the first error into `stop` and `failure`. A callback that fails ends the round:
/// the ones after it are not called, as after a Keras callback raises.
fn notify<T: Float>(
    callbacks: &mut [Box<dyn Callback + '_>],
    optimizer: &mut dyn Optimizer<T>,
    model: &mut dyn Trainee<T>,
    stop: &mut bool,
    failure: &mut Option<Error>,
    mut hook: impl FnMut(&mut dyn Callback, &mut Control<'_>),
) {
    for cb in callbacks.iter_mut() {
        let mut control = Control {
            stop: *stop,
            error: None,
            optimizer: &mut *optimizer,
            model: &mut *model,
        };
        hook(cb.as_mut(), &mut control);
        *stop = control.stop;
        if let Some(e) = control.error {
            failure.get_or_insert(e);
            break;
        }
    }
}

/// Keras's `fit` loop over flat data; see `Model::fit`. The loop itself is [`fit_loop`],
/// compiled in this crate for `f32` and `f64` (`Passes::fit`): here the loss and the optimizer
/// are only lent to it as trait objects.
pub(crate) fn run_fit<T: Float, L: LossParts<T>, O: Optimizer<T>, V>(
    model: &mut dyn Trainee<T>,
    data: FitData<'_, T>,
    fit: &mut Fit<'_, L, O, V>,
) -> Result<History, Error> {
    <T as Passes>::fit(
        model,
        data,
        &fit.loss,
        &mut fit.optimizer,
        &mut fit.settings,
    )
}

/// [`run_fit`]'s loop, generic only over the element type.
pub(crate) fn fit_loop<T: Float>(
    model: &mut dyn Trainee<T>,
    data: FitData<'_, T>,
    loss: &dyn LossParts<T>,
    optimizer: &mut dyn Optimizer<T>,
    settings: &mut FitSettings<'_>,
) -> Result<History, Error> {
    let width = model.input_size();
    let n = data.x.len() / width;
    if settings.batch_size == 0 {
        return Err(Error::InvalidConfig("batch_size must be at least 1".into()));
    }
    if !(0.0..1.0).contains(&settings.validation_split) {
        return Err(Error::InvalidConfig(format!(
            "validation_split must be in [0, 1), got {}",
            settings.validation_split
        )));
    }
    crate::optim::check_learning_rate(optimizer.learning_rate())?;
    let outputs = model.output_names();
    if !settings.loss_weights.is_empty() {
        // Keras compiles the weights into the model: later steps and evaluations use them.
        model.set_loss_weights(&settings.loss_weights)?;
    }
    let all = TargetRows::all(data.targets, n);
    let (n_train, train_targets, validation) = match data.validation {
        Some((vx, vt)) => (n, all, Some((vx, TargetRows::all(vt, vx.len() / width)))),
        None if settings.validation_split > 0.0 => {
            let n_train = (n as f64 * (1.0 - settings.validation_split)).floor() as usize;
            let (t, v) = (all.rows(0, n_train), all.rows(n_train, n));
            (n_train, t, Some((&data.x[n_train * width..], v)))
        }
        None => (n, all, None),
    };
    if n_train == 0 {
        return Err(Error::InvalidConfig(
            "fit needs at least one training sample".into(),
        ));
    }
    let x_train = &data.x[..n_train * width];
    let image = match (settings.augmentation, model.input_shape()) {
        (None, _) => None,
        (Some(aug), &[h, w]) => Some((aug, (h, w, 1))),
        (Some(aug), &[h, w, c]) => Some((aug, (h, w, c))),
        (Some(_), shape) => {
            return Err(Error::InvalidConfig(format!(
                "image augmentation needs (H, W) or (H, W, C) inputs, the model takes {shape:?}"
            )))
        }
    };

    let seed = match settings.seed {
        Some(seed) => {
            model.reseed(seed);
            seed
        }
        None => model.next_seed(),
    };
    let mut shuffle_rng = ChaCha8Rng::seed_from_u64(seed);
    let mut augment_rng = ChaCha8Rng::seed_from_u64(seed);
    augment_rng.set_stream(1);
    let mut first_epoch = 0;
    if let Some(path) = &settings.resume {
        let resumed = checkpoint::resume(model, path, optimizer)?;
        first_epoch = resumed.next_epoch;
        shuffle_rng = resumed.shuffle;
        augment_rng = resumed.augment;
    }
    let weights: Vec<T> = model.loss_weights().iter().map(|&w| T::of(w)).collect();
    let objective = Objective {
        losses: loss,
        weights: &weights,
    };
    let callbacks = &mut settings.callbacks;
    let mut progress = Progress::new(settings.verbosity);
    let mut history = History::default();
    let mut order: Vec<usize> = (0..n_train).collect();
    let mut x_batch: Vec<T> = Vec::with_capacity(settings.batch_size * width);
    let mut t_batch = TargetSet::Many(Vec::new());
    let mut step_losses = vec![0.0; outputs.len()];
    let batches = n_train.div_ceil(settings.batch_size);

    let mut stop = false;
    let mut failure: Option<Error> = None;
    notify(
        callbacks,
        &mut *optimizer,
        &mut *model,
        &mut stop,
        &mut failure,
        |cb, c| cb.on_train_begin(c),
    );
    for epoch in first_epoch..settings.epochs {
        if stop {
            break;
        }
        let started = Instant::now();
        notify(
            callbacks,
            &mut *optimizer,
            &mut *model,
            &mut stop,
            &mut failure,
            |cb, c| cb.on_epoch_begin(epoch, c),
        );
        if failure.is_some() {
            break;
        }
        let lr = optimizer.learning_rate();
        if crate::optim::check_learning_rate(lr).is_err() {
            // A schedule set a rate no step can use: stop before taking one.
            failure.get_or_insert(Error::InvalidConfig(format!(
                "a callback set the learning rate of epoch {epoch} to {lr}; it must be a \
                 positive, finite number"
            )));
            break;
        }
        if settings.shuffle {
            // A fresh permutation of the original order (Keras), so that an epoch depends only
            // on the stream's position, which a checkpoint restores.
            order.iter_mut().enumerate().for_each(|(i, o)| *o = i);
            order.shuffle(&mut shuffle_rng);
        }
        progress.begin_epoch(epoch, settings.epochs, batches);
        let mut metrics = metric_states(&settings.metrics, outputs.len());
        let (mut loss_sum, mut seen) = (0.0f64, 0usize);
        let mut output_sums = vec![0.0f64; outputs.len()];
        let mut logs = Logs::new();
        for (b, indices) in order.chunks(settings.batch_size).enumerate() {
            gather_rows(&mut x_batch, x_train, width, indices);
            if let Some((aug, dims)) = &image {
                x_batch
                    .chunks_exact_mut(width)
                    .for_each(|img| aug.apply(img, *dims, &mut augment_rng));
            }
            gather_targets(&mut t_batch, train_targets, indices);
            let batch_loss = model.step(
                &mut *optimizer,
                &objective,
                &x_batch,
                TargetRows::all(&t_batch, indices.len()),
                &mut metrics,
                &mut step_losses,
            );
            loss_sum += batch_loss.as_f64() * indices.len() as f64;
            seen += indices.len();
            output_sums
                .iter_mut()
                .zip(&step_losses)
                .for_each(|(s, l)| *s += l * indices.len() as f64);
            logs.insert("loss".into(), loss_sum / seen as f64);
            let means: Vec<f64> = output_sums.iter().map(|s| s / seen as f64).collect();
            log_outputs(&mut logs, "", outputs, &means, &metrics);
            notify(
                callbacks,
                &mut *optimizer,
                &mut *model,
                &mut stop,
                &mut failure,
                |cb, c| cb.on_train_batch_end(b, &logs, c),
            );
            // A callback that fails after a batch ends `fit` at once, as a Keras callback that
            // raises does: the epoch does not close and no callback runs again.
            if let Some(e) = failure {
                return Err(e);
            }
            progress.batch_done(&logs);
            if stop {
                break;
            }
        }
        if let Some((vx, vt)) = validation {
            let mut val_metrics = metric_states(&settings.metrics, outputs.len());
            let mut val_losses = vec![0.0; outputs.len()];
            let val_loss =
                model.evaluate_flat(&objective, vx, vt, &mut val_metrics, &mut val_losses);
            logs.insert("val_loss".into(), val_loss.as_f64());
            log_outputs(&mut logs, "val_", outputs, &val_losses, &val_metrics);
        }
        notify(
            callbacks,
            &mut *optimizer,
            &mut *model,
            &mut stop,
            &mut failure,
            |cb, c| cb.add_epoch_logs(epoch, &mut logs, c),
        );
        notify(
            callbacks,
            &mut *optimizer,
            &mut *model,
            &mut stop,
            &mut failure,
            |cb, c| cb.on_epoch_end(epoch, &mut logs, c),
        );
        let seconds = started.elapsed().as_secs_f64();
        history.record(&logs, seconds);
        progress.end_epoch(epoch, settings.epochs, batches, seconds, &logs);
        if let Some(path) = &settings.checkpoint {
            let streams = checkpoint::Streams {
                shuffle: &shuffle_rng,
                augment: &augment_rng,
            };
            if let Err(e) = checkpoint::save(model, path, epoch, &*optimizer, streams) {
                failure.get_or_insert(e);
                break;
            }
        }
    }
    notify(
        callbacks,
        &mut *optimizer,
        &mut *model,
        &mut stop,
        &mut failure,
        |cb, c| cb.on_train_end(c),
    );
    match failure {
        Some(e) => Err(e),
        None => Ok(history),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gathered_batches_hold_the_chosen_rows_in_order() {
        let width = 7;
        let src: Vec<f32> = (0..300 * width).map(|v| v as f32).collect();
        let mut order: Vec<usize> = (0..300).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(9));
        let mut batch = vec![f32::NAN; 3];
        // Above and below the size gathered on the worker pool, and a short last batch.
        for indices in [&order[..128], &order[128..256], &order[256..], &order[..5]] {
            gather_rows(&mut batch, &src, width, indices);
            let want: Vec<f32> = indices
                .iter()
                .flat_map(|&i| src[i * width..(i + 1) * width].iter().copied())
                .collect();
            assert_eq!(batch, want);
        }
    }
}
