//! Models trained in Keras, exported by `tools/keras_export.py` (fixtures made by
//! `tools/keras_mnist_fixture.py`), load into the chains the tool printed and predict what
//! Keras predicted, to 1e-5.

use std::path::Path;

use typed_nn::prelude::*;

// The chains exactly as the export tool printed them.
model! { pub struct MlpExport { Input<28, 28> => Flatten => Dense<64, Relu> => Dropout<0.2> => Dense<10, Softmax> } }
model! {
    pub struct CnnExport {
        Input<28, 28, 1> => Conv2D<4, 3, Relu, padding = Same> => BatchNorm<momentum = 0.99, epsilon = 0.001>
            => MaxPool2D<2> => Conv2D<6, (3, 2), stride = 2> => Relu => Flatten => Dense<10, Softmax>
    }
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn keras_predictions(model: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(fixture("keras_mnist_predictions.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json[model]["predict"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn assert_matches(got: Vec<f32>, want: Vec<f64>) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            (*g as f64 - w).abs() < 1e-5,
            "output {i}: typed-nn {g} vs Keras {w}"
        );
    }
}

#[test]
fn keras_trained_models_predict_as_in_keras() {
    let data = load_mnist(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist")).unwrap();
    let images = &data.x_test[..32];

    let mlp = MlpExport::load(fixture("keras_mnist_mlp.safetensors")).unwrap();
    let got: Vec<f32> = mlp
        .predict_batch(images)
        .iter()
        .flatten()
        .copied()
        .collect();
    assert_matches(got, keras_predictions("keras_mnist_mlp"));

    let cnn = CnnExport::load(fixture("keras_mnist_cnn.safetensors")).unwrap();
    let with_channel = add_channel(images);
    let got: Vec<f32> = cnn
        .predict_batch(&with_channel)
        .iter()
        .flatten()
        .copied()
        .collect();
    assert_matches(got, keras_predictions("keras_mnist_cnn"));
}

#[test]
fn an_exported_file_does_not_load_into_a_different_chain() {
    let err = CnnExport::load(fixture("keras_mnist_mlp.safetensors"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("conv2d/kernel") && err.contains("missing"),
        "{err}"
    );
}
