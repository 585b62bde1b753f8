//! Palmer penguins: the species from the island, the sex and four measurements, as the
//! pandas + scikit-learn + Keras notebook does it: string columns one-hot encoded, missing
//! values imputed (means for numbers, the most frequent value for strings), every encoder
//! fitted on the training split only, and the species label-encoded.
//!
//! `cargo run --release --example penguins` prints the missing values, the features and as its
//! last line `test accuracy: 0.xxxx` (at least 0.97).

use std::path::Path;

use typed_nn::prelude::*;

model! {
    struct PenguinNet { Input<9> => Dense<16, Relu> => Dense<3, Softmax> }
}

fn main() -> Result<(), Error> {
    let frame = DataFrame::read_csv(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/tabular/penguins.csv"),
        &[],
    )?;
    println!("missing values: {:?}", frame.missing_counts());
    let species = LabelEncoder::fit(&frame, "species")?;
    let y = species.transform(&frame, "species")?;
    let rows: Vec<usize> = (0..frame.len()).collect();
    let split = stratified_split(&rows, &y, 0.25, 42)?;
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
        .fit(&train)?;
    println!("features: {}", prep.feature_names().join(", "));
    let (x_train, x_test): (Vec<[f32; 9]>, Vec<[f32; 9]>) =
        (prep.transform(&train)?, prep.transform(&test)?);

    let mut net = PenguinNet::new(1);
    net.fit(
        &x_train,
        &split.y_train,
        Fit::new(SparseCategoricalCrossentropy, Adam::new(0.01))
            .epochs(60)
            .batch_size(16)
            .seed(1)
            .verbose(0),
    )?;
    let scores = net.try_evaluate(
        &x_test,
        &split.y_test,
        &SparseCategoricalCrossentropy,
        [Metric::Accuracy],
    )?;
    println!("classes: {}", species.classes().join(", "));
    println!(
        "test accuracy: {:.4}",
        scores.accuracy().unwrap_or(f32::NAN)
    );
    Ok(())
}
