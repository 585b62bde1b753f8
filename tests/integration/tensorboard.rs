//! The `TensorBoard` callback's event files, read back record by record (each record's CRCs
//! checked): Keras 3's layout and tags, and values equal to the history's.

use std::path::{Path, PathBuf};

use typed_nn::__private::{read_events, Event};
use typed_nn::prelude::*;

model! {
    struct Net { Input<4> => Dense<8, Relu> => Dense<3, Softmax> }
}

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "typed-nn-tensorboard-{}-{name}",
        std::process::id()
    ))
}

/// The events of the one event file in `dir`.
fn events(dir: &Path) -> Vec<Event> {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("events.out.tfevents.") && name.ends_with(".v2"),
        "{name}"
    );
    read_events(&files[0]).unwrap()
}

/// `(step, value)` of every scalar tagged `tag`.
fn scalars(events: &[Event], tag: &str) -> Vec<(i64, f64)> {
    events
        .iter()
        .flat_map(|e| {
            e.summary
                .iter()
                .flat_map(|s| &s.value)
                .filter(|v| v.tag == tag)
                .filter_map(|v| v.simple_value.map(|x| (e.step, x as f64)))
        })
        .collect()
}

#[test]
fn scalars_histograms_and_runs_as_keras_writes_them() {
    let dir = scratch("run");
    let x: Vec<[f32; 4]> = (0..60)
        .map(|i| std::array::from_fn(|j| ((i * 3 + j * 7) % 11) as f32 / 11.0 - 0.5))
        .collect();
    let y: Vec<usize> = x
        .iter()
        .map(|x| usize::from(x[0] > 0.0) + usize::from(x[1] > 0.2))
        .collect();
    let mut net = Net::new(1);
    let history = net
        .fit(
            &x,
            &y,
            Fit::new(SparseCategoricalCrossentropy, Adam::new(0.01))
                .epochs(3)
                .batch_size(16)
                .validation_split(0.25)
                .metrics([Metric::Accuracy])
                .verbose(0)
                .callback(TensorBoard::new(&dir).histogram_freq(2).update_freq(2)),
        )
        .unwrap();

    let train = events(&dir.join("train"));
    assert_eq!(train[0].file_version.as_deref(), Some("brain.Event:2"));
    let close = |got: &[(i64, f64)], want: &[f64]| {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (e, ((step, g), w)) in got.iter().zip(want).enumerate() {
            assert_eq!(*step, e as i64);
            assert!((g - w).abs() <= 1e-6 * w.abs().max(1.0), "{g} vs {w}");
        }
    };
    close(&scalars(&train, "epoch_loss"), history.get("loss").unwrap());
    close(
        &scalars(&train, "epoch_accuracy"),
        history.get("accuracy").unwrap(),
    );
    close(&scalars(&train, "epoch_learning_rate"), &[0.01; 3]);
    assert!(scalars(&train, "epoch_val_loss").is_empty());

    let validation = events(&dir.join("validation"));
    close(
        &scalars(&validation, "epoch_loss"),
        history.get("val_loss").unwrap(),
    );
    close(
        &scalars(&validation, "epoch_accuracy"),
        history.get("val_accuracy").unwrap(),
    );

    // Every second batch (45 samples, 3 batches an epoch: steps 2, 4, 6, 8).
    let steps: Vec<i64> = scalars(&train, "batch_loss").iter().map(|s| s.0).collect();
    assert_eq!(steps, [2, 4, 6, 8]);

    // Histograms of every weight at epochs 0 and 2.
    let histograms: Vec<(i64, String, f64)> = train
        .iter()
        .flat_map(|e| {
            e.summary
                .iter()
                .flat_map(|s| &s.value)
                .filter_map(move |v| v.histo.as_ref().map(|h| (e.step, v.tag.clone(), h.num)))
        })
        .collect();
    let tags: Vec<&str> = histograms
        .iter()
        .filter(|h| h.0 == 0)
        .map(|h| h.1.as_str())
        .collect();
    assert_eq!(
        tags,
        [
            "net/dense/kernel/histogram",
            "net/dense/bias/histogram",
            "net/dense_1/kernel/histogram",
            "net/dense_1/bias/histogram"
        ]
    );
    assert_eq!(histograms.iter().filter(|h| h.0 == 2).count(), 4);
    assert_eq!(histograms.iter().filter(|h| h.0 == 1).count(), 0);
    assert_eq!(histograms[0].2, 32.0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_unwritable_log_dir_stops_fit_with_an_error() {
    let blocker = scratch("blocker");
    std::fs::write(&blocker, b"a file, not a directory").unwrap();
    let x = vec![[0.5f32; 4]; 8];
    let y = vec![1usize; 8];
    let err = Net::new(1)
        .fit(
            &x,
            &y,
            Fit::new(SparseCategoricalCrossentropy, Adam::new(0.01))
                .verbose(0)
                .callback(TensorBoard::new(&blocker)),
        )
        .unwrap_err();
    assert!(err.to_string().contains("blocker"), "{err}");
    std::fs::remove_file(blocker).unwrap();
}
