//! Convolutional models: shapes, summary, BatchNorm statistics and augmentation through `fit`.

use typed_nn::prelude::*;

model! {
    #[derive(Clone)]
    pub struct LeNet5 {
        Input<28, 28, 1> => Conv2D<6, 5, Relu, padding = Same> => MaxPool2D<2> => Conv2D<16, 5, Relu>
            => MaxPool2D<2> => Flatten => Dense<120, Relu> => Dense<84, Relu> => Dense<10, Softmax>
    }

    #[derive(Clone)]
    struct Normed { Input<4> => Dense<8> => BatchNorm => Relu => Dense<2, Softmax> }

    #[derive(Clone)]
    struct Tiny { Input<8, 8> => Flatten => Dense<4, Softmax> }

    #[derive(Clone)]
    struct SmallCnn {
        Input<8, 8, 1> => Conv2D<4, 3, Relu, padding = Same> => BatchNorm<momentum = 0.9>
            => AvgPool2D<2> => Flatten => Dense<3, Softmax>
    }
}

#[test]
fn lenet_has_keras_params_shapes_and_summary() {
    assert_eq!(LeNet5::PARAMS, 61_706);
    let s = LeNet5::new(0).summary();
    for needle in [
        "conv2d (Conv2D)",
        "(None, 28, 28, 6)",
        "156",
        "max_pooling2d (MaxPooling2D)",
        "(None, 14, 14, 6)",
        "conv2d_1 (Conv2D)",
        "(None, 10, 10, 16)",
        "2,416",
        "max_pooling2d_1 (MaxPooling2D)",
        "(None, 5, 5, 16)",
        "(None, 400)",
        "48,120",
        "Total params: 61,706",
    ] {
        assert!(s.contains(needle), "summary lacks {needle:?}:\n{s}");
    }
    let y = LeNet5::new(1).predict(&[[[0.5]; 28]; 28]);
    assert!((y.iter().sum::<f32>() - 1.0).abs() < 1e-5);
}

#[test]
fn batch_norm_splits_trainable_params_and_moves_its_statistics_in_training_only() {
    assert_eq!(Normed::PARAMS, 40 + 32 + 18);
    let mut net = Normed::new(3);
    let s = net.summary();
    assert!(
        s.contains("batch_normalization (BatchNormalization)"),
        "{s}"
    );
    assert!(
        s.contains("Trainable params: 74") && s.contains("Non-trainable params: 16"),
        "{s}"
    );
    assert_eq!(net.trainable_params(), 74);
    // gamma 1, beta 0, moving mean 0, moving variance 1.
    let bn = &net.get_weights()[40..72];
    assert!(
        bn[..8].iter().all(|&g| g == 1.0)
            && bn[8..24].iter().all(|&v| v == 0.0)
            && bn[24..].iter().all(|&v| v == 1.0)
    );

    let xs: Vec<[f32; 4]> = (0..16)
        .map(|i| [i as f32, 1.0 - i as f32 * 0.5, 3.0, (i % 3) as f32])
        .collect();
    let ys: Vec<usize> = (0..16).map(|i| i % 2).collect();
    let x0 = net.predict(&xs[0]);
    let before = net.get_weights();
    net.evaluate(&xs, &ys, &SparseCategoricalCrossentropy, []);
    assert_eq!(
        net.get_weights(),
        before,
        "evaluate is inference: statistics stay put"
    );
    // A rate too small to move the trained weights (a rate of 0 is refused).
    net.train_step(
        &mut Sgd::new(1e-30),
        &SparseCategoricalCrossentropy,
        &xs,
        &ys,
    );
    let after = net.get_weights();
    assert!(
        after[..56]
            .iter()
            .zip(&before[..56])
            .all(|(a, b)| (a - b).abs() < 1e-20),
        "lr 1e-30: trainable weights unchanged"
    );
    assert_ne!(after[56..72], before[56..72], "moving statistics moved");
    assert_ne!(
        net.predict(&xs[0]),
        x0,
        "inference reads the moving statistics"
    );
}

#[test]
fn augmentation_trains_image_models_and_rejects_flat_inputs() {
    let xs: Vec<[[[f32; 1]; 8]; 8]> = (0..40)
        .map(|i| {
            std::array::from_fn(|r| std::array::from_fn(|c| [((r * 8 + c + i) % 7) as f32 / 7.0]))
        })
        .collect();
    let ys: Vec<usize> = (0..40).map(|i| i % 3).collect();
    let mut net = SmallCnn::new(1);
    let aug = ImageAugmentation::new()
        .rotation_range(15.0)
        .width_shift_range(0.1)
        .zoom_range(0.1)
        .horizontal_flip(true);
    let history = net
        .fit(
            &xs,
            &ys,
            Fit::new(SparseCategoricalCrossentropy, Adam::new(0.01))
                .epochs(2)
                .augment(aug)
                .seed(3)
                .verbose(0),
        )
        .unwrap();
    assert_eq!(history.epochs(), 2);
    // Same seed, same augmented batches: reproducible.
    let mut again = SmallCnn::new(1);
    again
        .fit(
            &xs,
            &ys,
            Fit::new(SparseCategoricalCrossentropy, Adam::new(0.01))
                .epochs(2)
                .augment(aug)
                .seed(3)
                .verbose(0),
        )
        .unwrap();
    assert_eq!(net.get_weights(), again.get_weights());
    // A plain 2-D input counts as a one-channel image.
    let flat: Vec<[[f32; 8]; 8]> = xs.iter().map(|x| x.map(|row| row.map(|p| p[0]))).collect();
    let mut tiny = Tiny::new(1);
    assert!(tiny
        .fit(
            &flat,
            &ys,
            Fit::new(SparseCategoricalCrossentropy, Sgd::new(0.1))
                .augment(aug)
                .verbose(0)
        )
        .is_ok());
}

#[test]
fn confusion_matrix_and_report_from_predicted_classes() {
    let net = Tiny::new(2);
    let xs: Vec<[[f32; 8]; 8]> = (0..20).map(|i| [[i as f32 / 20.0; 8]; 8]).collect();
    let predicted = net.predict_classes(&xs);
    assert_eq!(predicted.len(), 20);
    let truth: Vec<usize> = (0..20).map(|i| i % 4).collect();
    let cm = confusion_matrix(&truth, &predicted, 4).unwrap();
    assert_eq!(
        (0..4)
            .flat_map(|t| (0..4).map(move |p| (t, p)))
            .map(|(t, p)| cm.get(t, p))
            .sum::<usize>(),
        20
    );
    let report = classification_report(&truth, &predicted, 4).unwrap();
    let hits = truth.iter().zip(&predicted).filter(|(a, b)| a == b).count();
    assert!((report.accuracy - hits as f64 / 20.0).abs() < 1e-12);
}

#[test]
fn large_convolution_batches_give_the_per_sample_results_chunk_by_chunk() {
    // LeNet keeps ~44 KB of activations and caches per sample in a forward pass, so batched
    // inference and evaluation cut 100 samples into chunks of 47: every chunk must line up with
    // its targets.
    let net = LeNet5::new(4);
    let images: Vec<[[[f32; 1]; 28]; 28]> = (0..100)
        .map(|s| {
            std::array::from_fn(|r| {
                std::array::from_fn(|c| [((r * 3 + c * 5 + s * 7) % 17) as f32 / 17.0])
            })
        })
        .collect();
    let labels: Vec<usize> = (0..100).map(|i| (i * 7) % 10).collect();
    let batched = net.predict_batch(&images);
    let mut loss_sum = 0.0f64;
    let mut correct = 0usize;
    for ((image, &label), together) in images.iter().zip(&labels).zip(&batched) {
        let alone = net.predict(image);
        for (a, b) in alone.iter().zip(together) {
            assert!((a - b).abs() < 1e-5, "{alone:?} vs {together:?}");
        }
        loss_sum += -(alone[label] as f64).ln();
        correct += usize::from(typed_nn::metrics::argmax(&alone) == label);
    }
    let scores = net.evaluate(
        &images,
        &labels,
        &SparseCategoricalCrossentropy,
        [Metric::Accuracy],
    );
    assert!(
        (scores.loss as f64 - loss_sum / 100.0).abs() < 1e-4,
        "{}",
        scores.loss
    );
    assert_eq!(scores.get(Metric::Accuracy), Some(correct as f32 / 100.0));
}
