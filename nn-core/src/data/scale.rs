//! Feature scaling fitted on training data and applied to any data: `MinMaxScaler` and
//! `StandardScaler`, as scikit-learn defines them.

use crate::{Error, Float};

/// Per-feature affine map `x * scale + offset`, learned by `fit`.
#[derive(Clone, Debug, PartialEq)]
struct Affine {
    scale: Vec<f64>,
    offset: Vec<f64>,
}

impl Affine {
    /// `Err` unless the map was fitted on `N` features.
    fn check_width<const N: usize>(&self, who: &str) -> Result<(), Error> {
        if self.scale.len() != N {
            return Err(Error::InvalidConfig(format!(
                "{who} was fitted on {} features, not {N}",
                self.scale.len()
            )));
        }
        Ok(())
    }

    fn apply<T: Float, const N: usize>(
        &self,
        x: &[[T; N]],
        who: &str,
    ) -> Result<Vec<[T; N]>, Error> {
        self.check_width::<N>(who)?;
        Ok(x.iter()
            .map(|row| {
                std::array::from_fn(|i| T::of(row[i].as_f64() * self.scale[i] + self.offset[i]))
            })
            .collect())
    }

    fn invert<T: Float, const N: usize>(
        &self,
        x: &[[T; N]],
        who: &str,
    ) -> Result<Vec<[T; N]>, Error> {
        self.check_width::<N>(who)?;
        Ok(x.iter()
            .map(|row| {
                std::array::from_fn(|i| T::of((row[i].as_f64() - self.offset[i]) / self.scale[i]))
            })
            .collect())
    }
}

fn columns<T: Float, const N: usize>(x: &[[T; N]], who: &str) -> Result<(), Error> {
    if x.is_empty() {
        return Err(Error::InvalidConfig(format!(
            "{who} needs at least one sample to fit"
        )));
    }
    if let Some((index, value)) = x
        .iter()
        .enumerate()
        .find_map(|(i, r)| r.iter().find(|v| !v.is_finite()).map(|v| (i, v.as_f64())))
    {
        return Err(Error::NonFinite {
            what: "scaler fit",
            index,
            value,
        });
    }
    Ok(())
}

/// Scales every feature to `[min, max]` (default `[0, 1]`) using the training data's range.
/// A constant feature maps to `min`.
#[derive(Clone, Debug, PartialEq)]
pub struct MinMaxScaler {
    affine: Affine,
}

impl MinMaxScaler {
    /// Fits the range of each feature of `x` to `[0, 1]`.
    pub fn fit<T: Float, const N: usize>(x: &[[T; N]]) -> Result<Self, Error> {
        Self::fit_range(x, 0.0, 1.0)
    }

    /// Fits to `[low, high]`, e.g. `(-1, 1)`.
    pub fn fit_range<T: Float, const N: usize>(
        x: &[[T; N]],
        low: f64,
        high: f64,
    ) -> Result<Self, Error> {
        columns(x, "MinMaxScaler")?;
        let mut scale = vec![0.0; N];
        let mut offset = vec![0.0; N];
        for i in 0..N {
            let (lo, hi) = x
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| {
                    let v = r[i].as_f64();
                    (lo.min(v), hi.max(v))
                });
            let range = if hi > lo { hi - lo } else { 1.0 };
            scale[i] = (high - low) / range;
            offset[i] = low - lo * scale[i];
        }
        Ok(Self {
            affine: Affine { scale, offset },
        })
    }

    /// Scales `x` with the fitted ranges.
    pub fn transform<T: Float, const N: usize>(&self, x: &[[T; N]]) -> Result<Vec<[T; N]>, Error> {
        self.affine.apply(x, "MinMaxScaler")
    }

    /// Undoes [`MinMaxScaler::transform`].
    pub fn inverse_transform<T: Float, const N: usize>(
        &self,
        x: &[[T; N]],
    ) -> Result<Vec<[T; N]>, Error> {
        self.affine.invert(x, "MinMaxScaler")
    }
}

/// Centres every feature on the training mean and divides by its (population) standard
/// deviation; a constant feature is only centred.
#[derive(Clone, Debug, PartialEq)]
pub struct StandardScaler {
    affine: Affine,
    /// The fitted means.
    pub mean: Vec<f64>,
    /// The fitted standard deviations.
    pub std: Vec<f64>,
}

impl StandardScaler {
    /// Fits mean and standard deviation of each feature of `x`.
    pub fn fit<T: Float, const N: usize>(x: &[[T; N]]) -> Result<Self, Error> {
        columns(x, "StandardScaler")?;
        let n = x.len() as f64;
        let mean: Vec<f64> = (0..N)
            .map(|i| x.iter().map(|r| r[i].as_f64()).sum::<f64>() / n)
            .collect();
        let std: Vec<f64> = (0..N)
            .map(|i| {
                (x.iter()
                    .map(|r| (r[i].as_f64() - mean[i]).powi(2))
                    .sum::<f64>()
                    / n)
                    .sqrt()
            })
            .collect();
        let scale: Vec<f64> = std
            .iter()
            .map(|&s| if s > 0.0 { 1.0 / s } else { 1.0 })
            .collect();
        let offset = mean.iter().zip(&scale).map(|(m, s)| -m * s).collect();
        Ok(Self {
            affine: Affine { scale, offset },
            mean,
            std,
        })
    }

    /// Standardises `x` with the fitted statistics.
    pub fn transform<T: Float, const N: usize>(&self, x: &[[T; N]]) -> Result<Vec<[T; N]>, Error> {
        self.affine.apply(x, "StandardScaler")
    }

    /// Undoes [`StandardScaler::transform`].
    pub fn inverse_transform<T: Float, const N: usize>(
        &self,
        x: &[[T; N]],
    ) -> Result<Vec<[T; N]>, Error> {
        self.affine.invert(x, "StandardScaler")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_max_maps_the_training_range_and_applies_it_to_new_data() {
        let train = [[0.0f32, 10.0, 5.0], [5.0, 20.0, 5.0], [10.0, 30.0, 5.0]];
        let s = MinMaxScaler::fit(&train).unwrap();
        assert_eq!(
            s.transform(&train).unwrap(),
            vec![[0.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1.0, 1.0, 0.0]]
        );
        assert_eq!(
            s.transform(&[[20.0f32, 0.0, 5.0]]).unwrap(),
            vec![[2.0, -0.5, 0.0]]
        );
        let sym = MinMaxScaler::fit_range(&train, -1.0, 1.0).unwrap();
        assert_eq!(sym.transform(&train).unwrap()[2], [1.0, 1.0, -1.0]);
        assert_eq!(
            s.inverse_transform(&s.transform(&train).unwrap()).unwrap(),
            train.to_vec()
        );
        assert!(s.transform(&[[1.0f32, 2.0]]).is_err());
        assert!(MinMaxScaler::fit::<f32, 3>(&[]).is_err());
        assert!(MinMaxScaler::fit(&[[f32::NAN]]).is_err());
    }

    #[test]
    fn standard_scaler_gives_zero_mean_unit_variance_on_train() {
        let train = [[1.0f64, 7.0], [2.0, 7.0], [3.0, 7.0], [4.0, 7.0]];
        let s = StandardScaler::fit(&train).unwrap();
        let z = s.transform(&train).unwrap();
        let mean: f64 = z.iter().map(|r| r[0]).sum::<f64>() / 4.0;
        let var: f64 = z.iter().map(|r| r[0] * r[0]).sum::<f64>() / 4.0;
        assert!(mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-12);
        assert!(
            z.iter().all(|r| r[1] == 0.0),
            "constant features are only centred"
        );
        assert_eq!(s.mean, [2.5, 7.0]);
    }
}
