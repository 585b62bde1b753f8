//! `train_step`, `fit` and `evaluate`: Keras's loop semantics, reproducibility, callbacks and
//! bad input.

use typed_nn::prelude::*;

model! {
    #[derive(Clone)]
    struct Xor { Input<2> => Dense<8, Tanh> => Dense<1, Sigmoid> }

    #[derive(Clone)]
    struct Blobs { Input<2> => Dense<16, Relu> => Dropout<0.25> => Dense<3, Softmax> }

    #[derive(Clone)]
    struct Plain { Input<2> => Dense<3, Softmax> }
}

const XOR_X: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
const XOR_Y: [[f32; 1]; 4] = [[0.0], [1.0], [1.0], [0.0]];

/// Three well separated clusters, deterministic.
fn blobs(n: usize) -> (Vec<[f32; 2]>, Vec<usize>) {
    let centres = [[-2.0f32, 0.0], [2.0, 0.0], [0.0, 2.5]];
    (0..n)
        .map(|i| {
            let c = i % 3;
            let jitter = |k: usize| (((i * 7919 + k * 104_729) % 1000) as f32 / 1000.0 - 0.5) * 1.2;
            ([centres[c][0] + jitter(1), centres[c][1] + jitter(2)], c)
        })
        .unzip()
}

fn quiet<'a, L, O>(fit: Fit<'a, L, O>) -> Fit<'a, L, O> {
    fit.verbose(0)
}

#[test]
fn a_two_layer_network_learns_xor() {
    let mut net = Xor::new(3);
    let history = net
        .fit(
            &XOR_X,
            &XOR_Y,
            quiet(
                Fit::new(BinaryCrossentropy, Adam::new(0.05))
                    .epochs(300)
                    .batch_size(4)
                    .seed(1),
            ),
        )
        .unwrap();
    assert_eq!(history.epochs(), 300);
    assert!(
        history.loss()[299] < 0.05 * history.loss()[0],
        "loss {:?}",
        &history.loss()[290..]
    );
    for (x, y) in XOR_X.iter().zip(XOR_Y) {
        assert_eq!(net.predict(x)[0] > 0.5, y[0] > 0.5);
    }
    let scores = net.evaluate(&XOR_X, &XOR_Y, &BinaryCrossentropy, [Metric::Accuracy]);
    assert_eq!(scores.accuracy(), Some(1.0));
    assert_eq!(scores[1], 1.0);
}

#[test]
fn fit_reports_keras_keys_and_validates_on_the_tail() {
    let (x, y) = blobs(300);
    let mut net = Blobs::new(1);
    let history = net
        .fit(
            &x,
            &y,
            quiet(Fit::new(SparseCategoricalCrossentropy, Adam::new(0.01)))
                .epochs(5)
                .batch_size(32)
                .validation_split(0.2)
                .metrics([Metric::Accuracy]),
        )
        .unwrap();
    let keys: Vec<&str> = history.keys().collect();
    assert_eq!(keys, ["accuracy", "loss", "val_accuracy", "val_loss"]);
    assert!(history.history.values().all(|v| v.len() == 5));
    assert!(history.last("val_accuracy").unwrap() > 0.95);
    // Validation is `evaluate` on the last 20% with the end-of-epoch weights.
    let tail = net.evaluate(
        &x[240..],
        &y[240..],
        &SparseCategoricalCrossentropy,
        [Metric::Accuracy],
    );
    assert!((history.last("val_loss").unwrap() - scores_loss(&tail)).abs() < 1e-6);
}

fn scores_loss(s: &Scores<f32>) -> f64 {
    s.loss as f64
}

#[test]
fn the_epoch_loss_is_the_batch_weighted_mean_of_pre_update_losses() {
    // With a learning rate too small to move the weights (0 is refused) every batch sees the
    // same weights, so the epoch loss must be the data set's mean loss even with a ragged last
    // batch (10 = 4 + 4 + 2).
    let (x, y) = blobs(10);
    let mut net = Plain::new(4);
    let history = net
        .fit(
            &x,
            &y,
            quiet(Fit::new(SparseCategoricalCrossentropy, Sgd::new(1e-30)))
                .batch_size(4)
                .shuffle(false),
        )
        .unwrap();
    let whole = net.evaluate(&x, &y, &SparseCategoricalCrossentropy, []);
    assert!((history.loss()[0] - whole.loss as f64).abs() < 1e-6);
}

#[test]
fn fit_is_reproducible_for_a_seed_and_dropout_draws_differ_between_steps() {
    let (x, y) = blobs(90);
    let run = |seed| {
        let mut net = Blobs::new(2);
        net.fit(
            &x,
            &y,
            quiet(Fit::new(SparseCategoricalCrossentropy, Adam::new(0.01)))
                .epochs(2)
                .seed(seed),
        )
        .unwrap();
        net.get_weights()
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5), run(6));

    let mut net = Blobs::new(2);
    let (mut a, mut b) = (net.clone(), net.clone());
    let l1 = net.train_step(&mut Sgd::new(1e-30), &SparseCategoricalCrossentropy, &x, &y);
    let l2 = net.train_step(&mut Sgd::new(1e-30), &SparseCategoricalCrossentropy, &x, &y);
    assert_ne!(l1, l2, "fresh dropout masks each step");
    let la = a.train_step(&mut Sgd::new(1e-30), &SparseCategoricalCrossentropy, &x, &y);
    let lb = b.train_step(&mut Sgd::new(1e-30), &SparseCategoricalCrossentropy, &x, &y);
    assert_eq!(la, lb, "same model, same state, same masks");
}

#[test]
fn bad_data_and_settings_are_errors_that_leave_the_model_unchanged() {
    let (x, mut y) = blobs(12);
    let mut net = Plain::new(1);
    let before = net.get_weights();
    let fit = || quiet(Fit::new(SparseCategoricalCrossentropy, Sgd::new(0.1)));

    let err = net.fit(&x, &y[..11], fit()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LengthMismatch {
                inputs: 12,
                targets: 11,
                ..
            }
        ),
        "{err}"
    );

    y[5] = 3;
    let err = net.fit(&x, &y, fit()).unwrap_err();
    assert!(
        err.to_string()
            .contains("label 3 at index 5 is out of range for 3 classes"),
        "{err}"
    );
    y[5] = 2;

    let mut bad_x = x.clone();
    bad_x[7][1] = f32::NAN;
    let err = net.fit(&bad_x, &y, fit()).unwrap_err();
    assert!(matches!(err, Error::NonFinite { index: 7, .. }), "{err}");

    assert!(matches!(
        net.fit(&x, &y, fit().batch_size(0)),
        Err(Error::InvalidConfig(_))
    ));
    assert!(matches!(
        net.fit(&x, &y, fit().validation_split(1.0)),
        Err(Error::InvalidConfig(_))
    ));
    let err = net
        .fit(&x, &y, fit().validation_data(&x[..2], &y[..3]))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::LengthMismatch {
                what: "validation data",
                ..
            }
        ),
        "{err}"
    );
    assert!(net
        .try_evaluate(&bad_x, &y, &SparseCategoricalCrossentropy, [])
        .is_err());
    assert_eq!(net.get_weights(), before);
}

/// Stops after `stop_after` epochs and halves the learning rate at every epoch start.
struct Halver {
    stop_after: usize,
    rates: Vec<f64>,
    ended: bool,
}

impl Callback for Halver {
    fn on_epoch_begin(&mut self, _epoch: usize, control: &mut Control<'_>) {
        let lr = control.learning_rate();
        self.rates.push(lr);
        control.set_learning_rate(lr / 2.0);
    }
    fn on_epoch_end(&mut self, epoch: usize, logs: &mut Logs, control: &mut Control<'_>) {
        logs.insert("custom".into(), epoch as f64);
        if epoch + 1 == self.stop_after {
            control.stop_training();
        }
    }
    fn on_train_end(&mut self, control: &mut Control<'_>) {
        self.ended = true;
        let w = control.weights();
        control.set_weights(&w).unwrap();
    }
}

#[test]
fn callbacks_can_change_the_learning_rate_add_logs_and_stop_training() {
    let (x, y) = blobs(30);
    let mut net = Plain::new(3);
    let mut cb = Halver {
        stop_after: 3,
        rates: vec![],
        ended: false,
    };
    let history = net
        .fit(
            &x,
            &y,
            quiet(Fit::new(SparseCategoricalCrossentropy, Sgd::new(0.8)))
                .epochs(10)
                .callback(&mut cb),
        )
        .unwrap();
    assert_eq!(history.epochs(), 3);
    assert_eq!(history.get("custom"), Some(&[0.0, 1.0, 2.0][..]));
    assert_eq!(cb.rates, [0.8, 0.4, 0.2]);
    assert!(cb.ended);
}

#[test]
fn evaluate_matches_the_mean_of_per_sample_losses_across_chunks() {
    // More samples than one chunk, so the parallel path and its weighting are exercised.
    let (x, y) = blobs(1000);
    let net = Plain::new(8);
    let all = net.evaluate(&x, &y, &SparseCategoricalCrossentropy, [Metric::Accuracy]);
    let mean: f64 = x
        .iter()
        .zip(&y)
        .map(|(xi, &yi)| {
            net.evaluate(&[*xi], &[yi], &SparseCategoricalCrossentropy, [])
                .loss as f64
        })
        .sum::<f64>()
        / 1000.0;
    assert!(
        (all.loss as f64 - mean).abs() < 1e-5,
        "{} vs {mean}",
        all.loss
    );
    let predicted = net.predict_batch(&x);
    let hits = predicted
        .iter()
        .zip(&y)
        .filter(|(p, &l)| typed_nn::metrics::argmax(&p[..]) == l)
        .count();
    assert_eq!(all.accuracy().unwrap(), hits as f32 / 1000.0);
}

#[test]
fn the_learning_rate_scheduler_sets_the_rate_before_each_epoch_and_logs_it() {
    let (x, y) = blobs(30);
    let mut net = Plain::new(3);
    let mut seen = Vec::new();
    let history = net
        .fit(
            &x,
            &y,
            quiet(Fit::new(SparseCategoricalCrossentropy, Sgd::new(0.5)))
                .epochs(3)
                .callback(LearningRateScheduler::new(|epoch, lr| {
                    seen.push(lr);
                    0.1 / (epoch + 1) as f64
                })),
        )
        .unwrap();
    assert_eq!(seen, [0.5, 0.1, 0.05]);
    assert_eq!(
        history.get("learning_rate"),
        Some(&[0.1, 0.05, 0.1 / 3.0][..])
    );
}

/// Records the weights at every epoch end.
struct Snapshots(Vec<Vec<f64>>);

impl Callback for Snapshots {
    fn on_epoch_end(&mut self, _epoch: usize, _logs: &mut Logs, control: &mut Control<'_>) {
        self.0.push(control.weights());
    }
}

#[test]
fn early_stopping_restores_the_best_epochs_weights_through_fit() {
    let (x, y) = blobs(60);
    let mut net = Blobs::new(4);
    let mut snapshots = Snapshots(Vec::new());
    let mut stopper = EarlyStopping::new().patience(3).restore_best_weights(true);
    // A large learning rate makes the validation loss jump around.
    let history = net
        .fit(
            &x,
            &y,
            quiet(Fit::new(SparseCategoricalCrossentropy, Sgd::new(3.0)))
                .epochs(12)
                .batch_size(8)
                .validation_split(0.3)
                .seed(2)
                .callback(&mut snapshots)
                .callback(&mut stopper),
        )
        .unwrap();
    let val = history.val_loss();
    let best = (0..val.len())
        .min_by(|&a, &b| val[a].total_cmp(&val[b]))
        .unwrap();
    assert_eq!(stopper.best_epoch(), Some(best));
    assert!(
        best + 1 < val.len(),
        "the run should go past its best epoch: {val:?}"
    );
    let restored: Vec<f64> = net.get_weights().iter().map(|&w| w as f64).collect();
    assert_eq!(restored, snapshots.0[best]);
}

/// Counts the epoch ends and notes the end of training.
#[derive(Default)]
struct Hooks {
    epoch_ends: usize,
    ended: bool,
}

impl Callback for Hooks {
    fn on_epoch_end(&mut self, _epoch: usize, _logs: &mut Logs, _control: &mut Control<'_>) {
        self.epoch_ends += 1;
    }
    fn on_train_end(&mut self, _control: &mut Control<'_>) {
        self.ended = true;
    }
}

#[test]
fn terminate_on_nan_closes_the_epoch_or_with_raise_error_fails_fit_at_once() {
    // Targets far beyond `f32`'s square root: the first batch's squared error is infinite.
    let (x, y) = (XOR_X.to_vec(), vec![[1e30f32]; 4]);
    let fit = || {
        quiet(Fit::new(MeanSquaredError, Sgd::new(0.1)))
            .epochs(3)
            .batch_size(2)
    };

    let (mut net, mut hooks) = (Xor::new(1), Hooks::default());
    let history = net
        .fit(
            &x,
            &y,
            fit().callback(TerminateOnNaN::new()).callback(&mut hooks),
        )
        .unwrap();
    assert_eq!(history.epochs(), 1);
    assert!(history.get("loss").unwrap()[0].is_infinite());
    assert_eq!((hooks.epoch_ends, hooks.ended), (1, true));

    // A callback after the failing one is not called for that batch: no save of the bad
    // weights.
    let (mut net, mut hooks) = (Xor::new(1), Hooks::default());
    let dir = std::env::temp_dir().join(format!("typed-nn-nan-{}", std::process::id()));
    let mut checkpoint =
        ModelCheckpoint::new(dir.join("b{batch}.safetensors").to_str().unwrap()).save_freq(1);
    let err = net
        .fit(
            &x,
            &y,
            fit()
                .callback(TerminateOnNaN::new().raise_error(true))
                .callback(&mut checkpoint)
                .callback(&mut hooks),
        )
        .unwrap_err();
    assert!(checkpoint.saved().is_empty() && !dir.exists());
    assert!(
        matches!(err, Error::InvalidLoss { epoch: 0, batch: 0, loss } if loss.is_infinite()),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "NaN or Inf loss encountered at epoch 1, batch 1 (counted from 1): loss inf"
    );
    assert_eq!((hooks.epoch_ends, hooks.ended), (0, false));
}

/// Fails as each epoch begins.
struct FailsAtEpochBegin(Hooks);

impl Callback for FailsAtEpochBegin {
    fn on_epoch_begin(&mut self, _epoch: usize, control: &mut Control<'_>) {
        control.fail(Error::InvalidConfig("no epochs today".into()));
    }
    fn on_train_end(&mut self, control: &mut Control<'_>) {
        self.0.on_train_end(control);
    }
}

#[test]
fn a_callback_failing_as_an_epoch_begins_stops_fit_before_any_batch() {
    let (x, y) = blobs(12);
    let mut net = Plain::new(1);
    let before = net.get_weights();
    let mut cb = FailsAtEpochBegin(Hooks::default());
    let err = net
        .fit(
            &x,
            &y,
            quiet(Fit::new(SparseCategoricalCrossentropy, Sgd::new(0.1)))
                .epochs(2)
                .callback(&mut cb),
        )
        .unwrap_err();
    assert!(err.to_string().contains("no epochs today"), "{err}");
    assert_eq!(net.get_weights(), before);
    assert!(cb.0.ended);
}

#[test]
fn model_checkpoint_saves_every_n_batches_through_fit() {
    let dir = std::env::temp_dir().join(format!("typed-nn-save-freq-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (x, y) = blobs(12);
    let mut net = Plain::new(1);
    let pattern = dir.join("ck-{epoch}-{batch}.safetensors");
    let mut checkpoint = ModelCheckpoint::new(pattern.to_str().unwrap()).save_freq(2);
    net.fit(
        &x,
        &y,
        quiet(Fit::new(SparseCategoricalCrossentropy, Sgd::new(0.1)))
            .epochs(2)
            .batch_size(4)
            .callback(&mut checkpoint),
    )
    .unwrap();
    // Three batches an epoch: the 2nd and 4th, then the 6th batch of the run.
    let names: Vec<_> = ["ck-1-2", "ck-2-1", "ck-2-3"]
        .map(|n| dir.join(format!("{n}.safetensors")))
        .into();
    assert_eq!(checkpoint.saved(), names);
    assert!(names.iter().all(|p| p.is_file()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failing_checkpoint_save_makes_fit_return_the_error() {
    let (x, y) = blobs(12);
    let mut net = Plain::new(1);
    let err = net
        .fit(
            &x,
            &y,
            quiet(Fit::new(SparseCategoricalCrossentropy, Sgd::new(0.1)))
                .epochs(3)
                .callback(ModelCheckpoint::new(
                    "/nonexistent-dir/ckpt-{epoch}.safetensors",
                )),
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("/nonexistent-dir/ckpt-1.safetensors"),
        "{err}"
    );
}
