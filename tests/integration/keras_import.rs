//! Models trained in Keras, exported by `tools/keras_export.py` (fixtures made by
//! `tools/keras_mnist_fixture.py` and `tools/keras_graph_import_fixture.py`), load into the
//! chains and graphs the tool printed (or are baked into them) and predict what Keras
//! predicted, to 1e-5.

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

// A functional model: two inputs, a shared layer, merges, two outputs; printed by the tool.
model! {
    pub struct GraphExport {
        let x0 = Input<28, 28>;
        let x1 = Input<56>;
        let t0 = x0 => Flatten => Dense<32, Relu>;
        let shared0 = Dense<16, Tanh>;
        let t1 = t0 => shared0;
        let t2 = x1 => Dense<32, Relu> => shared0;
        let t3 = Add(t1, t2);
        let t4 = Concatenate(t3, t0) => Dropout<0.1>;
        let digit = t4 => Dense<10, Softmax>;
        let even = Concatenate(t4, digit) => Dense<1, Sigmoid>;
        (digit, even)
    }
}
// The same graph with the file baked in at compile time.
model! {
    #[weights = "tests/fixtures/keras_graph_mnist.safetensors"]
    pub struct GraphBaked {
        let x0 = Input<28, 28>;
        let x1 = Input<56>;
        let t0 = x0 => Flatten => Dense<32, Relu>;
        let shared0 = Dense<16, Tanh>;
        let t1 = t0 => shared0;
        let t2 = x1 => Dense<32, Relu> => shared0;
        let t3 = Add(t1, t2);
        let t4 = Concatenate(t3, t0) => Dropout<0.1>;
        let digit = t4 => Dense<10, Softmax>;
        let even = Concatenate(t4, digit) => Dense<1, Sigmoid>;
        (digit, even)
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

#[test]
fn a_keras_functional_model_predicts_as_in_keras_loaded_or_baked() {
    let data = load_mnist(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist")).unwrap();
    let text = std::fs::read_to_string(fixture("keras_graph_mnist.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let floats = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    // The ink profiles exactly as Keras was given them.
    let profiles = floats(&json["profile"]);
    let inputs: Vec<([[f32; 28]; 28], [f32; 56])> = data.x_test[..32]
        .iter()
        .zip(profiles.chunks(56))
        .map(|(image, p)| (*image, std::array::from_fn(|i| p[i] as f32)))
        .collect();
    let (digit, even) = (floats(&json["predict"][0]), floats(&json["predict"][1]));
    let check = |outputs: Vec<([f32; 10], [f32; 1])>| {
        let got: Vec<f32> = outputs.iter().flat_map(|o| o.0).collect();
        assert_matches(got, digit.clone());
        let got: Vec<f32> = outputs.iter().flat_map(|o| o.1).collect();
        assert_matches(got, even.clone());
    };
    let loaded = GraphExport::load(fixture("keras_graph_mnist.safetensors")).unwrap();
    check(loaded.predict_batch(&inputs));
    check(inputs.iter().map(|x| loaded.predict(x)).collect());
    let baked = GraphBaked::baked();
    assert_eq!(baked.get_weights(), loaded.get_weights());
    check(baked.predict_batch(&inputs));
}
