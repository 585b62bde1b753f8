//! The `Model` trait: what every `model!` struct can do.
//!
//! The macro implements the four required items (the layer list, its metadata, a constructor
//! and the I/O types); everything else is provided here once, on top of [`crate::network`], so
//! that all models share one tested implementation.

#[allow(unused_imports)]
use crate::prelude::*;

#[cfg(feature = "std")]
use rand::RngCore;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
#[cfg(feature = "std")]
use rayon::prelude::*;

use crate::graph::Graph;
#[cfg(feature = "std")]
use crate::kernels::Element;
use crate::layers::Layer;
#[cfg(feature = "std")]
use crate::loss::TargetRows;
#[allow(unused_imports)]
use crate::loss::{Loss, LossParts, TakesTargets, TargetSet, Targets};
#[allow(unused_imports)]
use crate::metrics::Metric;
#[cfg(feature = "std")]
use crate::metrics::MetricState;
#[cfg(feature = "std")]
use crate::network::Objective;
use crate::network::{self, Records};
#[cfg(feature = "std")]
use crate::network::{Passes, Workspace};
#[allow(unused_imports)]
use crate::optim::Optimizer;
use crate::summary::{self, LayerInfo, ParamCount, SummaryRow};
#[cfg(feature = "std")]
use crate::threads;
#[cfg(feature = "std")]
use crate::train::{run_fit, Fit, FitData, History, Trainee, Validation, WeightAccess};
use crate::{Error, Float, Tensor};

/// Samples per chunk of evaluation handed to one thread.
#[cfg(feature = "std")]
const CHUNK: usize = 256;

/// The fewest samples `predict_batch` hands to one thread.
#[cfg(feature = "std")]
const MIN_PARALLEL_CHUNK: usize = 32;

/// Training state a model carries besides its weights: the random stream for dropout and
/// shuffling, buffers reused from one training step to the next, and the weight of each
/// output's loss (Keras's compiled `loss_weights`).
#[derive(Clone, Debug)]
#[cfg_attr(not(feature = "std"), allow(dead_code))]
pub struct Runtime<T> {
    rng: ChaCha8Rng,
    #[cfg(feature = "std")]
    workspace: Workspace<T>,
    /// As given (empty: all 1), and in the element type, for the objective.
    loss_weights: (Vec<f64>, Vec<T>),
}

impl<T: Float> Runtime<T> {
    /// The state of a model created with `seed`.
    pub fn new(seed: u64) -> Self {
        // The kernels' instruction set is settled here, where creating a model allocates
        // anyway: reading `TYPED_NN_MAX_ISA` allocates, and the first `predict` must not.
        #[cfg(feature = "std")]
        crate::kernels::Isa::detect();
        Self {
            rng: Self::training_stream(seed),
            #[cfg(feature = "std")]
            workspace: Workspace::new(),
            loss_weights: (Vec::new(), Vec::new()),
        }
    }

    /// The random stream training draws from for `seed`: stream 0 initialises the layers
    /// (see `Model::initialize`), training uses its own.
    fn training_stream(seed: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(u64::MAX);
        rng
    }
}

/// What `evaluate` returns: the loss (with regularization penalties) and each metric, over
/// the whole data set. Indexing gives Keras's list: `scores[0]` is the loss, then the metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores<T> {
    /// The mean loss.
    pub loss: T,
    /// Each requested metric with its value (on the first output).
    pub metrics: Vec<(Metric, T)>,
    /// Every value under the name Keras logs it by: `loss`, then for a model with several
    /// outputs each output's unweighted loss (`main_loss`) and its metrics (`main_accuracy`),
    /// for one output the metrics (`accuracy`).
    pub named: Vec<(String, T)>,
}

impl<T: Copy> Scores<T> {
    /// The value of `metric`, if it was requested.
    pub fn get(&self, metric: Metric) -> Option<T> {
        self.metrics
            .iter()
            .find(|(m, _)| *m == metric)
            .map(|&(_, v)| v)
    }
    /// The accuracy, if it was requested.
    pub fn accuracy(&self) -> Option<T> {
        self.get(Metric::Accuracy)
    }
    /// The value logged as `name` (`"loss"`, `"main_loss"`, `"side_accuracy"`, ...).
    pub fn named(&self, name: &str) -> Option<T> {
        self.named.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
    }
}

impl<T> core::ops::Index<usize> for Scores<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        if i == 0 {
            &self.loss
        } else {
            &self.metrics[i - 1].1
        }
    }
}

/// The index of the first NaN or infinity in `xs`. A large input is scanned in parts on the
/// worker pool: a fresh batch comes from memory, and a training step's workers, asleep since
/// the last step, wake during the scan instead of at the step's first hand-off (figures in
/// `BENCHMARKS.md`). Only from one of the pool's own threads (the main thread, normally): from
/// any other, the scan would be one more hand-off to the pool and back.
#[cfg(feature = "std")]
fn first_non_finite<T: Element>(xs: &[T]) -> Option<usize> {
    let on_pool = threads::pool().current_thread_index().is_some();
    if xs.len() < PARALLEL_SCAN || threads::thread_count() < 2 || !on_pool {
        return T::first_non_finite(xs);
    }
    threads::pool().install(|| {
        xs.par_chunks(PARALLEL_SCAN / 2)
            .enumerate()
            .find_map_first(|(c, chunk)| {
                T::first_non_finite(chunk).map(|i| c * PARALLEL_SCAN / 2 + i)
            })
    })
}

/// The fewest elements of an input that [`first_non_finite`] scans on the worker pool.
#[cfg(feature = "std")]
const PARALLEL_SCAN: usize = 1 << 16;

/// Checks inputs and targets before a data set is used: equal counts, finite values, labels
/// in range, for every output.
#[cfg(feature = "std")]
fn check_data<M: Model>(
    what: &'static str,
    x: &[M::Scalar],
    targets: &TargetSet<'_, M::Scalar>,
    losses: &dyn LossParts<M::Scalar>,
) -> Result<(), Error> {
    let input_size = M::Input::SIZE;
    let n = x.len() / input_size;
    let shapes = M::Output::part_shapes();
    if let Some(i) = first_non_finite(x) {
        return Err(Error::NonFinite {
            what,
            index: i / input_size,
            value: x[i].as_f64(),
        });
    }
    for (j, shape) in shapes.iter().enumerate().take(targets.outputs()) {
        let size: usize = shape.iter().product();
        let classes = shape.last().copied().unwrap_or(1);
        // Dense targets are shaped like the output, sparse ones are one label per sample.
        let (len, width) = match targets.part(j) {
            Targets::Dense(t) => (t.len(), size),
            Targets::Sparse(t) => (t.len(), 1),
        };
        if len != n * width {
            return Err(Error::LengthMismatch {
                what,
                inputs: n,
                targets: len / width,
            });
        }
        match targets.part(j) {
            Targets::Dense(t) => {
                if let Some(i) = <M::Scalar as Element>::first_non_finite(t) {
                    return Err(Error::NonFinite {
                        what,
                        index: i / size,
                        value: t[i].as_f64(),
                    });
                }
                let loss = losses.part(j);
                if let Some((low, high)) = loss.target_range() {
                    let outside = |v: &M::Scalar| !(low..=high).contains(&v.as_f64());
                    if let Some(i) = t.iter().position(outside) {
                        return Err(Error::TargetOutOfRange {
                            what,
                            loss: loss.name(),
                            index: i / size,
                            value: t[i].as_f64(),
                            low,
                            high,
                        });
                    }
                }
            }
            Targets::Sparse(labels) => {
                if let Some((index, &label)) =
                    labels.iter().enumerate().find(|(_, &l)| l >= classes)
                {
                    return Err(Error::LabelOutOfRange {
                        what,
                        index,
                        label,
                        classes,
                    });
                }
            }
        }
    }
    Ok(())
}

/// Checks `weights` as the loss weights of a model with `outputs` outputs.
pub(crate) fn check_loss_weights(weights: &[f64], outputs: usize) -> Result<(), Error> {
    if weights.len() != outputs {
        return Err(Error::InvalidConfig(format!(
            "loss_weights has {} weights, but the model has {outputs} outputs",
            weights.len()
        )));
    }
    if let Some(w) = weights.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
        return Err(Error::InvalidConfig(format!(
            "loss_weights must be finite and not negative, got {w}"
        )));
    }
    Ok(())
}

/// Where a model's inputs and outputs sit in their records.
/// `L`'s targets for `ys`, one set per output of `M` (one loss for every output gives targets
/// shaped like the outputs' tuple, cut here into each output's).
#[cfg(feature = "std")]
fn targets_of<M: Model, L: TakesTargets<Y, M::Scalar, M::Output>, Y>(
    ys: &[Y],
) -> TargetSet<'_, M::Scalar> {
    if M::Output::part_offsets().len() == 1 {
        return L::target_set(ys);
    }
    let sizes: Vec<usize> = M::Output::part_shapes()
        .iter()
        .map(|s| s.iter().product())
        .collect();
    L::target_set(ys).split(M::Output::SIZE, M::Output::part_offsets(), &sizes)
}

pub(crate) fn records<M: Model>() -> Records {
    Records::of::<M::Scalar, M::Input, M::Output>()
}

/// A neural network with fixed input and output shapes, as generated by `model!`.
///
/// `Model` is implemented by the macro; bring it into scope (it is in the prelude) to call the
/// provided methods.
pub trait Model: Sized + Send + Sync {
    /// The element type (`f32` unless asked otherwise).
    type Scalar: Float;
    /// One input sample: nested arrays, channels last.
    type Input: Tensor<Self::Scalar>;
    /// One output sample.
    type Output: Tensor<Self::Scalar>;
    /// Total weights (Keras's "Total params").
    const PARAMS: usize;
    /// The model's name in `summary()` (the struct's name in snake case).
    const NAME: &'static str;
    /// How the layers of [`Model::with_layers`] connect: a chain, or a graph with merges,
    /// shared layers and several inputs or outputs.
    const GRAPH: Graph;

    /// A model initialised as Keras would (Glorot-uniform kernels, zero biases, unless the
    /// chain says otherwise), deterministic for a seed.
    fn new(seed: u64) -> Self;
    /// Name, class and output shape of each layer, in order.
    fn layer_info() -> &'static [LayerInfo];
    /// The rows of `summary()` for a graph, with Keras's "Connected to" column; empty for a
    /// chain, whose rows are its layers.
    fn summary_rows() -> &'static [SummaryRow] {
        &[]
    }
    /// Calls `f` with the layers, in order.
    fn with_layers<R>(&self, f: impl FnOnce(&[&dyn Layer<Self::Scalar>]) -> R) -> R;
    /// The training state (random stream, buffers, loss weights).
    #[doc(hidden)]
    fn runtime(&self) -> &Runtime<Self::Scalar>;
    /// Calls `f` with the layers, writable, and the training state.
    fn with_layers_mut<R>(
        &mut self,
        f: impl FnOnce(&mut [&mut dyn Layer<Self::Scalar>], &mut Runtime<Self::Scalar>) -> R,
    ) -> R;

    /// Re-initialises every layer from `seed` (layer `i` draws from stream `i`, so changing
    /// one layer leaves the others' initial weights unchanged).
    fn initialize(&mut self, seed: u64) {
        // The macro's definition of each layer kind and the layer's type describe the same
        // weights; checked once per model built, in debug builds.
        #[cfg(debug_assertions)]
        self.with_layers(|layers| {
            for (info, layer) in Self::layer_info().iter().zip(layers) {
                assert!(
                    info.agrees_with(&layer.weight_specs()),
                    "layer `{}`: model! describes its weights as {:?}, its type as {:?}",
                    info.name,
                    info.weights,
                    layer.weight_specs()
                );
            }
        });
        self.with_layers_mut(|layers, runtime| {
            for (i, layer) in layers.iter_mut().enumerate() {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream(i as u64);
                layer.initialize(&mut rng);
            }
            let loss_weights = core::mem::take(&mut runtime.loss_weights);
            *runtime = Runtime::new(seed);
            runtime.loss_weights = loss_weights;
        });
    }

    /// The weight of each output's loss in the total that training minimises and that
    /// `train_step`, `fit` and `evaluate` report as `loss` (Keras's `loss_weights`, set when
    /// compiling; here by [`Fit::loss_weights`] or this method, and kept by the model).
    /// One finite, non-negative weight per output.
    fn set_loss_weights(&mut self, weights: impl IntoIterator<Item = f64>) -> Result<(), Error> {
        let weights: Vec<f64> = weights.into_iter().collect();
        check_loss_weights(&weights, Self::GRAPH.outputs.len())?;
        let scalars = weights.iter().map(|&w| Self::Scalar::of(w)).collect();
        self.with_layers_mut(|_, rt| rt.loss_weights = (weights, scalars));
        Ok(())
    }

    /// The weight of each output's loss (all 1 unless set).
    fn loss_weights(&self) -> Vec<f64> {
        let set = &self.runtime().loss_weights.0;
        (0..Self::GRAPH.outputs.len())
            .map(|j| set.get(j).copied().unwrap_or(1.0))
            .collect()
    }

    /// The output for one sample, in inference mode (dropout off). Runs on the calling thread.
    fn predict(&self, x: &Self::Input) -> Self::Output {
        let mut out = Self::Output::zeros();
        self.with_layers(|layers| {
            network::predict(
                &Self::GRAPH,
                &records::<Self>(),
                layers,
                x.as_flat(),
                out.as_flat_mut(),
            )
        });
        out
    }

    /// The outputs for many samples, split across threads above a few hundred samples.
    fn predict_batch(&self, xs: &[Self::Input]) -> Vec<Self::Output> {
        let mut outputs = vec![Self::Output::zeros(); xs.len()];
        let run = |(xs, out): (&[Self::Input], &mut [Self::Output])| {
            let flat_out = Self::Output::flatten_slice_mut(out);
            self.with_layers(|layers| {
                network::predict(
                    &Self::GRAPH,
                    &records::<Self>(),
                    layers,
                    Self::Input::flatten_slice(xs),
                    flat_out,
                )
            });
        };
        #[cfg(feature = "std")]
        {
            // One chunk per thread, but not so small that threads cost more than they save,
            // nor so large that its activations leave the cache (a convolution's patches).
            let cached = self.with_layers(|layers| network::cached_rows(&Self::GRAPH, layers));
            let chunk = xs
                .len()
                .div_ceil(threads::thread_count())
                .max(MIN_PARALLEL_CHUNK)
                .min(cached);
            if xs.len() > chunk {
                let (n, chunks) = (xs.len(), xs.len().div_ceil(chunk));
                let start = |c: usize| (c * chunk).min(n);
                threads::pool().install(|| {
                    threads::for_each_part_mut(0..chunks, &mut outputs, &start, &|c, out| {
                        run((&xs[start(c)..start(c + 1)], out))
                    })
                });
                return outputs;
            }
        }
        run((xs, &mut outputs));
        outputs
    }

    /// The most likely class of each sample from the (first) output: the argmax of several
    /// units (first on ties), or for one unit `1` where it is above 0.5 (a sigmoid's
    /// probability), else `0`.
    fn predict_classes(&self, xs: &[Self::Input]) -> Vec<usize> {
        let records = records::<Self>();
        let (offset, width) = (
            records.output_offsets[0],
            records.output_shapes[0].iter().product::<usize>(),
        );
        self.predict_batch(xs)
            .iter()
            .map(|y| {
                let y = &y.as_flat()[offset..offset + width];
                match y {
                    [p] => usize::from(*p > Self::Scalar::of(0.5)),
                    _ => crate::metrics::argmax(y),
                }
            })
            .collect()
    }

    /// All weights in Keras's `model.get_weights()` order, each array in C order, flattened.
    fn get_weights(&self) -> Vec<Self::Scalar> {
        self.with_layers(|layers| {
            layers
                .iter()
                .flat_map(|l| l.weights().iter().copied())
                .collect()
        })
    }

    /// Replaces all weights, in the order of [`Model::get_weights`]. A wrong length is an
    /// error and leaves the model unchanged.
    fn set_weights(&mut self, weights: &[Self::Scalar]) -> Result<(), Error> {
        let expected =
            self.with_layers(|layers| layers.iter().map(|l| l.weights().len()).sum::<usize>());
        if weights.len() != expected {
            return Err(Error::WeightCount {
                expected,
                actual: weights.len(),
            });
        }
        self.with_layers_mut(|layers, _| {
            let mut rest = weights;
            for layer in layers.iter_mut() {
                let w = layer.weights_mut();
                let (mine, tail) = rest.split_at(w.len());
                w.copy_from_slice(mine);
                rest = tail;
            }
        });
        Ok(())
    }

    /// Saves the weights as a safetensors file (one tensor per Keras weight, named
    /// `layer/weight`), atomically: a crash mid-save leaves any previous file intact.
    #[cfg(feature = "std")]
    fn save(&self, path: impl AsRef<std::path::Path>) -> Result<(), Error> {
        let state = crate::io::TrainingState::default();
        self.with_layers(|layers| {
            crate::io::save_layers(
                path.as_ref(),
                Self::NAME,
                Self::layer_info(),
                layers,
                &state,
            )
        })
    }

    /// A model with the weights of a file written by [`Model::save`] (or by the Keras
    /// export tool). Names, shapes and dtype are checked against this model; any mismatch is
    /// an error naming the first offending tensor.
    #[cfg(feature = "std")]
    fn load(path: impl AsRef<std::path::Path>) -> Result<Self, Error> {
        let mut model = Self::new(0);
        model.load_weights(path)?;
        Ok(model)
    }

    /// Replaces this model's weights with a file's, all or nothing.
    #[cfg(feature = "std")]
    fn load_weights(&mut self, path: impl AsRef<std::path::Path>) -> Result<(), Error> {
        self.with_layers_mut(|layers, _| {
            crate::io::load_layers(path.as_ref(), Self::layer_info(), layers)
        })
        .map(|_| ())
    }

    /// [`Model::load_weights`] from the bytes of a safetensors file (e.g. `include_bytes!`).
    #[cfg(feature = "std")]
    fn load_weights_from_bytes(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let origin = std::path::Path::new("<bytes>");
        self.with_layers_mut(|layers, _| {
            crate::io::load_layers_from_bytes(bytes, origin, Self::layer_info(), layers)
        })
        .map(|_| ())
    }

    /// The model as a Graphviz graph: a box per input, layer and merge with its name, class
    /// and input and output shapes (see [`crate::plot_model`] for an SVG).
    fn to_dot(&self) -> String {
        crate::diagram::dot(&crate::diagram::Outline {
            name: Self::NAME,
            input_shape: Self::Input::SHAPE,
            rows: Self::summary_rows(),
            layers: Self::layer_info(),
        })
    }

    /// The trainable weight count.
    fn trainable_params(&self) -> usize {
        self.with_layers(|layers| layers.iter().map(|l| l.trainable_len()).sum())
    }

    /// Keras's summary table: each layer with its output shape and weight count, then the
    /// totals split into trainable and non-trainable.
    fn summary(&self) -> String {
        if !Self::summary_rows().is_empty() {
            let counts: Vec<ParamCount> = self.with_layers(|layers| {
                layers
                    .iter()
                    .map(|l| ParamCount {
                        total: l.weights().len(),
                        trainable: l.trainable_len(),
                    })
                    .collect()
            });
            return summary::render_graph(
                Self::NAME,
                Self::summary_rows(),
                &counts,
                core::mem::size_of::<Self::Scalar>(),
            );
        }
        let rows: Vec<(LayerInfo, ParamCount)> = self.with_layers(|layers| {
            Self::layer_info()
                .iter()
                .zip(layers)
                .map(|(info, l)| {
                    (
                        *info,
                        ParamCount {
                            total: l.weights().len(),
                            trainable: l.trainable_len(),
                        },
                    )
                })
                .collect()
        });
        summary::render(Self::NAME, &rows, core::mem::size_of::<Self::Scalar>())
    }

    /// One optimizer step on a batch (training mode: dropout on); returns the loss of the
    /// forward pass that produced the gradients, with regularization penalties. A model with
    /// several outputs takes a tuple of losses and of targets and returns the total of the
    /// outputs' losses, weighted by [`Model::loss_weights`].
    ///
    /// # Panics
    /// On bad data or settings (see [`Model::try_train_step`] for an `Err` instead): no
    /// samples, `xs` and `ys` of different lengths, a non-finite value, a label out of range,
    /// a target outside its loss's range, a learning rate that is not positive and finite.
    #[cfg(feature = "std")]
    fn train_step<L, O, Y>(
        &mut self,
        optimizer: &mut O,
        loss: &L,
        xs: &[Self::Input],
        ys: &[Y],
    ) -> Self::Scalar
    where
        L: Loss<Self::Scalar, Self::Output> + TakesTargets<Y, Self::Scalar, Self::Output>,
        O: Optimizer<Self::Scalar>,
    {
        self.try_train_step(optimizer, loss, xs, ys)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Model::train_step`], with bad data or settings reported as an `Err` before any
    /// weight changes.
    #[cfg(feature = "std")]
    fn try_train_step<L, O, Y>(
        &mut self,
        optimizer: &mut O,
        loss: &L,
        xs: &[Self::Input],
        ys: &[Y],
    ) -> Result<Self::Scalar, Error>
    where
        L: Loss<Self::Scalar, Self::Output> + TakesTargets<Y, Self::Scalar, Self::Output>,
        O: Optimizer<Self::Scalar>,
    {
        let x = Self::Input::flatten_slice(xs);
        let targets = targets_of::<Self, L, Y>(ys);
        if xs.is_empty() {
            return Err(Error::NoSamples { what: "train_step" });
        }
        check_data::<Self>("train_step", x, &targets, loss)?;
        crate::optim::check_learning_rate(optimizer.learning_rate())?;
        let rows = TargetRows::all(&targets, xs.len());
        let weights = self.with_layers_mut(|_, rt| core::mem::take(&mut rt.loss_weights.1));
        let objective = Objective {
            losses: loss,
            weights: &weights,
        };
        let value = Trainee::step(self, optimizer, &objective, x, rows, &mut [], &mut []);
        self.with_layers_mut(|_, rt| rt.loss_weights.1 = weights);
        Ok(value)
    }

    /// Keras's `fit`: trains for `fit.epochs` epochs and returns the per-epoch history.
    ///
    /// Errors on mismatched lengths, non-finite data, out-of-range labels or invalid settings,
    /// before any weight changes.
    #[cfg(feature = "std")]
    fn fit<'f, L, O, V, Y: 'f>(
        &mut self,
        x: &[Self::Input],
        y: &[Y],
        mut fit: Fit<'f, L, O, V>,
    ) -> Result<History, Error>
    where
        L: Loss<Self::Scalar, Self::Output> + TakesTargets<Y, Self::Scalar, Self::Output>,
        O: Optimizer<Self::Scalar>,
        V: Validation<'f, Self::Input, Y>,
    {
        let flat_x = Self::Input::flatten_slice(x);
        let targets = targets_of::<Self, L, Y>(y);
        check_data::<Self>("fit", flat_x, &targets, &fit.loss)?;
        let validation = match fit.validation.data() {
            Some((vx, vy)) => {
                let (vx, vt) = (Self::Input::flatten_slice(vx), targets_of::<Self, L, Y>(vy));
                check_data::<Self>("validation data", vx, &vt, &fit.loss)?;
                Some((vx, vt))
            }
            None => None,
        };
        run_fit(
            self,
            FitData {
                x: flat_x,
                targets: &targets,
                validation: validation.as_ref().map(|(vx, vt)| (*vx, vt)),
            },
            &mut fit,
        )
    }

    /// Keras's `evaluate`: the loss and metrics over a data set in inference mode.
    ///
    /// # Panics
    /// On bad data (see [`Model::try_evaluate`] for an `Err` instead): no samples, mismatched
    /// lengths, non-finite values, labels out of range, targets outside their loss's range.
    #[cfg(feature = "std")]
    fn evaluate<L, Y>(
        &self,
        x: &[Self::Input],
        y: &[Y],
        loss: &L,
        metrics: impl IntoIterator<Item = Metric>,
    ) -> Scores<Self::Scalar>
    where
        L: Loss<Self::Scalar, Self::Output> + TakesTargets<Y, Self::Scalar, Self::Output>,
    {
        self.try_evaluate(x, y, loss, metrics)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Model::evaluate`], with bad data reported as an `Err`.
    #[cfg(feature = "std")]
    fn try_evaluate<L, Y>(
        &self,
        x: &[Self::Input],
        y: &[Y],
        loss: &L,
        metrics: impl IntoIterator<Item = Metric>,
    ) -> Result<Scores<Self::Scalar>, Error>
    where
        L: Loss<Self::Scalar, Self::Output> + TakesTargets<Y, Self::Scalar, Self::Output>,
    {
        let flat_x = Self::Input::flatten_slice(x);
        let targets = targets_of::<Self, L, Y>(y);
        if x.is_empty() {
            return Err(Error::NoSamples { what: "evaluate" });
        }
        check_data::<Self>("evaluate", flat_x, &targets, loss)?;
        let metrics: Vec<Metric> = metrics.into_iter().collect();
        let outputs = Self::GRAPH.outputs.len();
        let mut states: Vec<MetricState> = (0..outputs)
            .flat_map(|j| metrics.iter().map(move |&m| MetricState::on_output(m, j)))
            .collect();
        let mut losses = vec![0.0; outputs];
        let objective = Objective {
            losses: loss,
            weights: &self.runtime().loss_weights.1,
        };
        let rows = TargetRows::all(&targets, x.len());
        let value = self.evaluate_flat(&objective, flat_x, rows, &mut states, &mut losses);
        let names = Self::GRAPH.output_names;
        let mut named = vec![("loss".to_string(), value)];
        if outputs > 1 {
            for (name, &l) in names.iter().zip(&losses) {
                named.push((format!("{name}_loss"), Self::Scalar::of(l)));
            }
        }
        for s in &states {
            let key = if outputs > 1 {
                format!("{}_{}", names[s.output], s.metric.name())
            } else {
                s.metric.name().to_string()
            };
            named.push((key, Self::Scalar::of(s.value())));
        }
        Ok(Scores {
            loss: value,
            metrics: states
                .iter()
                .filter(|s| s.output == 0)
                .map(|s| (s.metric, Self::Scalar::of(s.value())))
                .collect(),
            named,
        })
    }
}

#[cfg(feature = "std")]
impl<M: Model> WeightAccess for M {
    fn weights_f64(&self) -> Vec<f64> {
        self.get_weights().iter().map(|w| w.as_f64()).collect()
    }
    fn save_to(&self, path: &std::path::Path) -> Result<(), Error> {
        self.save(path)
    }
    fn weight_paths(&self) -> Vec<(String, usize)> {
        self.with_layers(|layers| {
            M::layer_info()
                .iter()
                .zip(layers)
                .flat_map(|(info, layer)| {
                    layer.weight_specs().into_iter().map(move |spec| {
                        (
                            format!("{}/{}/{}", M::NAME, info.name, spec.name),
                            spec.len(),
                        )
                    })
                })
                .collect()
        })
    }
    fn set_weights_f64(&mut self, weights: &[f64]) -> Result<(), Error> {
        let w: Vec<M::Scalar> = weights.iter().map(|&v| M::Scalar::of(v)).collect();
        self.set_weights(&w)
    }
}

#[cfg(feature = "std")]
impl<M: Model> Trainee<M::Scalar> for M {
    fn input_size(&self) -> usize {
        M::Input::SIZE
    }
    fn input_shape(&self) -> &'static [usize] {
        M::Input::SHAPE
    }
    fn output_names(&self) -> &'static [&'static str] {
        M::GRAPH.output_names
    }
    fn step(
        &mut self,
        opt: &mut dyn Optimizer<M::Scalar>,
        objective: &Objective<'_, M::Scalar>,
        x: &[M::Scalar],
        t: TargetRows<'_, M::Scalar>,
        metrics: &mut [MetricState],
        losses: &mut [f64],
    ) -> M::Scalar {
        let records = records::<M>();
        self.with_layers_mut(|layers, rt| {
            let value = <M::Scalar as Passes>::train_step(
                &mut rt.workspace,
                &M::GRAPH,
                &records,
                layers,
                x,
                objective,
                t,
                opt,
                &mut rt.rng,
            );
            metrics.iter_mut().for_each(|m| {
                let j = m.output;
                m.update(rt.workspace.output(j), t.part(j), records.last_axis(j))
            });
            for (j, l) in losses.iter_mut().enumerate() {
                *l = rt.workspace.output_loss(j).as_f64();
            }
            value
        })
    }
    fn evaluate_flat(
        &self,
        objective: &Objective<'_, M::Scalar>,
        x: &[M::Scalar],
        t: TargetRows<'_, M::Scalar>,
        metrics: &mut [MetricState],
        losses: &mut [f64],
    ) -> M::Scalar {
        let records = records::<M>();
        let width = M::Input::SIZE;
        let n = x.len() / width;
        // Chunks small enough for their activations to stay in cache.
        let size = self
            .with_layers(|layers| network::cached_rows(&M::GRAPH, layers))
            .min(CHUNK);
        let outputs = M::GRAPH.outputs.len();
        // Each chunk: its loss and each output's times its size, and its own metric totals.
        let chunk = |c: usize, xc: &[M::Scalar], ws: &mut Workspace<M::Scalar>| {
            let rows = xc.len() / width;
            let tc = t.rows(c * size, c * size + rows);
            let value = self.with_layers(|layers| {
                <M::Scalar as Passes>::evaluate(ws, &M::GRAPH, &records, layers, xc, objective, tc)
            });
            let mut states: Vec<MetricState> = metrics
                .iter()
                .map(|m| MetricState::on_output(m.metric, m.output))
                .collect();
            states.iter_mut().for_each(|s| {
                let j = s.output;
                s.update(ws.output(j), tc.part(j), records.last_axis(j))
            });
            let parts: Vec<f64> = (0..outputs)
                .map(|j| ws.output_loss(j).as_f64() * rows as f64)
                .collect();
            (value.as_f64() * rows as f64, parts, states)
        };
        let parts: Vec<(f64, Vec<f64>, Vec<MetricState>)> = if n <= size {
            let mut ws = Workspace::new();
            x.chunks(size * width)
                .enumerate()
                .map(|(c, xc)| chunk(c, xc, &mut ws))
                .collect()
        } else {
            // A workspace per thread, kept across its chunks: a fresh one per chunk allocated
            // every activation buffer again, and the system zeroed each new page of them. Each
            // is taken out of its slot for the chunk, so that no lock is held while the layers
            // run (a layer that itself runs work on the pool may start another chunk here).
            let spaces: Vec<std::sync::Mutex<Option<Workspace<M::Scalar>>>> = (0
                ..threads::thread_count())
                .map(|_| Default::default())
                .collect();
            let slot = |s: usize| {
                spaces[s]
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            };
            threads::pool().install(|| {
                x.par_chunks(size * width)
                    .enumerate()
                    .map(|(c, xc)| {
                        let here = rayon::current_thread_index().unwrap_or(0) % spaces.len();
                        let mut ws = slot(here).take().unwrap_or_else(Workspace::new);
                        let result = chunk(c, xc, &mut ws);
                        *slot(here) = Some(ws);
                        result
                    })
                    .collect()
            })
        };
        let mut total = 0.0;
        losses.iter_mut().for_each(|l| *l = 0.0);
        for (weighted, output_losses, states) in &parts {
            total += weighted;
            losses
                .iter_mut()
                .zip(output_losses)
                .for_each(|(l, p)| *l += p / n.max(1) as f64);
            metrics.iter_mut().zip(states).for_each(|(m, s)| m.merge(s));
        }
        M::Scalar::of(total / n.max(1) as f64)
    }
    fn save_checkpoint(
        &self,
        path: &std::path::Path,
        state: &crate::io::TrainingState,
    ) -> Result<(), Error> {
        self.with_layers(|layers| {
            crate::io::save_layers(path, M::NAME, M::layer_info(), layers, state)
        })
    }
    fn load_checkpoint(
        &mut self,
        path: &std::path::Path,
    ) -> Result<crate::io::TrainingState, Error> {
        self.with_layers_mut(|layers, _| crate::io::load_layers(path, M::layer_info(), layers))
    }
    fn training_rng(&mut self) -> ChaCha8Rng {
        self.with_layers_mut(|_, rt| rt.rng.clone())
    }
    fn set_training_rng(&mut self, rng: ChaCha8Rng) {
        self.with_layers_mut(|_, rt| rt.rng = rng);
    }
    fn reseed(&mut self, seed: u64) {
        self.with_layers_mut(|_, rt| rt.rng = Runtime::<M::Scalar>::training_stream(seed));
    }
    fn set_loss_weights(&mut self, weights: &[f64]) -> Result<(), Error> {
        Model::set_loss_weights(self, weights.iter().copied())
    }
    fn loss_weights(&self) -> Vec<f64> {
        Model::loss_weights(self)
    }
    fn next_seed(&mut self) -> u64 {
        self.with_layers_mut(|_, rt| rt.rng.next_u64())
    }
}

/// Keras's `plot_model(model, to_file, show_shapes=True)`: writes `model`'s diagram to `path`
/// as SVG, atomically.
#[cfg(feature = "std")]
pub fn plot_model<M: Model>(
    model: &M,
    path: impl AsRef<std::path::Path>,
) -> Result<(), crate::Error> {
    let svg = crate::diagram::svg(&model.to_dot())?;
    crate::io::write_atomic(path.as_ref(), svg.as_bytes())
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::{first_non_finite, PARALLEL_SCAN};

    /// The scan in parts finds the first non-finite value, wherever the parts are cut, and
    /// not a later one that another thread finds first. Run on the pool, as from the main
    /// thread, which the pool adopts (a test's own thread is not one of the pool's).
    #[test]
    fn the_scan_in_parts_finds_the_first_non_finite_value() {
        crate::threads::pool().install(scan_in_parts_finds_the_first);
    }

    fn scan_in_parts_finds_the_first() {
        let len = 3 * PARALLEL_SCAN + 123;
        let clean = vec![0.25f32; len];
        assert_eq!(first_non_finite(&clean), None);
        let chunk = PARALLEL_SCAN / 2;
        for at in [0, chunk - 1, chunk, 3 * chunk + 7, len - 1] {
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                let mut xs = clean.clone();
                xs[at] = bad;
                // A later one too, in a later part where there is one.
                let later = at + (len - at) / 2;
                if later > at {
                    xs[later] = f32::NAN;
                }
                assert_eq!(first_non_finite(&xs), Some(at), "{bad} at {at}");
            }
        }
    }
}
