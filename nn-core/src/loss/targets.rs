//! What the training loop sees of a loss: flat batches of targets and the object-safe
//! computation of each output's loss. The items are public but this module is not, so that
//! users name and pass [`super::Loss`] while only this crate implements it.

#[allow(unused_imports)]
use crate::prelude::*;

use crate::activation::LogitsKind;
use crate::Float;

/// Keras's `backend.epsilon()`, used to clip probabilities.
pub const EPSILON: f64 = 1e-7;

/// A batch of targets as the loss code sees it.
#[derive(Clone, Copy, Debug)]
pub enum Targets<'a, T> {
    /// One value per output element (the output's own shape).
    Dense(&'a [T]),
    /// One class index per row of the output.
    Sparse(&'a [usize]),
}

impl<'a, T> Targets<'a, T> {
    /// The number of target rows, given the width of the output's last axis.
    pub fn rows(&self, last: usize) -> usize {
        match self {
            Targets::Dense(t) => t.len() / last.max(1),
            Targets::Sparse(t) => t.len(),
        }
    }

    /// The targets of samples `start..end` out of `n` samples.
    pub fn samples(&self, start: usize, end: usize, n: usize) -> Targets<'a, T> {
        match *self {
            Targets::Dense(t) => {
                let per = t.len() / n.max(1);
                Targets::Dense(&t[start * per..end * per])
            }
            Targets::Sparse(t) => Targets::Sparse(&t[start..end]),
        }
    }
}

/// What a forward pass kept of a softmax output besides its logits: each row's sum of
/// `exp(z - max)` (`sums`) and the probabilities themselves (`probs`, the layer's output), the
/// same bits a softmax cross-entropy computes from the logits. Empty where nothing was kept.
#[derive(Clone, Copy, Debug)]
pub struct KeptSoftmax<'a, T> {
    /// One sum per row.
    pub sums: &'a [T],
    /// The softmax output, as long as the logits.
    pub probs: &'a [T],
}

impl<T> KeptSoftmax<'_, T> {
    /// Nothing kept: the loss computes the softmax from the logits.
    pub const NONE: Self = KeptSoftmax {
        sums: &[],
        probs: &[],
    };
}

/// The computation of a loss on flat batches; object-safe so the training loop is written once.
pub trait LossFn<T: Float>: Sync {
    /// Keras's name (`"categorical_crossentropy"`, ...).
    fn name(&self) -> &'static str;

    /// The mean loss of a batch of predictions `pred` (rows of `last` elements). When `grad`
    /// is given, writes `d loss / d pred` into it.
    fn compute(
        &self,
        pred: &[T],
        targets: Targets<'_, T>,
        last: usize,
        grad: Option<&mut [T]>,
    ) -> T;

    /// The range every target must lie in, if the loss has one (binary cross-entropy's
    /// targets are probabilities: `[0, 1]`).
    fn target_range(&self) -> Option<(f64, f64)> {
        None
    }

    /// The same loss computed from logits, when this loss pairs with that output activation
    /// (Keras's shortcut); `grad` receives `d loss / d logits`. `None` otherwise. `kept` is
    /// what the forward pass kept of a softmax, if anything.
    fn compute_from_logits(
        &self,
        _kind: LogitsKind,
        _logits: &[T],
        _kept: KeptSoftmax<'_, T>,
        _targets: Targets<'_, T>,
        _last: usize,
        _grad: Option<&mut [T]>,
    ) -> Option<T> {
        None
    }
}

/// The loss of each output of a model: one loss, or a tuple of them. Object-safe, so that the
/// training loop is written once.
pub trait LossParts<T: Float>: Sync {
    /// The loss of output `i`, counting the model's outputs from 0.
    fn part(&self, i: usize) -> &dyn LossFn<T>;
}

/// Samples `start..end` of a [`TargetSet`] of `n` samples: the targets of one batch or shard.
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug)]
pub struct TargetRows<'a, T> {
    set: &'a TargetSet<'a, T>,
    start: usize,
    end: usize,
    n: usize,
}

#[cfg(feature = "std")]
impl<'a, T: Copy> TargetRows<'a, T> {
    /// All `n` samples of `set`.
    pub fn all(set: &'a TargetSet<'a, T>, n: usize) -> Self {
        Self {
            set,
            start: 0,
            end: n,
            n,
        }
    }

    /// The samples `start..end` of these (counted from the first of these).
    pub fn rows(&self, start: usize, end: usize) -> Self {
        Self {
            start: self.start + start,
            end: self.start + end,
            ..*self
        }
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// The number of outputs.
    pub fn outputs(&self) -> usize {
        self.set.outputs()
    }

    /// Output `i`'s targets for these samples.
    pub fn part(&self, i: usize) -> Targets<'a, T> {
        self.set.part(i).samples(self.start, self.end, self.n)
    }
}

/// Targets gathered into buffers of their own (one output's, out of a tuple of targets).
#[derive(Clone, Debug)]
pub enum OwnedTargets<T> {
    /// One value per output element.
    Dense(Vec<T>),
    /// One class index per row.
    Sparse(Vec<usize>),
}

impl<T: Copy> Targets<'_, T> {
    /// A copy in buffers of its own.
    pub fn to_owned(self) -> OwnedTargets<T> {
        match self {
            Targets::Dense(t) => OwnedTargets::Dense(t.to_vec()),
            Targets::Sparse(t) => OwnedTargets::Sparse(t.to_vec()),
        }
    }
}

impl<T> OwnedTargets<T> {
    /// A view of the buffers.
    pub fn view(&self) -> Targets<'_, T> {
        match self {
            OwnedTargets::Dense(t) => Targets::Dense(t),
            OwnedTargets::Sparse(t) => Targets::Sparse(t),
        }
    }
}

/// The targets of every output of a model, for a set of samples.
#[derive(Clone, Debug)]
pub enum TargetSet<'a, T> {
    /// A model with one output: the caller's targets, not copied.
    One(Targets<'a, T>),
    /// A model with several outputs: each output's targets, gathered out of the tuples.
    Many(Vec<OwnedTargets<T>>),
}

impl<T: Copy> TargetSet<'_, T> {
    /// Targets shaped like a tuple of outputs (one loss for every output) cut into each
    /// output's: `offsets` and `sizes` place each output in the `record`.
    pub fn split(self, record: usize, offsets: &[usize], sizes: &[usize]) -> Self {
        match self {
            TargetSet::One(Targets::Dense(t)) if offsets.len() > 1 => TargetSet::Many(
                offsets
                    .iter()
                    .zip(sizes)
                    .map(|(&offset, &size)| {
                        OwnedTargets::Dense(
                            t.chunks_exact(record)
                                .flat_map(|r| &r[offset..offset + size])
                                .copied()
                                .collect(),
                        )
                    })
                    .collect(),
            ),
            other => other,
        }
    }
}

impl<T> TargetSet<'_, T> {
    /// The number of outputs.
    pub fn outputs(&self) -> usize {
        match self {
            TargetSet::One(_) => 1,
            TargetSet::Many(parts) => parts.len(),
        }
    }

    /// The targets of output `i`.
    pub fn part(&self, i: usize) -> Targets<'_, T>
    where
        T: Copy,
    {
        match self {
            TargetSet::One(t) => {
                assert_eq!(i, 0, "a single set of targets has one output");
                *t
            }
            TargetSet::Many(parts) => parts[i].view(),
        }
    }
}
