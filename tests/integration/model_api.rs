//! The generated type's contract: constants, construction, prediction, weights and summary.

use typed_nn::prelude::*;

model! {
    /// The README's MNIST model.
    #[derive(Clone, Debug)]
    pub struct Mnist {
        Input<28, 28> => Flatten => Dense<300, Relu> => Dropout<0.5> => Dense<10, Softmax>
    }

    /// LeCun's 300-100 network.
    pub struct Lecun300 { Input<28, 28> => Flatten => Dense<300, Relu> => Dense<100, Relu> => Dense<10, Softmax> }

    /// A wide single hidden layer.
    struct Wide512 { Input<784> => Dense<512, Relu> => Dropout<0.2> => Dense<10, Softmax> }

    /// Every activation as a layer and inside Dense, with options.
    struct Everything {
        Input<2, 3> => Flatten => Dense<8, Tanh, init = HeNormal, l2 = 0.01> => LeakyRelu<0.1>
            => Dense<6, Elu<0.5>, init = LecunNormal, l1 = 0.001> => Relu => Dense<5, Sigmoid, init = HeUniform>
            => Elu => Dense<4, LeakyRelu, init = GlorotNormal> => Linear => Sigmoid => Tanh
            => Dense<3, init = Zeros> => Softmax
    }
}

fn image(seed: u32) -> [[f32; 28]; 28] {
    let mut x = [[0.0f32; 28]; 28];
    for (i, v) in x.as_flattened_mut().iter_mut().enumerate() {
        *v = ((i as u32).wrapping_mul(2_654_435_761) ^ seed) as f32 % 1000.0 / 1000.0;
    }
    x
}

#[test]
fn params_match_keras_totals() {
    assert_eq!(Mnist::PARAMS, 238_510);
    assert_eq!(Lecun300::PARAMS, 266_610);
    assert_eq!(Wide512::PARAMS, 407_050);
    assert_eq!(<Mnist as Model>::PARAMS, 238_510);
    assert_eq!(Mnist::new(0).get_weights().len(), 238_510);
    assert_eq!(
        Everything::PARAMS,
        6 * 8 + 8 + 8 * 6 + 6 + 6 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3
    );
}

#[test]
fn new_is_deterministic_for_a_seed_and_follows_keras_defaults() {
    let a = Mnist::new(7);
    assert_eq!(a.get_weights(), Mnist::new(7).get_weights());
    assert_ne!(a.get_weights(), Mnist::new(8).get_weights());
    // Glorot-uniform kernel within sqrt(6 / (784 + 300)), zero bias.
    let limit = (6.0f32 / (784.0 + 300.0)).sqrt();
    let kernel = a.dense.kernel();
    assert!(kernel.iter().all(|w| w.abs() <= limit));
    let mean_abs = kernel.iter().map(|w| w.abs()).sum::<f32>() / kernel.len() as f32;
    assert!(
        (mean_abs / (limit / 2.0) - 1.0).abs() < 0.02,
        "uniform mean |w| {mean_abs}"
    );
    assert!(a.dense.bias().iter().all(|&b| b == 0.0));
    // Zeros initializer honoured.
    let e = Everything::new(1);
    assert!(e.dense_4.kernel().iter().all(|&w| w == 0.0));
}

#[test]
fn weights_are_in_keras_order_and_predict_uses_them() {
    let mut net = Mnist::new(1);
    let w: Vec<f32> = (0..Mnist::PARAMS)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 2000.0)
        .collect();
    net.set_weights(&w).unwrap();
    assert_eq!(net.get_weights(), w);
    // Keras order: kernel (784, 300), bias (300), kernel (300, 10), bias (10).
    let (k1, rest) = w.split_at(784 * 300);
    let (b1, rest) = rest.split_at(300);
    let (k2, b2) = rest.split_at(300 * 10);
    let x = image(3);
    let flat = x.as_flattened();
    let hidden: Vec<f64> = (0..300)
        .map(|o| {
            (b1[o] as f64
                + (0..784)
                    .map(|i| flat[i] as f64 * k1[i * 300 + o] as f64)
                    .sum::<f64>())
            .max(0.0)
        })
        .collect();
    let logits: Vec<f64> = (0..10)
        .map(|o| {
            b2[o] as f64
                + (0..300)
                    .map(|i| hidden[i] * k2[i * 10 + o] as f64)
                    .sum::<f64>()
        })
        .collect();
    let max = logits.iter().cloned().fold(f64::MIN, f64::max);
    let sum: f64 = logits.iter().map(|z| (z - max).exp()).sum();
    let got = net.predict(&x);
    for o in 0..10 {
        let want = (logits[o] - max).exp() / sum;
        assert!(
            (got[o] as f64 - want).abs() < 1e-5,
            "output {o}: {} vs {want}",
            got[o]
        );
    }
}

#[test]
fn set_weights_with_the_wrong_length_is_an_error_and_changes_nothing() {
    let mut net = Mnist::new(1);
    let before = net.get_weights();
    let err = net.set_weights(&before[1..]).unwrap_err();
    assert!(matches!(
        err,
        Error::WeightCount {
            expected: 238_510,
            actual: 238_509
        }
    ));
    assert!(err.to_string().contains("238510"));
    assert_eq!(net.get_weights(), before);
}

#[test]
fn predict_batch_matches_predict_and_dropout_is_off_at_inference() {
    let net = Mnist::new(5);
    // An odd count: split across two threads, the second chunk is one shorter.
    let xs: Vec<[[f32; 28]; 28]> = (0..601).map(image).collect();
    let batch = net.predict_batch(&xs);
    assert_eq!(batch.len(), 601);
    for i in (0..601).step_by(37).chain([300, 301, 600]) {
        let (x, y) = (&xs[i], &batch[i]);
        let single = net.predict(x);
        for (a, b) in single.iter().zip(y) {
            assert!((a - b).abs() < 1e-6);
        }
        assert_eq!(net.predict(x), single, "inference is deterministic");
    }
    assert!(net.predict_batch(&[]).is_empty());
}

#[test]
fn the_f64_model_is_reached_through_the_model_trait() {
    let net = Mnist::<f64>::new(3);
    let y: [f64; 10] = net.predict(&[[0.5f64; 28]; 28]);
    assert!((y.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    // Same seed, same initial weights up to rounding.
    let w32 = Mnist::new(3).get_weights();
    let w64 = net.get_weights();
    assert!(w32
        .iter()
        .zip(&w64)
        .all(|(a, b)| (*a as f64 - b).abs() < 1e-7));
}

#[test]
fn summary_is_a_keras_table_with_totals() {
    let s = Mnist::new(0).summary();
    for needle in [
        "Model: \"mnist\"",
        "flatten (Flatten)",
        "(None, 784)",
        "dense (Dense)",
        "235,500",
        "dropout (Dropout)",
        "dense_1 (Dense)",
        "(None, 10)",
        "3,010",
        "Total params: 238,510 (931.68 KB)",
        "Trainable params: 238,510",
        "Non-trainable params: 0",
    ] {
        assert!(s.contains(needle), "summary lacks {needle:?}:\n{s}");
    }
    let e = Everything::new(0).summary();
    assert!(
        e.contains("leaky_re_lu (LeakyReLU)")
            && e.contains("re_lu (ReLU)")
            && e.contains("activation_1 (Activation)"),
        "{e}"
    );
}

#[test]
fn the_card_model_runs_on_a_256_kib_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let mut net = Mnist::new(9);
            let x = vec![image(1); 4];
            let y = vec![[0.1f32; 10]; 4];
            let loss = net.train_step(&mut Adam::new(0.001), &CategoricalCrossentropy, &x, &y);
            let copy = net.clone();
            (loss, copy.predict(&x[0]))
        })
        .unwrap();
    let (loss, y) = handle.join().expect("no stack overflow");
    assert!(loss.is_finite() && y.iter().all(|v| v.is_finite()));
}

#[test]
fn user_attributes_pass_through() {
    let net = Mnist::new(2);
    let debug = format!("{:?}", net.clone());
    assert!(debug.contains("Mnist") && debug.contains("dense_1"));
}
