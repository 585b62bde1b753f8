//! The training step, the evaluation pass and the `fit` loop, compiled here for `f32` and
//! `f64`.
//!
//! [`Workspace`]'s passes are generic, and a generic function is compiled again in every crate
//! that calls it: each user crate (each example) would compile the whole forward, backward,
//! sharding, optimizer and `fit` machinery for its element type, and run it at that crate's
//! opt-level (a debug build's, even where the profile optimises the dependencies). Models call
//! these instead: plain functions of `f32` and `f64`, compiled once with this crate, as the
//! kernels are (`kernels/element.rs`).

use rand::RngCore;

use super::{Objective, Records, Workspace};
use crate::graph::Graph;
use crate::layers::Layer;
use crate::loss::{LossParts, TargetRows};
use crate::optim::Optimizer;
use crate::train::{fit_loop, FitData, FitSettings, History, Trainee};
use crate::{Error, Float};

/// The passes a model runs, for one element type. Implemented for `f32` and `f64` only (a
/// supertrait of the sealed `Float`).
#[doc(hidden)]
pub trait Passes: Sized {
    /// [`Workspace::train_step`] on a model's layers.
    #[allow(clippy::too_many_arguments)]
    fn train_step(
        workspace: &mut Workspace<Self>,
        graph: &Graph,
        records: &Records,
        layers: &mut [&mut dyn Layer<Self>],
        x: &[Self],
        objective: &Objective<'_, Self>,
        targets: TargetRows<'_, Self>,
        optimizer: &mut dyn Optimizer<Self>,
        rng: &mut dyn RngCore,
    ) -> Self
    where
        Self: Float;

    /// [`Workspace::evaluate`] on a model's layers.
    fn evaluate(
        workspace: &mut Workspace<Self>,
        graph: &Graph,
        records: &Records,
        layers: &[&dyn Layer<Self>],
        x: &[Self],
        objective: &Objective<'_, Self>,
        targets: TargetRows<'_, Self>,
    ) -> Self
    where
        Self: Float;

    /// Keras's `fit` loop (`train::fit_loop`). Its model is the crate's own `Trainee`, which
    /// no other crate can name, as no other crate can name this trait.
    #[allow(private_interfaces)]
    fn fit(
        model: &mut dyn Trainee<Self>,
        data: FitData<'_, Self>,
        loss: &dyn LossParts<Self>,
        optimizer: &mut dyn Optimizer<Self>,
        settings: &mut FitSettings<'_>,
    ) -> Result<History, Error>
    where
        Self: Float;
}

/// Implements [`Passes`] for a float type by calling the generic passes: the one place they
/// are instantiated for it.
macro_rules! impl_passes {
    ($t:ty) => {
        impl Passes for $t {
            fn train_step(
                workspace: &mut Workspace<$t>,
                graph: &Graph,
                records: &Records,
                layers: &mut [&mut dyn Layer<$t>],
                x: &[$t],
                objective: &Objective<'_, $t>,
                targets: TargetRows<'_, $t>,
                optimizer: &mut dyn Optimizer<$t>,
                rng: &mut dyn RngCore,
            ) -> $t {
                workspace.train_step(
                    graph, records, layers, x, objective, targets, optimizer, rng,
                )
            }

            fn evaluate(
                workspace: &mut Workspace<$t>,
                graph: &Graph,
                records: &Records,
                layers: &[&dyn Layer<$t>],
                x: &[$t],
                objective: &Objective<'_, $t>,
                targets: TargetRows<'_, $t>,
            ) -> $t {
                workspace.evaluate(graph, records, layers, x, objective, targets)
            }

            #[allow(private_interfaces)]
            fn fit(
                model: &mut dyn Trainee<$t>,
                data: FitData<'_, $t>,
                loss: &dyn LossParts<$t>,
                optimizer: &mut dyn Optimizer<$t>,
                settings: &mut FitSettings<'_>,
            ) -> Result<History, Error> {
                fit_loop(model, data, loss, optimizer, settings)
            }
        }
    };
}

impl_passes!(f32);
impl_passes!(f64);
