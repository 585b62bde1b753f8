//! MNIST from its four IDX files, pixels scaled to `[0, 1]`.

use std::path::Path;

use super::huge_pages;
use super::idx::{read_idx, IdxArray};
use crate::Error;

/// The MNIST training and test sets.
#[derive(Clone, Debug)]
pub struct MnistData {
    /// 60,000 training images, pixels in `[0, 1]`.
    pub x_train: Vec<[[f32; 28]; 28]>,
    /// Their digits.
    pub y_train: Vec<usize>,
    /// 10,000 test images.
    pub x_test: Vec<[[f32; 28]; 28]>,
    /// Their digits.
    pub y_test: Vec<usize>,
}

/// Loads `train-images-idx3-ubyte(.gz)`, `train-labels-idx1-ubyte(.gz)`, `t10k-images-...`
/// and `t10k-labels-...` from `dir` (gzip or plain, whichever is present).
pub fn load_mnist(dir: impl AsRef<Path>) -> Result<MnistData, Error> {
    let dir = dir.as_ref();
    let (x_train, y_train) = load_split(dir, "train")?;
    let (x_test, y_test) = load_split(dir, "t10k")?;
    Ok(MnistData {
        x_train,
        y_train,
        x_test,
        y_test,
    })
}

fn find(dir: &Path, stem: &str) -> std::path::PathBuf {
    let gz = dir.join(format!("{stem}.gz"));
    if gz.exists() {
        gz
    } else {
        dir.join(stem)
    }
}

type Split = (Vec<[[f32; 28]; 28]>, Vec<usize>);

fn load_split(dir: &Path, prefix: &str) -> Result<Split, Error> {
    let images_path = find(dir, &format!("{prefix}-images-idx3-ubyte"));
    let labels_path = find(dir, &format!("{prefix}-labels-idx1-ubyte"));
    let images = read_idx(&images_path)?;
    let labels = read_idx(&labels_path)?;
    check_dims(&images_path, &images, 3, Some(&[28, 28]))?;
    check_dims(&labels_path, &labels, 1, None)?;
    if images.dims[0] != labels.dims[0] {
        return Err(Error::format(
            &labels_path,
            format!(
                "{} labels for {} images in {}",
                labels.dims[0],
                images.dims[0],
                images_path.display()
            ),
        ));
    }
    if let Some((i, &l)) = labels.data.iter().enumerate().find(|(_, &l)| l > 9) {
        return Err(Error::format(
            &labels_path,
            format!("label {l} at index {i} is not a digit"),
        ));
    }
    // Training reads rows of the images in random order: the buffer goes on huge pages.
    let mut x = huge_pages::with_capacity(images.dims[0]);
    x.extend(images.data.chunks_exact(28 * 28).map(|img| {
        let mut out = [[0.0f32; 28]; 28];
        for (o, &p) in out.as_flattened_mut().iter_mut().zip(img) {
            *o = p as f32 / 255.0;
        }
        out
    }));
    Ok((x, labels.data.iter().map(|&l| l as usize).collect()))
}

fn check_dims(
    path: &Path,
    a: &IdxArray,
    rank: usize,
    inner: Option<&[usize]>,
) -> Result<(), Error> {
    if a.dims.len() != rank || inner.is_some_and(|inner| a.dims[1..] != *inner) {
        let want = match inner {
            Some(inner) => format!(
                "[n, {}]",
                inner
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => "[n]".to_string(),
        };
        return Err(Error::format(
            path,
            format!("dimensions {:?}, expected {want}", a.dims),
        ));
    }
    Ok(())
}
