//! One-hot encoding of class labels.

use crate::{Error, Float};

/// Turns class labels into one-hot rows of `N` classes (`one_hot::<f32, 10>(&labels)`, or let
/// the target type infer both). A label `>= N` is an error naming it and its position.
pub fn one_hot<T: Float, const N: usize>(
    labels: &[impl Copy + Into<usize>],
) -> Result<Vec<[T; N]>, Error> {
    labels
        .iter()
        .enumerate()
        .map(|(index, &label)| {
            let label: usize = label.into();
            if label >= N {
                return Err(Error::LabelOutOfRange {
                    what: "one_hot",
                    index,
                    label,
                    classes: N,
                });
            }
            let mut row = [T::zero(); N];
            row[label] = T::one();
            Ok(row)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_labels_and_rejects_out_of_range_ones() {
        let y: Vec<[f32; 3]> = one_hot(&[2usize, 0]).unwrap();
        assert_eq!(y, vec![[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]);
        let err = one_hot::<f32, 3>(&[1u8, 3]).unwrap_err().to_string();
        assert!(err.contains("label 3 at index 1"), "{err}");
    }
}
