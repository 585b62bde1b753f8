use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::activation::{Softmax, Tanh};
use crate::graph::Node;
use crate::init::Initializer;
use crate::layers::Dense;
use crate::layers::Upstream;
use crate::loss::TargetRows;
use crate::loss::{SparseCategoricalCrossentropy, TakesTargets, TargetSet};
use crate::regularizer::Regularizer;

/// The graph and records of a chain of `layers` (leaked: tests only).
pub(crate) fn chain<T: Float>(layers: &[&dyn Layer<T>]) -> (Graph, Records) {
    let mut nodes = vec![Node {
        op: Op::Input,
        inputs: &[],
        size: layers[0].input_size(),
        slot: 0,
    }];
    for (i, l) in layers.iter().enumerate() {
        let inputs: &'static [usize] = Box::leak(vec![i].into_boxed_slice());
        nodes.push(Node {
            op: Op::Layer(i),
            inputs,
            size: l.output_size(),
            slot: (i + 1) % 2,
        });
    }
    let last = nodes.len() - 1;
    let out = nodes[last].size;
    let graph = Graph {
        nodes: Box::leak(nodes.into_boxed_slice()),
        inputs: &[0],
        outputs: Box::leak(vec![last].into_boxed_slice()),
        output_names: &["output"],
        slots: 2,
    };
    let shape: &'static [usize] = Box::leak(vec![out].into_boxed_slice());
    let records = Records {
        input_size: layers[0].input_size(),
        input_offsets: &[0],
        output_size: out,
        output_offsets: &[0],
        output_shapes: Box::leak(vec![shape].into_boxed_slice()),
    };
    (graph, records)
}

/// A 400-input tanh layer of 330 units, past `ROW_PARTS_MIN` (cut by rows, its update fused),
/// and a 3-way softmax on top, initialised from `rng`.
fn wide_pair(rng: &mut ChaCha8Rng) -> (Dense<f64, 400, 330, Tanh>, Dense<f64, 330, 3, Softmax>) {
    let mut a = Dense::new(Tanh, Initializer::GlorotUniform, Regularizer::NONE);
    let mut b = Dense::new(Softmax, Initializer::GlorotUniform, Regularizer::NONE);
    a.initialize(rng);
    b.initialize(rng);
    (a, b)
}

/// A 5-input tanh layer of `H` units and a 3-way softmax on top, initialised from `rng`.
fn dense_pair<const H: usize>(
    rng: &mut ChaCha8Rng,
) -> (Dense<f64, 5, H, Tanh>, Dense<f64, H, 3, Softmax>) {
    let mut a = Dense::new(Tanh, Initializer::GlorotUniform, Regularizer::NONE);
    let mut b = Dense::new(Softmax, Initializer::GlorotUniform, Regularizer::NONE);
    a.initialize(rng);
    b.initialize(rng);
    (a, b)
}

/// A weightless identity layer that records each backward call and whether it got `dx`.
struct Probe(std::sync::Mutex<Vec<bool>>);

impl Layer<f64> for Probe {
    fn input_size(&self) -> usize {
        5
    }
    fn output_size(&self) -> usize {
        5
    }
    fn forward(&self, x: &[f64], y: &mut [f64], _: &mut [f64], _: Mode<'_>) {
        y.copy_from_slice(x);
    }
    fn backward(
        &self,
        _: &[f64],
        _: &[f64],
        _: &mut [f64],
        upstream: Upstream<'_, f64>,
        dx: Option<&mut [f64]>,
        _: &mut [f64],
    ) {
        self.0.lock().unwrap().push(dx.is_some());
        if let Some(dx) = dx {
            dx.copy_from_slice(crate::layers::output_gradient(upstream));
        }
    }
}

/// Sparse labels `i % 3` for `rows` samples, as a target set.
fn labels(rows: usize) -> Vec<usize> {
    (0..rows).map(|i| i % 3).collect()
}

/// Sparse labels as the targets of a 3-class output.
fn target_set(labels: &[usize]) -> TargetSet<'_, f64> {
    <SparseCategoricalCrossentropy as TakesTargets<usize, f64, [f64; 3]>>::target_set(labels)
}

/// The tests' objective: sparse categorical cross-entropy, unweighted.
const OBJECTIVE: Objective<'static, f64> = Objective {
    losses: &SparseCategoricalCrossentropy,
    weights: &[],
};

fn gradients_of(layers: &[&dyn Layer<f64>], x: &[f64], labels: &[usize]) -> Workspace<f64> {
    let (graph, records) = chain(layers);
    let set = target_set(labels);
    let objective = OBJECTIVE;
    let mut ws = Workspace::new();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let targets = TargetRows::all(&set, labels.len());
    ws.gradients(
        &graph, &records, layers, x, &objective, targets, &mut rng, 1.0, None,
    );
    ws
}

#[test]
fn no_gradient_flows_below_the_first_trainable_layer() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let (below, between) = (Probe(Default::default()), Probe(Default::default()));
    let (a, b) = dense_pair::<5>(&mut rng);
    let x: Vec<f64> = (0..4 * 5).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let labels = [0, 1, 2, 0];
    let with_probes = gradients_of(&[&below, &a, &between, &b], &x, &labels).grads;
    let without = gradients_of(&[&a, &b], &x, &labels).grads;
    // The probe under `a` is never asked for a gradient, the one between passes it on.
    assert_eq!(*below.0.lock().unwrap(), Vec::<bool>::new());
    assert_eq!(*between.0.lock().unwrap(), vec![true]);
    assert!(with_probes[0].is_empty() && with_probes[2].is_empty());
    assert_eq!(with_probes[1], without[0]);
    assert_eq!(with_probes[3], without[1]);
    // A model with nothing to train runs no backward pass at all.
    let x5: Vec<f64> = x.iter().map(|v| v * 0.5).collect();
    let (graph, records) = chain::<f64>(&[&below]);
    let set = TargetSet::One(crate::loss::Targets::Dense(&x5));
    let objective = Objective {
        losses: &crate::loss::MeanSquaredError,
        weights: &[],
    };
    Workspace::new().gradients(
        &graph,
        &records,
        &[&below as &dyn Layer<f64>],
        &x,
        &objective,
        TargetRows::all(&set, 4),
        &mut rng,
        1.0,
        None,
    );
    assert_eq!(*below.0.lock().unwrap(), Vec::<bool>::new());
}

#[test]
fn a_reshape_is_read_through_and_still_runs_as_an_output() {
    use crate::layers::Flatten;
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let (a, b) = dense_pair::<4>(&mut rng);
    let (first, between) = (Flatten::<5>::new(), Flatten::<4>::new());
    let x: Vec<f64> = (0..6 * 5).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let labels = labels(6);
    // Flattens first and between the layers are not run; what reads them reads their input.
    let plain = gradients_of(&[&a, &b], &x, &labels);
    let reshaped = gradients_of(&[&first, &a, &between, &b], &x, &labels);
    assert_eq!(reshaped.grads[1], plain.grads[0]);
    assert_eq!(reshaped.grads[3], plain.grads[1]);
    assert_eq!(reshaped.output(0), plain.output(0));
    assert_eq!(reshaped.losses, plain.losses);
    let predicted = |layers: &[&dyn Layer<f64>]| {
        let (graph, records) = chain(layers);
        let mut out = vec![0.0; 6 * records.output_size];
        predict(&graph, &records, layers, &x, &mut out);
        out
    };
    let plain_out = predicted(&[&a, &b]);
    assert_eq!(predicted(&[&first, &a, &b]), plain_out);
    assert_eq!(predicted(&[&first, &first, &a, &b]), plain_out);
    // A reshape that is the model's output is run, in training and in inference.
    let alone: [&dyn Layer<f64>; 1] = [&first];
    let (graph, records) = chain(&alone);
    let set = TargetSet::One(crate::loss::Targets::Dense(&x));
    let objective = Objective {
        losses: &crate::loss::MeanSquaredError,
        weights: &[],
    };
    let mut ws = Workspace::new();
    let loss = ws.evaluate(
        &graph,
        &records,
        &alone,
        &x,
        &objective,
        TargetRows::all(&set, 6),
    );
    assert_eq!((ws.output(0), loss), (x.as_slice(), 0.0));
    assert_eq!(predicted(&alone), x);
    assert_eq!(predicted(&[&first, &first]), x);
    // Nor is one of several outputs skipped: each is scattered from its own slot.
    let two: [&dyn Layer<f64>; 2] = [&first, &a];
    let graph = Graph {
        nodes: &[
            Node {
                op: Op::Input,
                inputs: &[],
                size: 5,
                slot: 0,
            },
            Node {
                op: Op::Layer(0),
                inputs: &[0],
                size: 5,
                slot: 1,
            },
            Node {
                op: Op::Layer(1),
                inputs: &[0],
                size: 4,
                slot: 2,
            },
        ],
        inputs: &[0],
        outputs: &[1, 2],
        output_names: &["flat", "dense"],
        slots: 3,
    };
    let records = Records {
        input_size: 5,
        input_offsets: &[0],
        output_size: 9,
        output_offsets: &[0, 5],
        output_shapes: &[&[5], &[4]],
    };
    let mut out = vec![0.0; 6 * 9];
    predict(&graph, &records, &two, &x, &mut out);
    let hidden = predicted(&[&a]);
    for (r, row) in out.chunks_exact(9).enumerate() {
        assert_eq!(row[..5], x[r * 5..][..5]);
        assert_eq!(row[5..], hidden[r * 4..][..4]);
    }
}

#[test]
fn batches_split_per_thread_and_further_where_a_shard_would_outgrow_the_cache() {
    use crate::layers::Flatten;
    let threads = crate::threads::thread_count();
    fn count<const N: usize>(rows: usize) -> usize {
        // A one-layer model whose sample keeps `N` f32 activations (a weightless identity).
        let layers: [&dyn Layer<f32>; 1] = [&Flatten::<N>];
        let (graph, _) = chain(&layers);
        let mut needs = Vec::new();
        split::mark_needs(&graph, &layers, &mut needs);
        split::shard_count(&graph, &layers, &needs, rows)
    }
    // 1 KB a sample: one shard per thread, none below 32 samples.
    assert_eq!(count::<256>(128), threads.min(4));
    assert_eq!(count::<256>(20), 1);
    // 20 KB a sample: 1024 samples take 10 shards of 2 MiB, rounded up to a whole number per
    // thread.
    assert_eq!(count::<5_000>(1024), 10usize.div_ceil(threads) * threads);
    // 160 KB a sample: 128 samples would take 10, but no shard goes below 16 samples.
    assert_eq!(count::<40_000>(128), 8);
    assert_eq!(count::<40_000>(16), 1);
}

/// Splits a batch of `rows` into `shards` and checks the loss, the gradients and the outputs
/// against one pass over the whole batch (the outputs exactly unless the step cuts a layer by
/// rows).
fn assert_shards_add_up(layers: &[&dyn Layer<f64>], rows: usize, shards: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let (graph, records) = chain(layers);
    let x: Vec<f64> = (0..rows * layers[0].input_size())
        .map(|_| rng.gen_range(-1.0..1.0))
        .collect();
    let labels = labels(rows);
    let set = target_set(&labels);
    let targets = TargetRows::all(&set, rows);
    let objective = OBJECTIVE;

    let mut whole = Workspace::new();
    let value = whole.gradients(
        &graph,
        &records,
        layers,
        &x,
        &objective,
        targets,
        &mut rng.clone(),
        1.0,
        None,
    );
    let mut split = Workspace::new();
    for step in 0..2 {
        // The second step reuses the first one's buffers.
        let sharded = split.sharded_gradients(
            &graph,
            &records,
            layers,
            &x,
            &objective,
            targets,
            &mut rng.clone(),
            shards,
            false,
        );
        assert!(
            (value - sharded).abs() < 1e-12,
            "step {step}: {value} vs {sharded}"
        );
        assert!((split.output_loss(0) - value).abs() < 1e-12);
        assert_eq!(whole.grads.len(), split.grads.len());
        for (g, h) in whole
            .grads
            .iter()
            .flatten()
            .zip(split.grads.iter().flatten())
        {
            assert!((g - h).abs() < 1e-12, "step {step}: {g} vs {h}");
        }
        if crate::threads::thread_count() == 1 || split::row_split(&graph, layers).is_none() {
            assert_eq!(whole.output(0), split.output(0), "step {step}");
            continue;
        }
        // Cut by rows, a product sums its parts in another order: equal to rounding.
        assert_eq!(whole.output(0).len(), split.output(0).len());
        for (y, z) in whole.output(0).iter().zip(split.output(0)) {
            assert!((y - z).abs() < 1e-12, "step {step}: {y} vs {z}");
        }
    }
}

#[test]
fn sharded_gradients_equal_whole_batch_gradients() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (a, b) = dense_pair::<7>(&mut rng);
    assert_shards_add_up(&[&a, &b], 70, 3);
}

#[test]
fn steps_cut_by_rows_equal_whole_batch_gradients() {
    // 400 x 330 is past `ROW_PARTS_MIN`: with more than one thread the first `Dense`, behind a
    // `Flatten`, is cut by rows (`RowSplit`).
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let flatten = crate::layers::Flatten::<400>::new();
    let (a, b) = wide_pair(&mut rng);
    let layers: [&dyn Layer<f64>; 3] = [&flatten, &a, &b];
    let (graph, _) = chain(&layers);
    assert_eq!(
        split::row_split(&graph, &layers).map(|(node, l, _)| (node, l)),
        Some((2, 1)),
        "offered by the first layer, behind a reshape"
    );
    assert_shards_add_up(&layers, 70, 3);
    // Not cut where a layer other than a reshape lies below it.
    let tanh = crate::layers::ActivationLayer::<Tanh, 400, 400>::new(Tanh);
    let layers: [&dyn Layer<f64>; 3] = [&tanh, &a, &b];
    let (graph, _) = chain(&layers);
    assert!(split::row_split(&graph, &layers).is_none());
}

/// An optimizer that offers no element-wise step, so that every update goes through
/// `Optimizer::update` after the whole gradient.
struct Unfused(Box<dyn crate::optim::Optimizer<f64>>);

impl crate::optim::Optimizer<f64> for Unfused {
    fn update(&mut self, slot: usize, weights: &mut [f64], grads: &[f64]) {
        self.0.update(slot, weights, grads)
    }
    fn finish_step(&mut self) {
        self.0.finish_step()
    }
}

impl crate::optim::LearningRate for Unfused {
    fn learning_rate(&self) -> f64 {
        self.0.learning_rate()
    }
    fn set_learning_rate(&mut self, lr: f64) {
        self.0.set_learning_rate(lr)
    }
    fn iterations(&self) -> u64 {
        self.0.iterations()
    }
    fn set_iterations(&mut self, iterations: u64) {
        self.0.set_iterations(iterations)
    }
}

/// A first layer that takes the optimizer's step inside its weight gradient's product leaves
/// the same weights, to the bit, as the gradient followed by the optimizer's update: for
/// every optimizer, on a batch one thread takes whole and on one split into shards (cut by
/// rows where there are several threads).
#[test]
fn updates_fused_into_the_product_leave_the_same_weights() {
    use crate::optim::{Adagrad, Adam, Optimizer, RmsProp, Sgd};
    type Make = fn() -> Box<dyn Optimizer<f64>>;
    let optimizers: [Make; 5] = [
        || Box::new(Sgd::new(0.1)),
        || Box::new(Sgd::new(0.1).momentum(0.9).nesterov(true)),
        || Box::new(Adam::new(0.01).amsgrad(true)),
        || Box::new(RmsProp::new(0.01).centered(true).momentum(0.5)),
        || Box::new(Adagrad::new(0.1)),
    ];
    let run = |optimizer: &mut dyn Optimizer<f64>, rows: usize, steps: usize| {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let flatten = crate::layers::Flatten::<400>::new();
        let (mut a, mut b) = wide_pair(&mut rng);
        assert!(a.fuses_update() && !b.fuses_update());
        let x: Vec<f64> = (0..rows * 400).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let labels = labels(rows);
        let set = target_set(&labels);
        let objective = OBJECTIVE;
        let (graph, records) = chain::<f64>(&[&flatten, &a, &b]);
        let mut workspace = Workspace::new();
        let mut losses = Vec::new();
        {
            let mut layers: [&mut dyn Layer<f64>; 3] = [&mut { flatten }, &mut a, &mut b];
            for _ in 0..steps {
                // Where the update is fused, the first layer's kernel gradient is never
                // written: NaN here stays NaN (checked below).
                if let Some(grad) = workspace.grads.get_mut(1) {
                    grad.iter_mut().for_each(|g| *g = f64::NAN);
                }
                losses.push(workspace.train_step(
                    &graph,
                    &records,
                    &mut layers,
                    &x,
                    &objective,
                    TargetRows::all(&set, rows),
                    optimizer,
                    &mut rng,
                ));
            }
        }
        let untouched = workspace
            .grads
            .get(1)
            .is_some_and(|g| g[..400 * 330].iter().all(|g| g.is_nan()));
        (
            losses,
            a.weights().to_vec(),
            b.weights().to_vec(),
            untouched,
        )
    };
    // 40 samples are one shard; 96 are one per thread (one shard on one thread).
    for rows in [40, 96] {
        for (i, make) in optimizers.iter().enumerate() {
            assert!(make().elementwise_step(0, 4).is_some(), "optimizer {i}");
            let want = run(&mut Unfused(make()), rows, 3);
            let got = run(&mut *make(), rows, 3);
            assert_eq!(got.0, want.0, "optimizer {i}, {rows} rows: losses");
            assert!(got.1 == want.1, "optimizer {i}, {rows} rows: first layer");
            assert!(got.2 == want.2, "optimizer {i}, {rows} rows: second layer");
            // Without AVX2 + FMA the product goes to `matrixmultiply`, and the gradient is
            // stored before the rule runs: the same weights, nothing fused.
            let fuses = crate::kernels::Isa::detect() != crate::kernels::Isa::Portable;
            if rows == 40 && fuses {
                assert!(
                    got.3 && !want.3,
                    "optimizer {i}: the kernel gradient is not stored"
                );
            }
            let initial = run(&mut Unfused(make()), rows, 0);
            assert!(
                got.1 != initial.1,
                "optimizer {i}: the steps moved the weights"
            );
        }
    }
}

/// A split step run from one of the pool's own threads, where `threads::awake` keeps the
/// other threads spinning through it, leaves the same weights and loss, to the bit, as the
/// same step run from a thread outside the pool (where it does not); and it returns, so the
/// spinners stopped.
#[test]
fn a_step_with_the_pool_kept_awake_is_the_same_step() {
    let run = |on_pool: bool| {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let flatten = crate::layers::Flatten::<400>::new();
        let (mut a, mut b) = wide_pair(&mut rng);
        let rows = 96;
        let x: Vec<f64> = (0..rows * 400).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let labels = labels(rows);
        let set = target_set(&labels);
        let objective = OBJECTIVE;
        let (graph, records) = chain::<f64>(&[&flatten, &a, &b]);
        let mut sgd = crate::optim::Sgd::<f64>::new(0.1);
        let mut workspace = Workspace::new();
        let mut losses = Vec::new();
        {
            let mut layers: [&mut dyn Layer<f64>; 3] = [&mut { flatten }, &mut a, &mut b];
            for _ in 0..2 {
                let mut step = || {
                    workspace.train_step(
                        &graph,
                        &records,
                        &mut layers,
                        &x,
                        &objective,
                        TargetRows::all(&set, rows),
                        &mut sgd,
                        &mut rng,
                    )
                };
                losses.push(if on_pool {
                    crate::threads::pool().install(step)
                } else {
                    step()
                });
            }
        }
        (losses, a.weights().to_vec(), b.weights().to_vec())
    };
    // The test thread is not one of the pool's; inside `install` the step runs on one.
    assert!(crate::threads::pool().current_thread_index().is_none());
    let (outside, inside) = (run(false), run(true));
    assert_eq!(outside.0, inside.0);
    assert!(outside.1 == inside.1 && outside.2 == inside.2);
}
