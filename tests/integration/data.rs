//! The committed MNIST files load as the data README describes, and damaged files are errors.

use std::path::{Path, PathBuf};

use typed_nn::prelude::*;

fn mnist_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist")
}

#[test]
fn the_committed_mnist_files_load_with_known_labels_and_scaled_pixels() {
    let data = load_mnist(mnist_dir()).unwrap();
    assert_eq!((data.x_train.len(), data.y_train.len()), (60_000, 60_000));
    assert_eq!((data.x_test.len(), data.y_test.len()), (10_000, 10_000));
    assert_eq!(data.y_train[..5], [5, 0, 4, 1, 9]);
    assert_eq!(data.y_test[..5], [7, 2, 1, 0, 4]);
    let pixels = data.x_train[0].as_flattened();
    assert!(pixels.iter().all(|&p| (0.0..=1.0).contains(&p)));
    assert!(pixels.contains(&1.0) && pixels.contains(&0.0));
    let onehot: Vec<[f32; 10]> = one_hot(&data.y_test).unwrap();
    assert_eq!(onehot[0][7], 1.0);
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("typed-nn-data-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn plain_idx_files_read_and_damaged_ones_name_the_file_and_the_fault() {
    let dir = scratch("idx");
    let mut plain = vec![0u8, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3];
    plain.extend([1, 2, 3, 4, 5, 6]);
    std::fs::write(dir.join("ok-idx"), &plain).unwrap();
    let a = read_idx(dir.join("ok-idx")).unwrap();
    assert_eq!((a.dims, a.data), (vec![2, 3], vec![1, 2, 3, 4, 5, 6]));

    std::fs::write(dir.join("short-idx"), &plain[..15]).unwrap();
    let err = read_idx(dir.join("short-idx")).unwrap_err().to_string();
    assert!(
        err.contains("short-idx") && err.contains("truncated"),
        "{err}"
    );

    // A gzip stream cut in half.
    let gz = std::fs::read(mnist_dir().join("t10k-labels-idx1-ubyte.gz")).unwrap();
    std::fs::write(dir.join("cut.gz"), &gz[..gz.len() / 2]).unwrap();
    let err = read_idx(dir.join("cut.gz")).unwrap_err().to_string();
    assert!(err.contains("cut.gz") && err.contains("gzip"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_mnist_directory_with_a_broken_file_is_an_error_not_a_panic() {
    let dir = scratch("mnist");
    for name in [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
    ] {
        std::fs::copy(mnist_dir().join(name), dir.join(name)).unwrap();
    }
    // Labels for the test set: right header, a label that is not a digit.
    let mut labels = vec![0u8, 0, 8, 1, 0, 0, 0x27, 0x10];
    labels.extend(std::iter::repeat_n(3u8, 10_000));
    labels[8 + 17] = 12;
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), &labels).unwrap();
    let err = load_mnist(&dir).unwrap_err().to_string();
    assert!(
        err.contains("t10k-labels-idx1-ubyte") && err.contains("label 12 at index 17"),
        "{err}"
    );
    let err = load_mnist(dir.join("nowhere")).unwrap_err().to_string();
    assert!(err.contains("nowhere"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}
