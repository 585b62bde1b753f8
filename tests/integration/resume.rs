//! Checkpoints that resume: a run interrupted after epoch 2 and resumed from its checkpoint
//! ends with exactly the weights of the uninterrupted run (dropout, shuffling, augmentation
//! and Adam's moments all restored).

use std::path::PathBuf;

use typed_nn::prelude::*;

model! {
    #[derive(Clone)]
    struct Cnn {
        Input<6, 6, 1> => Conv2D<3, 3, Relu, padding = Same> => MaxPool2D<2> => Flatten
            => Dense<8, Relu> => Dropout<0.3> => Dense<3, Softmax>
    }
}

type Image = [[[f32; 1]; 6]; 6];

fn data() -> (Vec<Image>, Vec<usize>) {
    (0..48)
        .map(|i| {
            let image = std::array::from_fn(|r| {
                std::array::from_fn(|c| [(((r * 6 + c) * (i % 3 + 1)) % 7) as f32 / 7.0])
            });
            (image, i % 3)
        })
        .unzip()
}

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("typed-nn-resume-{}-{name}", std::process::id()))
}

fn settings(epochs: usize) -> Fit<'static, SparseCategoricalCrossentropy, Adam> {
    Fit::new(SparseCategoricalCrossentropy, Adam::new(0.01))
        .epochs(epochs)
        .batch_size(8)
        .seed(3)
        .augment(
            ImageAugmentation::new()
                .rotation_range(10.0)
                .width_shift_range(0.1),
        )
        .verbose(0)
}

#[test]
fn a_resumed_run_matches_an_uninterrupted_one_bit_for_bit() {
    let (x, y) = data();
    let mut whole = Cnn::new(1);
    whole.fit(&x, &y, settings(4)).unwrap();

    let checkpoint = scratch("ckpt.safetensors");
    let mut first_half = Cnn::new(1);
    first_half
        .fit(&x, &y, settings(2).checkpoint(&checkpoint))
        .unwrap();
    // The checkpoint is also a plain weights file.
    assert_eq!(
        Cnn::load(&checkpoint).unwrap().get_weights(),
        first_half.get_weights()
    );

    let mut resumed = Cnn::new(99);
    let history = resumed
        .fit(&x, &y, settings(4).resume_from(&checkpoint))
        .unwrap();
    assert_eq!(history.epochs(), 2, "epochs 3 and 4 ran");
    assert_eq!(resumed.get_weights(), whole.get_weights());
    std::fs::remove_file(checkpoint).unwrap();
}

#[test]
fn resuming_from_something_that_is_not_a_checkpoint_is_an_error_that_changes_nothing() {
    let (x, y) = data();
    let weights_only = scratch("weights.safetensors");
    Cnn::new(5).save(&weights_only).unwrap();
    let mut net = Cnn::new(6);
    let before = net.get_weights();
    let err = net
        .fit(&x, &y, settings(2).resume_from(&weights_only))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a training checkpoint"), "{err}");
    assert_eq!(net.get_weights(), before);
    let err = net
        .fit(&x, &y, settings(2).resume_from(scratch("absent")))
        .unwrap_err()
        .to_string();
    assert!(err.contains("absent"), "{err}");
    std::fs::remove_file(weights_only).unwrap();
}
