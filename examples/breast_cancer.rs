//! Breast cancer (569 samples, 30 features, malignant 0 / benign 1): a sigmoid output with
//! binary cross-entropy, standardised features, stratified hold-out.
//!
//! `cargo run --release --example breast_cancer`

use std::path::Path;

use typed_nn::prelude::*;

model! {
    struct CancerNet { Input<30> => Dense<16, Relu> => Dropout<0.2> => Dense<1, Sigmoid> }
}

fn main() -> Result<(), Error> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let table = read_csv(
        root.join("data/tabular/breast_cancer.csv"),
        &CsvOptions::sklearn(),
    )?;
    let x: Vec<[f32; 30]> = table.features_as()?;
    let y = table.class_labels()?;
    let split = stratified_split(&x, &y, 0.2, 42)?;
    let scaler = StandardScaler::fit(&split.x_train)?;
    let (x_train, x_test) = (
        scaler.transform(&split.x_train)?,
        scaler.transform(&split.x_test)?,
    );
    let as_target = |labels: &[usize]| {
        labels
            .iter()
            .map(|&l| [l as f32])
            .collect::<Vec<[f32; 1]>>()
    };
    let (y_train, y_test) = (as_target(&split.y_train), as_target(&split.y_test));

    let mut net = CancerNet::new(3);
    let history = net.fit(
        &x_train,
        &y_train,
        Fit::new(BinaryCrossentropy, Adam::new(0.001))
            .epochs(100)
            .batch_size(16)
            .validation_split(0.15)
            .seed(3)
            .metrics([Metric::Accuracy])
            .verbose(0)
            .callback(EarlyStopping::new().patience(10).restore_best_weights(true)),
    )?;
    println!(
        "trained {} epochs, last val_accuracy {:.4}",
        history.epochs(),
        history.last("val_accuracy").unwrap_or(f64::NAN)
    );
    let predicted: Vec<usize> = net
        .predict_batch(&x_test)
        .iter()
        .map(|p| usize::from(p[0] > 0.5))
        .collect();
    println!("{}", confusion_matrix(&split.y_test, &predicted, 2)?);
    println!("{}", classification_report(&split.y_test, &predicted, 2)?);
    let scores = net.try_evaluate(&x_test, &y_test, &BinaryCrossentropy, [Metric::Accuracy])?;
    println!("test accuracy: {:.4}", scores[1]);
    Ok(())
}
