//! `#[weights = "..."]`: a Keras-trained file checked against the chain while compiling and
//! baked into the binary; the baked model predicts what Keras predicted.

use std::path::Path;

use typed_nn::prelude::*;

model! {
    /// The Keras-trained MLP fixture, baked in.
    #[weights = "tests/fixtures/keras_mnist_mlp.safetensors"]
    pub struct MlpBaked { Input<28, 28> => Flatten => Dense<64, Relu> => Dropout<0.2> => Dense<10, Softmax> }
}

#[test]
fn the_baked_model_predicts_as_keras_did() {
    let data = load_mnist(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist")).unwrap();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keras_mnist_predictions.json"),
    )
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let want: Vec<f64> = json["keras_mnist_mlp"]["predict"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let net = MlpBaked::baked();
    for (i, image) in data.x_test[..32].iter().enumerate() {
        let got = net.predict(image);
        for (k, &p) in got.iter().enumerate() {
            assert!(
                (p as f64 - want[i * 10 + k]).abs() < 1e-5,
                "image {i} class {k}: {p} vs {}",
                want[i * 10 + k]
            );
        }
    }
    assert_eq!(MlpBaked::default().get_weights(), net.get_weights());
    assert_eq!(
        MlpBaked::BAKED_WEIGHTS,
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/keras_mnist_mlp.safetensors")
        )
        .unwrap()
    );
}
