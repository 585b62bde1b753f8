//! Boston housing (506 samples, 13 features, median value MEDV): regression with MSE,
//! reported as RMSE and MAE against the baseline of always predicting the training mean.
//!
//! `cargo run --release --example boston`

use std::path::Path;

use typed_nn::prelude::*;

model! {
    struct HouseNet { Input<13> => Dense<64, Relu> => Dense<32, Relu> => Dense<1> }
}

fn main() -> Result<(), Error> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let options = CsvOptions::new()
        .skip_lines(1)
        .label(LabelColumn::Named("MEDV".into()));
    let table = read_csv(root.join("data/tabular/boston_house_prices.csv"), &options)?;
    let x: Vec<[f32; 13]> = table.features_as()?;
    let y: Vec<[f32; 1]> = table.label_targets();
    let split = train_test_split(&x, &y, 0.2, 42)?;
    let scaler = StandardScaler::fit(&split.x_train)?;
    let (x_train, x_test) = (
        scaler.transform(&split.x_train)?,
        scaler.transform(&split.x_test)?,
    );

    let mut net = HouseNet::new(5);
    net.fit(
        &x_train,
        &split.y_train,
        Fit::new(MeanSquaredError, Adam::new(0.001))
            .epochs(300)
            .batch_size(16)
            .validation_split(0.15)
            .seed(5)
            .metrics([Metric::Mae])
            .verbose(0)
            .callback(EarlyStopping::new().patience(30).restore_best_weights(true))
            .callback(ReduceLROnPlateau::new().patience(10).factor(0.5)),
    )?;
    let scores = net.try_evaluate(
        &x_test,
        &split.y_test,
        &MeanSquaredError,
        [Metric::Rmse, Metric::Mae],
    )?;
    let mean = split.y_train.iter().map(|y| y[0] as f64).sum::<f64>() / split.y_train.len() as f64;
    let baseline_rmse = (split
        .y_test
        .iter()
        .map(|y| (y[0] as f64 - mean).powi(2))
        .sum::<f64>()
        / split.y_test.len() as f64)
        .sqrt();
    let baseline_mae = split
        .y_test
        .iter()
        .map(|y| (y[0] as f64 - mean).abs())
        .sum::<f64>()
        / split.y_test.len() as f64;
    println!(
        "mean predictor: RMSE {baseline_rmse:.3}, MAE {baseline_mae:.3} (thousands of dollars)"
    );
    println!(
        "network:        RMSE {:.3}, MAE {:.3}",
        scores[1], scores[2]
    );
    println!(
        "test RMSE: {:.3} (mean predictor {baseline_rmse:.3})",
        scores[1]
    );
    Ok(())
}
