//! Bad settings and data are refused with an error that names them, never absorbed: learning
//! rates, binary targets, empty sets; a NaN input predicts NaN; callbacks see the same logs in
//! any order; each panicking call has a `try_` form.

use typed_nn::prelude::*;

model! {
    struct Classifier { Input<4> => Dense<8, Relu> => Dense<3, Softmax> }
    struct Binary { Input<4> => Dense<6, Tanh> => Dense<1, Sigmoid> }
    struct Image { Input<6, 6, 1> => Conv2D<2, 3, Relu> => MaxPool2D<2> => Flatten => Dense<2, Softmax> }
    struct Layers { Input<4> => Dense<5> => Relu => Dense<5, Elu> => LeakyRelu => Dense<3> => Sigmoid => Dense<2> => Softmax }
}

fn data() -> (Vec<[f32; 4]>, Vec<usize>) {
    (0..40)
        .map(|i| {
            (
                std::array::from_fn(|j| ((i * 5 + j) % 7) as f32 / 7.0),
                i % 3,
            )
        })
        .unzip()
}

#[test]
fn learning_rates_that_are_zero_negative_or_not_finite_are_refused() {
    let (x, y) = data();
    for lr in [0.0, -0.1, f64::NAN, f64::INFINITY] {
        let mut net = Classifier::new(1);
        let before = net.get_weights();
        let err = net
            .fit(
                &x,
                &y,
                Fit::new(SparseCategoricalCrossentropy, Sgd::new(lr)).verbose(0),
            )
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("learning rate must be a positive, finite number"),
            "{err}"
        );
        let err = net
            .try_train_step(&mut Adam::new(lr), &SparseCategoricalCrossentropy, &x, &y)
            .unwrap_err();
        assert!(err.to_string().contains(&format!("got {lr}")), "{err}");
        assert_eq!(net.get_weights(), before, "nothing trained");
    }
    // A schedule that goes wrong stops fit before the bad epoch's first step.
    let mut net = Classifier::new(1);
    let err = net
        .fit(
            &x,
            &y,
            Fit::new(SparseCategoricalCrossentropy, Adam::new(0.01))
                .epochs(5)
                .verbose(0)
                .callback(LearningRateScheduler::new(|epoch, lr| {
                    if epoch == 2 {
                        -1.0
                    } else {
                        lr
                    }
                })),
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("learning rate of epoch 2 to -1"),
        "{err}"
    );
}

#[test]
#[should_panic(expected = "learning rate must be a positive, finite number, got 0")]
fn train_step_panics_where_try_train_step_returns_an_error() {
    let (x, y) = data();
    Classifier::new(1).train_step(&mut Sgd::new(0.0), &SparseCategoricalCrossentropy, &x, &y);
}

#[test]
fn binary_targets_outside_zero_one_are_refused() {
    let x = vec![[0.5f32; 4]; 6];
    let y = vec![[0.0f32], [1.0], [0.3], [2.0], [1.0], [0.0]];
    let mut net = Binary::new(1);
    let want = "binary_crossentropy needs targets in [0, 1], but sample 3 has 2";
    let err = net
        .fit(
            &x,
            &y,
            Fit::new(BinaryCrossentropy, Adam::new(0.01)).verbose(0),
        )
        .unwrap_err();
    assert!(err.to_string().contains(want), "{err}");
    let err = net
        .try_evaluate(&x, &y, &BinaryCrossentropy, [])
        .unwrap_err();
    assert!(err.to_string().contains(want), "{err}");
    let err = net
        .try_train_step(&mut Adam::new(0.01), &BinaryCrossentropy, &x, &y)
        .unwrap_err();
    assert!(err.to_string().contains(want), "{err}");
    // Other losses take any target.
    assert!(net.try_evaluate(&x, &y, &MeanSquaredError, []).is_ok());
}

#[test]
fn evaluating_or_stepping_on_nothing_is_an_error() {
    let net = Classifier::new(1);
    let err = net
        .try_evaluate(&[], &[], &SparseCategoricalCrossentropy, [Metric::Accuracy])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "evaluate needs at least one sample, got none"
    );
    let err = Classifier::new(1)
        .try_train_step(
            &mut Adam::new(0.01),
            &SparseCategoricalCrossentropy,
            &[],
            &[],
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "train_step needs at least one sample, got none"
    );
}

#[test]
fn a_nan_input_predicts_nan() {
    let nan = [f32::NAN, 0.5, 0.25, 1.0];
    let out = Classifier::new(1).predict(&nan);
    assert!(out.iter().all(|v| v.is_nan()), "{out:?}");
    let batch = Classifier::new(1).predict_batch(&[nan, [0.5; 4]]);
    assert!(batch[0].iter().all(|v| v.is_nan()) && batch[1].iter().all(|v| v.is_finite()));
    assert!(Layers::new(2).predict(&nan).iter().all(|v| v.is_nan()));
    let mut image = [[[0.5f32]; 6]; 6];
    image[2][3][0] = f32::NAN;
    assert!(Image::new(3).predict(&image).iter().all(|v| v.is_nan()));
}

#[test]
fn every_callback_sees_the_learning_rate_whatever_its_place() {
    let (x, y) = data();
    let path = std::env::temp_dir().join(format!("typed-nn-refusals-{}.csv", std::process::id()));
    Classifier::new(1)
        .fit(
            &x,
            &y,
            Fit::new(SparseCategoricalCrossentropy, Adam::new(0.01))
                .epochs(2)
                .verbose(0)
                .callback(CsvLogger::new(&path))
                .callback(LearningRateScheduler::new(|epoch, _| {
                    0.01 / (epoch + 1) as f64
                })),
        )
        .unwrap();
    let csv = std::fs::read_to_string(&path).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("epoch,learning_rate,loss,val_learning_rate,val_loss")
    );
    assert!(lines.nth(1).unwrap().starts_with("1,0.005,"), "{csv}");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn predict_classes_thresholds_one_sigmoid_unit_at_one_half() {
    let net = Binary::new(4);
    let xs: Vec<[f32; 4]> = (0..20)
        .map(|i| [i as f32 / 5.0 - 2.0, 0.3, -0.7, 1.0])
        .collect();
    let p = net.predict_batch(&xs);
    let classes = net.predict_classes(&xs);
    assert!(classes.contains(&0) || classes.contains(&1));
    for (c, p) in classes.iter().zip(&p) {
        assert_eq!(*c, usize::from(p[0] > 0.5), "{p:?}");
    }
}
