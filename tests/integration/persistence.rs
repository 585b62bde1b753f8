//! `save` / `load`: safetensors round trips, Keras names and shapes, and every way a file can
//! be wrong is an error that leaves the model untouched.

use std::path::PathBuf;

use typed_nn::prelude::*;

model! {
    #[derive(Clone)]
    pub struct Mnist { Input<28, 28> => Flatten => Dense<30, Relu> => Dropout<0.5> => Dense<10, Softmax> }
    struct Other { Input<28, 28> => Flatten => Dense<31, Relu> => Dense<10, Softmax> }
    #[derive(Clone)]
    struct Cnn { Input<6, 6, 1> => Conv2D<2, 3> => BatchNorm => Flatten => Dense<2> }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("typed-nn-persist-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn save_then_load_round_trips_weights_and_predictions() {
    let dir = scratch("roundtrip");
    let path = dir.join("mnist.safetensors");
    let net = Mnist::new(5);
    net.save(&path).unwrap();
    let back = Mnist::load(&path).unwrap();
    assert_eq!(back.get_weights(), net.get_weights());
    let x = [[0.25f32; 28]; 28];
    assert_eq!(back.predict(&x), net.predict(&x));
    let cnn = Cnn::new(2);
    cnn.save(dir.join("cnn.safetensors")).unwrap();
    assert_eq!(
        Cnn::load(dir.join("cnn.safetensors"))
            .unwrap()
            .get_weights(),
        cnn.get_weights()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn files_hold_one_tensor_per_keras_weight_with_keras_shapes() {
    let dir = scratch("names");
    let path = dir.join("cnn.safetensors");
    Cnn::new(1).save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + header_len]).unwrap();
    for (name, shape) in [
        ("conv2d/kernel", "[3,3,1,2]"),
        ("conv2d/bias", "[2]"),
        ("batch_normalization/gamma", "[2]"),
        ("batch_normalization/moving_variance", "[2]"),
        ("dense/kernel", "[32,2]"),
    ] {
        let at = header
            .find(&format!("\"{name}\""))
            .unwrap_or_else(|| panic!("{name} missing in {header}"));
        assert!(
            header[at..].contains(&format!("\"shape\":{shape}")),
            "{name} shape in {header}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn wrong_truncated_corrupt_or_missing_files_are_errors_and_change_nothing() {
    let dir = scratch("errors");
    let good = dir.join("good.safetensors");
    Mnist::new(1).save(&good).unwrap();
    let mut net = Mnist::new(9);
    let before = net.get_weights();

    // Another architecture: the first differing tensor is named with both shapes.
    let other = dir.join("other.safetensors");
    Other::new(1).save(&other).unwrap();
    let err = net.load_weights(&other).unwrap_err().to_string();
    assert!(
        err.contains("dense/kernel") && err.contains("[784, 31]") && err.contains("[784, 30]"),
        "{err}"
    );

    // f64 weights into an f32 model.
    let wide = dir.join("f64.safetensors");
    Mnist::<f64>::new(1).save(&wide).unwrap();
    let err = net.load_weights(&wide).unwrap_err().to_string();
    assert!(err.contains("dtype") && err.contains("F32"), "{err}");

    // Truncated and corrupt files.
    let bytes = std::fs::read(&good).unwrap();
    for (name, data) in [
        ("cut", bytes[..bytes.len() / 2].to_vec()),
        ("junk", b"not a safetensors file".to_vec()),
        ("empty", vec![]),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, data).unwrap();
        let err = net.load_weights(&p).unwrap_err().to_string();
        assert!(err.contains(name), "{err}");
    }
    let err = Mnist::load(dir.join("absent.safetensors"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("absent.safetensors"), "{err}");
    let err = net
        .save(dir.join("no/such/dir/w.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no/such/dir"), "{err}");
    assert_eq!(net.get_weights(), before, "nothing was partially loaded");
    std::fs::remove_dir_all(dir).unwrap();
}
