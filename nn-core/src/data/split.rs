//! `train_test_split`: seeded, optionally stratified by class.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::Error;

/// The two halves of a split, each keeping the original order of its samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Split<X, Y> {
    /// Training inputs.
    pub x_train: Vec<X>,
    /// Test inputs.
    pub x_test: Vec<X>,
    /// Training targets.
    pub y_train: Vec<Y>,
    /// Test targets.
    pub y_test: Vec<Y>,
}

fn check(n: usize, targets: usize, test_size: f64) -> Result<usize, Error> {
    if n != targets {
        return Err(Error::LengthMismatch {
            what: "train_test_split",
            inputs: n,
            targets,
        });
    }
    if !(test_size > 0.0 && test_size < 1.0) {
        return Err(Error::InvalidConfig(format!(
            "test_size must be in (0, 1), got {test_size}"
        )));
    }
    // scikit-learn: the test set gets ceil(test_size * n) samples.
    let n_test = (test_size * n as f64).ceil() as usize;
    if n_test == 0 || n_test >= n {
        return Err(Error::InvalidConfig(format!(
            "test_size {test_size} of {n} samples leaves an empty side"
        )));
    }
    Ok(n_test)
}

fn take<X: Clone, Y: Clone>(x: &[X], y: &[Y], test: &[bool]) -> Split<X, Y> {
    let mut split = Split {
        x_train: Vec::new(),
        x_test: Vec::new(),
        y_train: Vec::new(),
        y_test: Vec::new(),
    };
    for ((xi, yi), &is_test) in x.iter().zip(y).zip(test) {
        if is_test {
            split.x_test.push(xi.clone());
            split.y_test.push(yi.clone());
        } else {
            split.x_train.push(xi.clone());
            split.y_train.push(yi.clone());
        }
    }
    split
}

/// Puts a random `test_size` fraction (rounded up) of the samples in the test set.
pub fn train_test_split<X: Clone, Y: Clone>(
    x: &[X],
    y: &[Y],
    test_size: f64,
    seed: u64,
) -> Result<Split<X, Y>, Error> {
    let n_test = check(x.len(), y.len(), test_size)?;
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut test = vec![false; x.len()];
    order[..n_test].iter().for_each(|&i| test[i] = true);
    Ok(take(x, y, &test))
}

/// Like [`train_test_split`], but each class keeps its share in both sets (largest-remainder
/// rounding of `test_size * count` per class).
pub fn stratified_split<X: Clone>(
    x: &[X],
    y: &[usize],
    test_size: f64,
    seed: u64,
) -> Result<Split<X, usize>, Error> {
    let n_test = check(x.len(), y.len(), test_size)?;
    let classes = y.iter().max().map_or(0, |&m| m + 1);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    y.iter().enumerate().for_each(|(i, &c)| by_class[c].push(i));
    let exact: Vec<f64> = by_class
        .iter()
        .map(|m| m.len() as f64 * n_test as f64 / x.len() as f64)
        .collect();
    let mut quota: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut by_remainder: Vec<usize> = (0..classes).collect();
    by_remainder
        .sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    let missing = n_test - quota.iter().sum::<usize>();
    by_remainder
        .iter()
        .take(missing)
        .for_each(|&c| quota[c] += 1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut test = vec![false; x.len()];
    for (members, &q) in by_class.iter_mut().zip(&quota) {
        members.shuffle(&mut rng);
        members[..q.min(members.len())]
            .iter()
            .for_each(|&i| test[i] = true);
    }
    Ok(take(x, y, &test))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_are_seeded_disjoint_and_complete() {
        let x: Vec<usize> = (0..10).collect();
        let s = train_test_split(&x, &x, 0.25, 1).unwrap();
        assert_eq!((s.x_train.len(), s.x_test.len()), (7, 3));
        assert_eq!(s, train_test_split(&x, &x, 0.25, 1).unwrap());
        assert_ne!(s.x_test, train_test_split(&x, &x, 0.25, 2).unwrap().x_test);
        let mut all: Vec<usize> = s.x_train.iter().chain(&s.x_test).copied().collect();
        all.sort();
        assert_eq!(all, x);
        assert_eq!(s.x_test, s.y_test, "inputs and targets stay paired");
        assert!(train_test_split(&x, &x[..9], 0.2, 0).is_err());
        assert!(train_test_split(&x, &x, 1.0, 0).is_err());
    }

    #[test]
    fn stratification_keeps_class_shares() {
        let y: Vec<usize> = (0..100)
            .map(|i| {
                if i < 80 {
                    0
                } else if i < 95 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let x: Vec<usize> = (0..100).collect();
        let s = stratified_split(&x, &y, 0.2, 3).unwrap();
        let count = |v: &[usize], c| v.iter().filter(|&&l| l == c).count();
        assert_eq!(s.y_test.len(), 20);
        assert_eq!(
            (
                count(&s.y_test, 0),
                count(&s.y_test, 1),
                count(&s.y_test, 2)
            ),
            (16, 3, 1)
        );
        assert!(s.x_test.iter().zip(&s.y_test).all(|(&xi, &yi)| y[xi] == yi));
    }
}
