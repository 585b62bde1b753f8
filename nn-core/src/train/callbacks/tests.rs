//! Decision logic of the built-in callbacks, driven with scripted logs as Keras's own tests
//! do, against the examples in Keras's documentation and source.

use std::path::{Path, PathBuf};

use super::*;
use crate::optim::{LearningRate, Sgd};
use crate::train::{Callback, Control, Logs, WeightAccess};
use crate::Error;

/// A stand-in model: its weights, and the paths it was saved to.
#[derive(Default)]
struct Fake {
    weights: Vec<f64>,
    saved: Vec<PathBuf>,
}

impl WeightAccess for Fake {
    fn weights_f64(&self) -> Vec<f64> {
        self.weights.clone()
    }
    fn set_weights_f64(&mut self, weights: &[f64]) -> Result<(), Error> {
        self.weights = weights.to_vec();
        Ok(())
    }
    fn save_to(&self, path: &Path) -> Result<(), Error> {
        let _ = path;
        Ok(())
    }
    fn weight_paths(&self) -> Vec<(String, usize)> {
        vec![("fake/layer/w".into(), self.weights.len())]
    }
}

/// A fresh `Control` over `model` and `opt`: not stopping, no error.
fn control<'a>(opt: &'a mut Sgd<f32>, model: &'a mut Fake) -> Control<'a> {
    Control {
        stop: false,
        error: None,
        optimizer: opt,
        model,
    }
}

/// Runs `cb` over epochs whose `key` takes `values`; the model's weight is the epoch index.
/// Returns the epochs run, the learning rates at each epoch end, and the final weight.
fn drive(
    cb: &mut dyn Callback,
    key: &str,
    values: &[f64],
) -> (usize, Vec<f64>, f64, Option<Error>) {
    let mut model = Fake {
        weights: vec![-1.0],
        saved: vec![],
    };
    let mut opt: Sgd<f32> = Sgd::new(1.0);
    let mut rates = Vec::new();
    let mut stop = false;
    let mut error = None;
    let run = |stop: &mut bool,
               error: &mut Option<Error>,
               model: &mut Fake,
               opt: &mut Sgd<f32>,
               f: &mut dyn FnMut(&mut Control<'_>)| {
        let mut c = Control {
            stop: *stop,
            error: None,
            optimizer: opt,
            model,
        };
        f(&mut c);
        *stop = c.stop;
        if c.error.is_some() {
            *error = c.error;
        }
    };
    run(&mut stop, &mut error, &mut model, &mut opt, &mut |c| {
        cb.on_train_begin(c)
    });
    let mut epochs = 0;
    for (epoch, &v) in values.iter().enumerate() {
        if stop {
            break;
        }
        model.weights = vec![epoch as f64];
        let mut logs = Logs::from([(key.to_string(), v)]);
        run(&mut stop, &mut error, &mut model, &mut opt, &mut |c| {
            cb.add_epoch_logs(epoch, &mut logs, c);
            cb.on_epoch_end(epoch, &mut logs, c)
        });
        rates.push(opt.learning_rate());
        epochs += 1;
    }
    run(&mut stop, &mut error, &mut model, &mut opt, &mut |c| {
        cb.on_train_end(c)
    });
    let _ = &model.saved;
    (epochs, rates, model.weights[0], error)
}

#[test]
fn early_stopping_counts_patience_like_keras() {
    // patience 0: stops at the first epoch that does not improve.
    let mut es = EarlyStopping::new();
    assert_eq!(drive(&mut es, "val_loss", &[1.0, 0.9, 0.95, 0.5]).0, 3);
    assert_eq!(es.stopped_epoch(), Some(2));
    // patience 2: after two non-improving epochs in a row; an improvement resets the count.
    let mut es = EarlyStopping::new().patience(2);
    assert_eq!(
        drive(&mut es, "val_loss", &[1.0, 1.1, 0.9, 1.0, 1.0, 0.1]).0,
        5
    );
    // min_delta: improvements smaller than it do not count.
    let mut es = EarlyStopping::new().patience(1).min_delta(0.1);
    assert_eq!(drive(&mut es, "val_loss", &[1.0, 0.95, 0.5]).0, 2);
    // accuracy is maximised in auto mode.
    let mut es = EarlyStopping::new().monitor("val_accuracy");
    assert_eq!(drive(&mut es, "val_accuracy", &[0.5, 0.6, 0.55, 0.9]).0, 3);
    // A baseline keeps counting while it is not beaten, even through improvements (but never
    // stops on an improving epoch): without it, epoch 2 would be only the first miss.
    let mut es = EarlyStopping::new().patience(2).baseline(0.5);
    assert_eq!(drive(&mut es, "val_loss", &[0.9, 0.8, 0.85, 0.7]).0, 3);
    let mut es = EarlyStopping::new().patience(2);
    assert_eq!(drive(&mut es, "val_loss", &[0.9, 0.8, 0.85, 0.7]).0, 4);
    // start_from_epoch ignores the early epochs.
    let mut es = EarlyStopping::new().start_from_epoch(2);
    assert_eq!(drive(&mut es, "val_loss", &[1.0, 2.0, 3.0, 4.0, 5.0]).0, 4);
    // A missing key is skipped, not fatal.
    let mut es = EarlyStopping::new();
    assert_eq!(drive(&mut es, "loss", &[1.0, 2.0, 3.0]).0, 3);
}

#[test]
fn restore_best_weights_applies_when_stopping_and_at_the_last_epoch() {
    let mut es = EarlyStopping::new().patience(1).restore_best_weights(true);
    let (epochs, _, weight, _) = drive(&mut es, "val_loss", &[1.0, 0.5, 0.7, 0.8]);
    assert_eq!((epochs, weight), (3, 1.0), "weights of epoch 1 restored");
    let mut es = EarlyStopping::new().patience(5).restore_best_weights(true);
    let (epochs, _, weight, _) = drive(&mut es, "val_loss", &[1.0, 0.2, 0.7]);
    assert_eq!(
        (epochs, weight),
        (3, 1.0),
        "restored although training ran to the end"
    );
    assert_eq!(es.best_epoch(), Some(1));
}

#[test]
fn reduce_lr_on_plateau_follows_keras_schedules() {
    let flat = [1.0; 8];
    // The epochs (from 0) whose end lowered the rate.
    let reductions = |cb: &mut ReduceLROnPlateau| {
        let (_, rates, _, _) = drive(cb, "val_loss", &flat);
        (0..rates.len())
            .filter(|&i| rates[i] < if i == 0 { 1.0 } else { rates[i - 1] })
            .collect::<Vec<_>>()
    };
    // Epoch 0 sets the best; with patience 2 a flat metric reduces at epochs 2, 4, 6.
    assert_eq!(
        reductions(&mut ReduceLROnPlateau::new().patience(2).factor(0.5)),
        [2, 4, 6]
    );
    assert_eq!(
        reductions(&mut ReduceLROnPlateau::new().patience(1).cooldown(2).factor(0.5)),
        [1, 3, 5, 7]
    );
    // min_lr bounds the rate.
    let mut floor = ReduceLROnPlateau::new()
        .patience(1)
        .factor(0.1)
        .min_lr(0.05);
    let (_, rates, _, _) = drive(&mut floor, "val_loss", &flat);
    assert!((rates.last().unwrap() - 0.05).abs() < 1e-12);
    // factor >= 1 is an error.
    let (_, _, _, err) = drive(&mut ReduceLROnPlateau::new().factor(1.5), "val_loss", &flat);
    assert!(matches!(err, Some(Error::InvalidConfig(_))));
}

#[test]
fn model_checkpoint_saves_best_only_on_strict_improvement() {
    let mut mc = ModelCheckpoint::new("ckpt-{epoch}.safetensors").save_best_only(true);
    drive(&mut mc, "val_loss", &[1.0, 0.8, 0.9, 0.7, 0.7]);
    let saved: Vec<String> = mc.saved().iter().map(|p| p.display().to_string()).collect();
    assert_eq!(
        saved,
        [
            "ckpt-1.safetensors",
            "ckpt-2.safetensors",
            "ckpt-4.safetensors"
        ]
    );
    let mut every = ModelCheckpoint::new("w-{epoch:03d}.safetensors");
    drive(&mut every, "val_loss", &[1.0, 2.0]);
    assert_eq!(
        every.saved(),
        [
            PathBuf::from("w-001.safetensors"),
            PathBuf::from("w-002.safetensors")
        ]
    );
    let mut threshold = ModelCheckpoint::new("t.safetensors")
        .save_best_only(true)
        .initial_value_threshold(0.85);
    drive(&mut threshold, "val_loss", &[1.0, 0.8, 0.9]);
    assert_eq!(threshold.saved().len(), 1);
}

#[test]
fn model_checkpoint_with_save_freq_counts_batches_across_epochs_like_keras() {
    let mut model = Fake::default();
    let mut opt: Sgd<f32> = Sgd::new(0.1);
    let mut c = control(&mut opt, &mut model);
    // `save_best_only` with a monitor a batch's logs lack saves, as in Keras.
    let mut cb = ModelCheckpoint::new("ck-{epoch}-{batch:03}.safetensors")
        .save_freq(3)
        .save_best_only(true);
    cb.on_train_begin(&mut c);
    let logs = Logs::from([("loss".to_string(), 0.5)]);
    for epoch in 0..2 {
        cb.on_epoch_begin(epoch, &mut c);
        for batch in 0..4 {
            cb.on_train_batch_end(batch, &logs, &mut c);
        }
        cb.on_epoch_end(epoch, &mut logs.clone(), &mut c);
    }
    assert!(c.error.is_none());
    // Batches 1-3 of epoch 1, then batch 4 and batches 1-2 of epoch 2.
    assert_eq!(
        cb.saved(),
        [
            PathBuf::from("ck-1-003.safetensors"),
            PathBuf::from("ck-2-002.safetensors")
        ]
    );
}

#[test]
fn model_checkpoint_refuses_no_batches_and_a_batch_field_without_batch_saves() {
    for (cb, problem) in [
        (
            ModelCheckpoint::new("a.safetensors").save_freq(0),
            "save_freq must be at least one batch",
        ),
        (
            ModelCheckpoint::new("b-{batch}.safetensors"),
            "the path names {batch}",
        ),
    ] {
        let mut cb = cb;
        let (epochs, _, _, error) = drive(&mut cb, "val_loss", &[1.0, 0.5]);
        let error = error.expect("an error").to_string();
        assert!(error.contains(problem), "{error}");
        assert_eq!((epochs, cb.saved().len()), (0, 0));
    }
}

#[test]
fn terminate_on_nan_stops_on_a_non_finite_running_loss() {
    let mut t = TerminateOnNaN::new();
    let mut model = Fake::default();
    let mut opt: Sgd<f32> = Sgd::new(0.1);
    let mut c = control(&mut opt, &mut model);
    t.on_train_batch_end(0, &Logs::from([("loss".to_string(), 0.5)]), &mut c);
    assert!(!c.is_stopping());
    t.on_train_batch_end(
        1,
        &Logs::from([("loss".to_string(), f64::INFINITY)]),
        &mut c,
    );
    assert!(c.is_stopping());
    assert!(c.error.is_none());
    // The bare value, the unit struct it once was, is the default callback.
    let bare: TerminateOnNaN = TerminateOnNaN;
    assert_eq!(format!("{bare:?}"), format!("{:?}", TerminateOnNaN::new()));
}

#[test]
fn terminate_on_nan_with_raise_error_fails_naming_the_epoch_and_batch() {
    let mut t = TerminateOnNaN::new().raise_error(true);
    let mut model = Fake::default();
    let mut opt: Sgd<f32> = Sgd::new(0.1);
    let mut c = control(&mut opt, &mut model);
    t.on_epoch_begin(2, &mut c);
    t.on_train_batch_end(0, &Logs::from([("loss".to_string(), 0.5)]), &mut c);
    assert!(!c.is_stopping() && c.error.is_none());
    t.on_train_batch_end(4, &Logs::from([("loss".to_string(), f64::NAN)]), &mut c);
    assert!(c.is_stopping());
    let error = c.error.take().expect("an error");
    assert!(
        matches!(error, Error::InvalidLoss { epoch: 2, batch: 4, loss } if loss.is_nan()),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "NaN or Inf loss encountered at epoch 3, batch 5 (counted from 1): loss NaN"
    );
}

#[test]
fn csv_logger_fixes_columns_at_the_first_epoch_and_fills_na() {
    let path = std::env::temp_dir().join(format!("typed-nn-csv-{}.csv", std::process::id()));
    let mut log = CsvLogger::new(&path);
    let mut model = Fake::default();
    let mut opt: Sgd<f32> = Sgd::new(0.1);
    let mut c = control(&mut opt, &mut model);
    log.on_train_begin(&mut c);
    let mut first = Logs::from([("loss".to_string(), 0.5), ("mae".to_string(), 0.25)]);
    log.on_epoch_end(0, &mut first, &mut c);
    let mut second = Logs::from([
        ("loss".to_string(), 0.4),
        ("mae".to_string(), 0.2),
        ("val_loss".to_string(), 0.3),
    ]);
    log.on_epoch_end(1, &mut second, &mut c);
    log.on_train_end(&mut c);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        "epoch,loss,mae,val_loss,val_mae\n0,0.5,0.25,NA,NA\n1,0.4,0.2,0.3,NA\n"
    );
    std::fs::remove_file(path).unwrap();
}

#[test]
fn verbose_callbacks_say_what_keras_says() {
    assert_eq!(
        early_stopping::stopped_message(3),
        "Epoch 4: early stopping"
    );
    assert_eq!(
        early_stopping::restoring_message(1),
        "Restoring model weights from the end of the best epoch: 2."
    );
    assert_eq!(
        reduce_lr::reducing_message(2, 0.010000000149011612),
        "Epoch 3: ReduceLROnPlateau reducing learning rate to 0.010000000149011612."
    );
    let path = Path::new("ckpt-01.safetensors");
    assert_eq!(
        model_checkpoint::saving_message(0, "val_loss", Some((f64::INFINITY, 0.5)), path),
        "Epoch 1: val_loss improved from inf to 0.50000, saving model to ckpt-01.safetensors"
    );
    assert_eq!(
        model_checkpoint::saving_message(4, "val_loss", None, path),
        "Epoch 5: saving model to ckpt-01.safetensors"
    );
    assert_eq!(
        model_checkpoint::not_improved_message(2, "val_accuracy", 0.875),
        "Epoch 3: val_accuracy did not improve from 0.87500"
    );
}

#[test]
fn verbose_changes_no_decision() {
    let values = [1.0, 0.8, 0.9, 0.7, 0.7, 0.75, 0.9];
    let (quiet, loud) = (
        drive(&mut EarlyStopping::new().patience(2), "val_loss", &values),
        drive(
            &mut EarlyStopping::new().patience(2).verbose(1),
            "val_loss",
            &values,
        ),
    );
    assert_eq!((quiet.0, quiet.1), (loud.0, loud.1));
    let flat = [1.0; 6];
    let quiet = drive(&mut ReduceLROnPlateau::new().patience(2), "val_loss", &flat);
    let loud = drive(
        &mut ReduceLROnPlateau::new().patience(2).verbose(1),
        "val_loss",
        &flat,
    );
    assert_eq!(quiet.1, loud.1);
    let mut checkpoint = ModelCheckpoint::new("v.safetensors")
        .save_best_only(true)
        .verbose(1);
    drive(&mut checkpoint, "val_loss", &[1.0, 0.8, 0.9, 0.7, 0.7]);
    assert_eq!(checkpoint.saved().len(), 3);
}
