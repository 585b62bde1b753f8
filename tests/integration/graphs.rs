//! The graph form of `model!` through the public API: the contract's examples, their types,
//! weight order and summary; training several outputs with loss weights, per-output logs,
//! validation, checkpoints and exact resume; saving and loading.

use std::path::PathBuf;

use typed_nn::prelude::*;

model! {
    #[derive(Clone)]
    pub struct Wide {
        let a = Input<10>;
        let b = Input<28>;
        let h = b => Dense<16, Relu> => Dense<8, Relu>;
        let c = Concatenate(a, h);                   // (18)
        let main = c => Dense<1, Sigmoid>;
        let side = h => Dense<1>;
        (main, side)
    }
    pub struct Residual {
        let x = Input<8>;
        let y = x => Dense<8, Relu> => Dense<8>;
        Add(x, y) => Relu => Dense<3, Softmax>
    }
    #[derive(Clone)]
    pub struct Siamese {
        let a = Input<6>;
        let b = Input<6>;
        let encode = Dense<4, Tanh>;                 // one layer, used twice
        Concatenate(a => encode, b => encode) => Dense<1, Sigmoid>
    }
    /// Shadowing, Keras's call syntax and a graph that is a chain.
    struct Shadowed {
        let x = Input<3, 4>;
        let x = x => Flatten;
        let dense = Dense<5, Relu>;
        let x = dense(x);
        x => Dropout<0.2> => Dense<2, Softmax>
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("typed-nn-graphs-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Inputs and targets for `Wide`: the main output says whether `a`'s mean is positive, the
/// side output regresses `b`'s mean.
#[allow(clippy::type_complexity)]
fn wide_data(n: usize) -> (Vec<([f32; 10], [f32; 28])>, Vec<([f32; 1], [f32; 1])>) {
    (0..n)
        .map(|i| {
            let a: [f32; 10] = std::array::from_fn(|j| (((i * 7 + j * 3) % 11) as f32 - 5.0) / 5.0);
            let b: [f32; 28] = std::array::from_fn(|j| (((i * 5 + j) % 13) as f32 - 6.0) / 6.0);
            let main = f32::from(a.iter().sum::<f32>() > 0.0);
            let side = b.iter().sum::<f32>() / 28.0;
            ((a, b), ([main], [side]))
        })
        .unzip()
}

#[test]
fn the_contract_graphs_have_tuple_inputs_and_outputs_and_keras_weights() {
    let _: <Wide as Model>::Input = ([0.0f32; 10], [0.0f32; 28]);
    let _: <Wide as Model>::Output = ([0.0f32; 1], [0.0f32; 1]);
    let _: <Residual as Model>::Input = [0.0f32; 8];
    let _: <Siamese as Model>::Input = ([0.0f32; 6], [0.0f32; 6]);
    assert_eq!(
        Wide::PARAMS,
        (28 * 16 + 16) + (16 * 8 + 8) + (18 + 1) + (8 + 1)
    );
    assert_eq!(Residual::PARAMS, 72 + 72 + 27);
    // The shared layer's weights once, first (it appears first in the source).
    assert_eq!(Siamese::PARAMS, (6 * 4 + 4) + (8 + 1));
    let mut siamese = Siamese::new(1);
    assert_eq!(siamese.get_weights().len(), Siamese::PARAMS);
    assert_eq!(&siamese.get_weights()[..28], siamese.dense.weights());
    // Swapping the two inputs swaps the halves the last layer sees, nothing else.
    let (a, b) = ([0.5f32; 6], [-0.25f32; 6]);
    let mut swapped = siamese.clone();
    let w = swapped.get_weights();
    let mut w2 = w.clone();
    w2[28..32].copy_from_slice(&w[32..36]);
    w2[32..36].copy_from_slice(&w[28..32]);
    swapped.set_weights(&w2).unwrap();
    let (p, q) = (siamese.predict(&(a, b)), swapped.predict(&(b, a)));
    assert!((p[0] - q[0]).abs() < 1e-6, "{p:?} vs {q:?}");
    assert!(siamese.set_weights(&w[1..]).is_err());
}

#[test]
fn predict_one_sample_batches_and_classes_agree() {
    let net = Wide::new(3);
    let (x, _) = wide_data(300);
    let batch = net.predict_batch(&x);
    for (x, y) in x.iter().zip(&batch) {
        let one = net.predict(x);
        assert!((one.0[0] - y.0[0]).abs() < 1e-6 && (one.1[0] - y.1[0]).abs() < 1e-6);
    }
    // Classes of the first output: a single sigmoid unit, thresholded at 0.5.
    let classes = net.predict_classes(&x);
    for (c, y) in classes.iter().zip(&batch) {
        assert_eq!(*c, usize::from(y.0[0] > 0.5));
    }
    let shadowed = Shadowed::new(1);
    let y = shadowed.predict(&[[0.5; 4]; 3]);
    assert!((y.iter().sum::<f32>() - 1.0).abs() < 1e-6);
}

#[test]
fn summary_has_keras_connected_to_column() {
    let summary = Wide::new(1).summary();
    for want in [
        "Connected to",
        "input_layer (InputLayer)",
        "input_layer_1 (InputLayer)",
        "concatenate (Concatenate)",
        "input_layer[0][0],",
        "dense_1[0][0]",
        "(None, 18)",
        "Total params: 628",
    ] {
        assert!(summary.contains(want), "{want:?} missing from\n{summary}");
    }
    // A shared layer is one row connected to both of its inputs.
    let summary = Siamese::new(1).summary();
    assert_eq!(summary.matches("dense (Dense)").count(), 1, "{summary}");
    assert!(summary.contains("input_layer_1[0][0]"), "{summary}");
    assert!(
        summary.contains("dense[0][0],") && summary.contains("dense[1][0]"),
        "{summary}"
    );
    // A chain keeps the Sequential table.
    assert!(!Shadowed::new(1).summary().contains("Connected to"));
}

#[test]
fn two_outputs_train_with_loss_weights_and_log_each_output() {
    let (x, y) = wide_data(400);
    let mut net = Wide::new(7);
    let losses = (BinaryCrossentropy, MeanSquaredError);
    let before = net.evaluate(&x, &y, &losses, [Metric::Accuracy]);
    let history = net
        .fit(
            &x,
            &y,
            Fit::new(losses, Adam::new(0.01))
                .epochs(8)
                .batch_size(32)
                .validation_split(0.2)
                .loss_weights([1.0, 0.2])
                .metrics([Metric::Accuracy])
                .seed(1)
                .verbose(0),
        )
        .unwrap();
    let mut keys: Vec<&str> = history.keys().collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "loss",
            "main_accuracy",
            "main_loss",
            "side_accuracy",
            "side_loss",
            "val_loss",
            "val_main_accuracy",
            "val_main_loss",
            "val_side_accuracy",
            "val_side_loss"
        ]
    );
    // `loss` is the weighted total of the outputs' unweighted losses.
    for e in 0..history.epochs() {
        let (main, side) = (
            history.get("main_loss").unwrap()[e],
            history.get("side_loss").unwrap()[e],
        );
        let total = history.get("loss").unwrap()[e];
        assert!(
            (total - (main + 0.2 * side)).abs() < 1e-5,
            "epoch {e}: {total} vs {main} + 0.2 * {side}"
        );
        let (main, side) = (
            history.get("val_main_loss").unwrap()[e],
            history.get("val_side_loss").unwrap()[e],
        );
        let total = history.get("val_loss").unwrap()[e];
        assert!((total - (main + 0.2 * side)).abs() < 1e-5);
    }
    let after = net.evaluate(&x, &y, &losses, [Metric::Accuracy]);
    assert!(after.named("main_loss").unwrap() < before.named("main_loss").unwrap());
    assert!(after.named("side_loss").unwrap() < before.named("side_loss").unwrap());
    assert!(
        after.named("main_accuracy").unwrap() > 0.8,
        "{:?}",
        after.named
    );
    // The model keeps the loss weights, as Keras compiles them in: evaluate weighs by them.
    assert_eq!(net.loss_weights(), [1.0, 0.2]);
    let sum = after.named("main_loss").unwrap() + 0.2 * after.named("side_loss").unwrap();
    assert!((after.loss - sum).abs() < 1e-6, "{} vs {sum}", after.loss);
    net.set_loss_weights([1.0, 1.0]).unwrap();
    let even = net.evaluate(&x, &y, &losses, []);
    let sum = even.named("main_loss").unwrap() + even.named("side_loss").unwrap();
    assert!((even.loss - sum).abs() < 1e-6);
    assert!(net.set_loss_weights([1.0, -1.0]).is_err());
    assert!(net.set_loss_weights([f64::NAN, 1.0]).is_err());
    // Loss weights must match the outputs.
    let err = net
        .fit(
            &x,
            &y,
            Fit::new(losses, Adam::new(0.01))
                .loss_weights([1.0])
                .verbose(0),
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("loss_weights has 1 weights, but the model has 2 outputs"),
        "{err}"
    );
}

#[test]
fn a_graph_saves_loads_and_resumes_exactly() {
    let dir = scratch("save");
    let path = dir.join("wide.safetensors");
    let net = Wide::new(5);
    net.save(&path).unwrap();
    let back = Wide::load(&path).unwrap();
    assert_eq!(back.get_weights(), net.get_weights());
    let siamese = dir.join("siamese.safetensors");
    Siamese::new(2).save(&siamese).unwrap();
    let bytes = std::fs::read(&siamese).unwrap();
    let header = String::from_utf8_lossy(&bytes[8..]);
    assert_eq!(header.matches("\"dense/kernel\"").count(), 1);

    let (x, y) = wide_data(96);
    let settings = |epochs| {
        Fit::new((BinaryCrossentropy, MeanSquaredError), Adam::new(0.01))
            .epochs(epochs)
            .batch_size(16)
            .loss_weights([1.0, 0.5])
            .seed(4)
            .verbose(0)
    };
    let mut whole = Wide::new(1);
    whole.fit(&x, &y, settings(4)).unwrap();
    let checkpoint = dir.join("ckpt.safetensors");
    let mut first = Wide::new(1);
    first
        .fit(&x, &y, settings(2).checkpoint(&checkpoint))
        .unwrap();
    let mut resumed = Wide::new(9);
    resumed
        .fit(&x, &y, settings(4).resume_from(&checkpoint))
        .unwrap();
    if std::env::var("TYPED_NN_THREADS").as_deref() == Ok("1")
        || typed_nn::__private::thread_count() == 1
    {
        assert_eq!(resumed.get_weights(), whole.get_weights());
    } else {
        for (a, b) in resumed.get_weights().iter().zip(whole.get_weights()) {
            assert!((a - b).abs() < 1e-4);
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}
