//! The course's tabular tasks on the committed data: the CSV reader, scaler and split feed a
//! network that clears the same bars as the examples.

use std::path::Path;

use typed_nn::prelude::*;

model! {
    struct WineNet { Input<13> => Dense<16, Relu> => Dense<3, Softmax> }
    struct HouseNet { Input<13> => Dense<32, Relu> => Dense<1> }
    struct PenguinNet { Input<9> => Dense<16, Relu> => Dense<3, Softmax> }
}

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/tabular")
        .join(name)
}

#[test]
fn wine_reaches_094_test_accuracy() {
    let table = read_csv(data("wine_data.csv"), &CsvOptions::sklearn()).unwrap();
    let x: Vec<[f32; 13]> = table.features_as().unwrap();
    let y = table.class_labels().unwrap();
    assert_eq!((x.len(), y.iter().filter(|&&c| c == 1).count()), (178, 71));
    let split = stratified_split(&x, &y, 0.2, 42).unwrap();
    let scaler = StandardScaler::fit(&split.x_train).unwrap();
    let mut net = WineNet::new(7);
    net.fit(
        &scaler.transform(&split.x_train).unwrap(),
        &split.y_train,
        Fit::new(SparseCategoricalCrossentropy, Adam::new(0.01))
            .epochs(60)
            .batch_size(16)
            .seed(7)
            .verbose(0),
    )
    .unwrap();
    let scores = net.evaluate(
        &scaler.transform(&split.x_test).unwrap(),
        &split.y_test,
        &SparseCategoricalCrossentropy,
        [Metric::Accuracy],
    );
    assert!(scores[1] >= 0.94, "wine test accuracy {}", scores[1]);
}

#[test]
fn boston_beats_the_mean_predictor_by_far() {
    let table = read_csv(
        data("boston_house_prices.csv"),
        &CsvOptions::new()
            .skip_lines(1)
            .label(LabelColumn::Named("MEDV".into())),
    )
    .unwrap();
    let x: Vec<[f32; 13]> = table.features_as().unwrap();
    let y: Vec<[f32; 1]> = table.label_targets();
    let split = train_test_split(&x, &y, 0.2, 42).unwrap();
    let scaler = StandardScaler::fit(&split.x_train).unwrap();
    let mut net = HouseNet::new(5);
    net.fit(
        &scaler.transform(&split.x_train).unwrap(),
        &split.y_train,
        Fit::new(MeanSquaredError, Adam::new(0.01))
            .epochs(100)
            .batch_size(16)
            .seed(5)
            .verbose(0),
    )
    .unwrap();
    let scores = net.evaluate(
        &scaler.transform(&split.x_test).unwrap(),
        &split.y_test,
        &MeanSquaredError,
        [Metric::Rmse],
    );
    let mean = split.y_train.iter().map(|v| v[0] as f64).sum::<f64>() / split.y_train.len() as f64;
    let baseline = (split
        .y_test
        .iter()
        .map(|v| (v[0] as f64 - mean).powi(2))
        .sum::<f64>()
        / split.y_test.len() as f64)
        .sqrt();
    assert!(
        (scores[1] as f64) < 0.6 * baseline,
        "RMSE {} vs mean predictor {baseline}",
        scores[1]
    );
}

#[test]
fn penguins_with_strings_and_missing_values_reach_097_test_accuracy() {
    let frame = DataFrame::read_csv(data("penguins.csv"), &[]).unwrap();
    assert_eq!(frame.len(), 344);
    let species = LabelEncoder::fit(&frame, "species").unwrap();
    let y = species.transform(&frame, "species").unwrap();
    let rows: Vec<usize> = (0..frame.len()).collect();
    let split = stratified_split(&rows, &y, 0.25, 42).unwrap();
    let (train, test) = (frame.rows(&split.x_train), frame.rows(&split.x_test));
    let prep = ColumnTransformer::new()
        .numeric(
            [
                "bill_length_mm",
                "bill_depth_mm",
                "flipper_length_mm",
                "body_mass_g",
            ],
            Some(Impute::Mean),
        )
        .categorical(
            ["island", "sex"],
            Some(Impute::MostFrequent),
            Unknown::Ignore,
        )
        .fit(&train)
        .unwrap();
    let x_train: Vec<[f32; 9]> = prep.transform(&train).unwrap();
    let x_test: Vec<[f32; 9]> = prep.transform(&test).unwrap();
    assert!(x_train
        .iter()
        .chain(&x_test)
        .flatten()
        .all(|v| v.is_finite()));
    let mut net = PenguinNet::new(1);
    net.fit(
        &x_train,
        &split.y_train,
        Fit::new(SparseCategoricalCrossentropy, Adam::new(0.01))
            .epochs(60)
            .batch_size(16)
            .seed(1)
            .verbose(0),
    )
    .unwrap();
    let accuracy = net
        .evaluate(
            &x_test,
            &split.y_test,
            &SparseCategoricalCrossentropy,
            [Metric::Accuracy],
        )
        .accuracy()
        .unwrap();
    assert!(accuracy >= 0.97, "test accuracy {accuracy}");
}
