//! Wine (178 samples, 13 features, 3 cultivars): standardised features, a small softmax
//! network, early stopping on a validation split, and the test accuracy on a stratified
//! hold-out. Writes the training curve to `target/wine_history.svg`.
//!
//! `cargo run --release --example wine`

use std::path::Path;

use typed_nn::prelude::*;

model! {
    struct WineNet { Input<13> => Dense<16, Relu> => Dense<3, Softmax> }
}

fn main() -> Result<(), Error> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let table = read_csv(
        root.join("data/tabular/wine_data.csv"),
        &CsvOptions::sklearn(),
    )?;
    let x: Vec<[f32; 13]> = table.features_as()?;
    let y = table.class_labels()?;
    let split = stratified_split(&x, &y, 0.2, 42)?;
    let scaler = StandardScaler::fit(&split.x_train)?;
    let (x_train, x_test) = (
        scaler.transform(&split.x_train)?,
        scaler.transform(&split.x_test)?,
    );

    let mut net = WineNet::new(7);
    println!("{}", net.summary());
    let history = net.fit(
        &x_train,
        &split.y_train,
        Fit::new(SparseCategoricalCrossentropy, Adam::new(0.01))
            .epochs(200)
            .batch_size(16)
            .validation_split(0.15)
            .seed(7)
            .metrics([Metric::Accuracy])
            .verbose(0)
            .callback(EarlyStopping::new().patience(15).restore_best_weights(true))
            // `tensorboard --logdir logs` shows the run (loss, accuracy, weights).
            .callback(TensorBoard::new("logs/wine").histogram_freq(10)),
    )?;
    println!(
        "trained {} epochs; best val_loss {:.4}",
        history.epochs(),
        history
            .val_loss()
            .iter()
            .cloned()
            .fold(f64::INFINITY, f64::min)
    );
    history.save_svg(root.join("target/wine_history.svg"))?;

    let predicted = net.predict_classes(&x_test);
    println!("{}", classification_report(&split.y_test, &predicted, 3)?);
    let scores = net.try_evaluate(
        &x_test,
        &split.y_test,
        &SparseCategoricalCrossentropy,
        [Metric::Accuracy],
    )?;
    println!("test accuracy: {:.4}", scores[1]);
    Ok(())
}
