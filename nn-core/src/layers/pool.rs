//! `MaxPool2D` and `AvgPool2D` over channels-last samples.
//!
//! Max pooling ignores padding; average pooling with `same` padding divides by the number of
//! real cells under each window (padding is not counted), both as Keras does.

#[allow(unused_imports)]
use crate::prelude::*;

use super::conv2d::Window;
use super::{output_gradient, Layer, Mode, Upstream};
use crate::Float;

macro_rules! pool_layer {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $name<
            const H: usize,
            const W: usize,
            const C: usize,
            const PH: usize,
            const PW: usize,
            const SH: usize,
            const SW: usize,
            const PT: usize,
            const PL: usize,
            const OH: usize,
            const OW: usize,
        >;

        impl<
                const H: usize,
                const W: usize,
                const C: usize,
                const PH: usize,
                const PW: usize,
                const SH: usize,
                const SW: usize,
                const PT: usize,
                const PL: usize,
                const OH: usize,
                const OW: usize,
            > $name<H, W, C, PH, PW, SH, SW, PT, PL, OH, OW>
        {
            const WINDOW: Window = Window { h: H, w: W, sh: SH, sw: SW, pt: PT, pl: PL };

            /// The layer.
            pub const fn new() -> Self {
                Self
            }
        }

        impl<
                T: Float,
                const H: usize,
                const W: usize,
                const C: usize,
                const PH: usize,
                const PW: usize,
                const SH: usize,
                const SW: usize,
                const PT: usize,
                const PL: usize,
                const OH: usize,
                const OW: usize,
            > Layer<T> for $name<H, W, C, PH, PW, SH, SW, PT, PL, OH, OW>
        {
            fn input_size(&self) -> usize {
                H * W * C
            }
            fn output_size(&self) -> usize {
                OH * OW * C
            }
            /// Max pooling keeps the index of each output's winning input cell.
            fn cache_len(&self, batch: usize) -> usize {
                if $max { batch * OH * OW * C } else { 0 }
            }
            fn forward(&self, x: &[T], y: &mut [T], cache: &mut [T], _mode: Mode<'_>) {
                let g = Self::WINDOW;
                let record = !cache.is_empty();
                for (b, (sample, out)) in x.chunks_exact(H * W * C).zip(y.chunks_exact_mut(OH * OW * C)).enumerate() {
                    for i in 0..OH {
                        for j in 0..OW {
                            for c in 0..C {
                                let mut best = T::neg_infinity();
                                let mut arg = 0;
                                let mut sum = T::zero();
                                let mut count = 0usize;
                                for u in 0..PH {
                                    for v in 0..PW {
                                        if let Some((yy, xx)) = g.cell(i, j, u, v) {
                                            let idx = (yy * W + xx) * C + c;
                                            let value = sample[idx];
                                            if value > best || count == 0 {
                                                best = value;
                                                arg = idx;
                                            }
                                            sum += value;
                                            count += 1;
                                        }
                                    }
                                }
                                let o = (i * OW + j) * C + c;
                                out[o] = if $max { best } else { sum / T::of(count.max(1) as f64) };
                                if $max && record {
                                    cache[b * OH * OW * C + o] = T::of(arg as f64);
                                }
                            }
                        }
                    }
                }
            }
            fn backward(
                &self,
                x: &[T],
                _y: &[T],
                cache: &mut [T],
                upstream: Upstream<'_, T>,
                dx: Option<&mut [T]>,
                _grad: &mut [T],
            ) {
                let Some(dx) = dx else { return };
                let dy = output_gradient(upstream);
                let g = Self::WINDOW;
                dx.iter_mut().for_each(|d| *d = T::zero());
                let batch = x.len() / (H * W * C);
                for b in 0..batch {
                    let d_in = &mut dx[b * H * W * C..(b + 1) * H * W * C];
                    let d_out = &dy[b * OH * OW * C..(b + 1) * OH * OW * C];
                    if $max {
                        let args = &cache[b * OH * OW * C..(b + 1) * OH * OW * C];
                        for (&d, &arg) in d_out.iter().zip(args) {
                            d_in[arg.to_usize().unwrap_or(0)] += d;
                        }
                        continue;
                    }
                    for i in 0..OH {
                        for j in 0..OW {
                            // The window's real cells, walked twice: to count, then to share.
                            let cells = || (0..PH).flat_map(move |u| (0..PW).filter_map(move |v| g.cell(i, j, u, v)));
                            let share = T::one() / T::of(cells().count().max(1) as f64);
                            for (yy, xx) in cells() {
                                for c in 0..C {
                                    d_in[(yy * W + xx) * C + c] += d_out[(i * OW + j) * C + c] * share;
                                }
                            }
                        }
                    }
                }
            }
        }
    };
}

pool_layer!(
    /// Max pooling with a `PH x PW` window, strides `SH, SW` and `PT, PL` cells of (ignored)
    /// padding above and to the left; output `OH x OW x C`.
    MaxPool2D,
    true
);

pool_layer!(
    /// Average pooling with a `PH x PW` window; with padding, each window averages only the
    /// real cells it covers.
    AvgPool2D,
    false
);

#[cfg(test)]
mod tests {
    use super::super::gradient_check::check_layer;
    use super::*;

    #[test]
    fn both_poolings_pass_the_gradient_check_valid_and_same() {
        check_layer(&mut MaxPool2D::<4, 4, 2, 2, 2, 2, 2, 0, 0, 2, 2>::new(), 2);
        check_layer(&mut AvgPool2D::<4, 4, 2, 2, 2, 2, 2, 0, 0, 2, 2>::new(), 2);
        // same, 5x5 window 2 stride 2 -> 3x3, pad total 1 (after): PT = PL = 0
        check_layer(&mut MaxPool2D::<5, 5, 1, 2, 2, 2, 2, 0, 0, 3, 3>::new(), 2);
        check_layer(&mut AvgPool2D::<5, 5, 1, 2, 2, 2, 2, 0, 0, 3, 3>::new(), 2);
        // overlapping windows: 3x3 window, stride 1, same: pad 1 each side
        check_layer(&mut AvgPool2D::<4, 3, 2, 3, 3, 1, 1, 1, 1, 4, 3>::new(), 2);
        check_layer(&mut MaxPool2D::<4, 3, 2, 3, 3, 1, 1, 1, 1, 4, 3>::new(), 2);
    }

    #[test]
    fn average_same_padding_divides_by_real_cells() {
        // 3x3 single channel, pool 2 stride 2 same -> 2x2; bottom-right window covers one cell.
        let x: Vec<f64> = (1..=9).map(f64::from).collect();
        let mut y = [0.0; 4];
        Layer::<f64>::forward(
            &AvgPool2D::<3, 3, 1, 2, 2, 2, 2, 0, 0, 2, 2>::new(),
            &x,
            &mut y,
            &mut [],
            Mode::Predict,
        );
        assert_eq!(
            y,
            [
                (1.0 + 2.0 + 4.0 + 5.0) / 4.0,
                (3.0 + 6.0) / 2.0,
                (7.0 + 8.0) / 2.0,
                9.0
            ]
        );
        let mut m = [0.0; 4];
        Layer::<f64>::forward(
            &MaxPool2D::<3, 3, 1, 2, 2, 2, 2, 0, 0, 2, 2>::new(),
            &x,
            &mut m,
            &mut [],
            Mode::Predict,
        );
        assert_eq!(m, [5.0, 6.0, 8.0, 9.0]);
    }

    #[test]
    fn max_pooling_takes_each_channel_apart_and_routes_ties_to_the_first_cell() {
        // 2x2 input, 3 channels, one 2x2 window: channel 0 rises, channel 1 is all ties,
        // channel 2 peaks at the first cell and holds a NaN later (comparisons skip it).
        let x = [
            1.0,
            7.0,
            9.0, //
            2.0,
            7.0,
            f64::NAN, //
            3.0,
            7.0,
            -1.0, //
            4.0,
            7.0,
            0.0,
        ];
        let pool = MaxPool2D::<2, 2, 3, 2, 2, 2, 2, 0, 0, 1, 1>::new();
        let (mut y, mut cache) = ([0.0; 3], [0.0; 3]);
        Layer::<f64>::forward(&pool, &x, &mut y, &mut cache, Mode::Evaluate);
        assert_eq!(y, [4.0, 7.0, 9.0]);
        let mut dx = [0.0; 12];
        let mut dy = [10.0, 20.0, 30.0];
        Layer::<f64>::backward(
            &pool,
            &x,
            &y,
            &mut cache,
            Upstream::Output(&mut dy),
            Some(&mut dx),
            &mut [],
        );
        let mut want = [0.0; 12];
        (want[9], want[1], want[2]) = (10.0, 20.0, 30.0);
        assert_eq!(dx, want);
    }
}
