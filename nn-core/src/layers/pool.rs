//! `MaxPool2D` and `AvgPool2D` over channels-last samples.
//!
//! Max pooling ignores padding; average pooling with `same` padding divides by the number of
//! real cells under each window (padding is not counted), both as Keras does.

#[allow(unused_imports)]
use crate::prelude::*;

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
            /// Whether the windows tile the input: side by side without overlap or gaps, from
            /// the first row and column past the last (so each input cell lies in exactly one).
            const TILES: bool = SH == PH
                && SW == PW
                && PT < PH
                && PL < PW
                && OH * SH >= H + PT
                && OW * SW >= W + PL;

            /// The layer.
            pub const fn new() -> Self {
                Self
            }

            /// Window by window with a cell's `C` channels side by side, so that each step
            /// compares (or adds) contiguous values, branch-free. `RECORD`: keep each max's
            /// input index in `cache` (training); prediction's loop is compiled without it.
            fn pool<T: Float, const RECORD: bool>(x: &[T], y: &mut [T], cache: &mut [T]) {
                let lanes: [T; C] = core::array::from_fn(|c| T::of(c as f64));
                let samples = x.chunks_exact(H * W * C).zip(y.chunks_exact_mut(OH * OW * C));
                for (b, (sample, out)) in samples.enumerate() {
                    for (i, out) in out.chunks_exact_mut(OW * C).enumerate() {
                        let rows = real(i, SH, PT, PH, H);
                        for (j, out) in out.chunks_exact_mut(C).enumerate() {
                            let columns = real(j, SW, PL, PW, W);
                            // Max: the first real cell, then each later one that is strictly
                            // greater (a tie or a NaN stays with the earlier cell). Average:
                            // the sum over the real cells, divided by their count.
                            let mut value = [if $max { T::neg_infinity() } else { T::zero() }; C];
                            let mut arg = [T::zero(); C];
                            let mut count = 0usize;
                            for y in rows.clone() {
                                for at in columns.clone().map(|x| (y * W + x) * C) {
                                    let cell = &sample[at..at + C];
                                    if !$max {
                                        value.iter_mut().zip(cell).for_each(|(v, &x)| *v += x);
                                    } else if count == 0 {
                                        value.copy_from_slice(cell);
                                        let at = T::of(at as f64);
                                        arg.iter_mut().zip(&lanes).for_each(|(a, &c)| *a = at + c);
                                    } else {
                                        let at = T::of(at as f64);
                                        let lanes = cell.iter().zip(&lanes);
                                        for ((v, a), (&x, &c)) in value.iter_mut().zip(&mut arg).zip(lanes) {
                                            let greater = x > *v;
                                            *v = if greater { x } else { *v };
                                            *a = if greater { at + c } else { *a };
                                        }
                                    }
                                    count += 1;
                                }
                            }
                            if !$max {
                                let n = T::of(count.max(1) as f64);
                                value.iter_mut().for_each(|v| *v /= n);
                            }
                            out.copy_from_slice(&value);
                            if $max && RECORD {
                                let o = b * OH * OW * C + (i * OW + j) * C;
                                cache[o..o + C].copy_from_slice(&arg);
                            }
                        }
                    }
                }
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
                if $max && !cache.is_empty() {
                    Self::pool::<T, true>(x, y, cache)
                } else {
                    Self::pool::<T, false>(x, y, cache)
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
                if $max && Self::TILES {
                    // Each input cell lies in one window: it takes its window's gradient where
                    // it won and zero elsewhere, written once.
                    let lanes: [T; C] = core::array::from_fn(|c| T::of(c as f64));
                    for ((d_in, d_out), args) in dx
                        .chunks_exact_mut(H * W * C)
                        .zip(dy.chunks_exact(OH * OW * C))
                        .zip(cache.chunks_exact(OH * OW * C))
                    {
                        let windows = d_out.chunks_exact(C).zip(args.chunks_exact(C));
                        for (o, (d, args)) in windows.enumerate() {
                            let rows = real(o / OW, SH, PT, PH, H);
                            let columns = real(o % OW, SW, PL, PW, W);
                            for y in rows {
                                for at in columns.clone().map(|x| (y * W + x) * C) {
                                    let at_index = T::of(at as f64);
                                    let from = d.iter().zip(args).zip(&lanes);
                                    // `arg - at == c` rather than `arg == at + c` (the same on
                                    // these exact integers): LLVM rewrote the sum as an integer
                                    // add and a conversion per lane, three times slower.
                                    for (d_in, ((&d, &arg), &c)) in d_in[at..at + C].iter_mut().zip(from) {
                                        *d_in = if arg - at_index == c { d } else { T::zero() };
                                    }
                                }
                            }
                        }
                    }
                    return;
                }
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
                    // Average: each window's gradient shared among its real cells.
                    for (o, d) in d_out.chunks_exact(C).enumerate() {
                        let rows = real(o / OW, SH, PT, PH, H);
                        let columns = real(o % OW, SW, PL, PW, W);
                        let share = T::one() / T::of((rows.len() * columns.len()).max(1) as f64);
                        for y in rows {
                            for at in columns.clone().map(|x| (y * W + x) * C) {
                                let d_in = &mut d_in[at..at + C];
                                d_in.iter_mut().zip(d).for_each(|(d_in, &d)| *d_in += d * share);
                            }
                        }
                    }
                }
            }
        }
    };
}

/// The real (not padding) input rows, or columns, under window `i`: from `i * stride - pad`,
/// `k` long, cut to the input's `n`.
#[inline(always)]
fn real(i: usize, stride: usize, pad: usize, k: usize, n: usize) -> core::ops::Range<usize> {
    let start = i * stride;
    start.saturating_sub(pad).min(n)..(start + k).saturating_sub(pad).min(n)
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
        // valid with a last row and column no window reaches: 5x5, pool 2 -> 2x2
        check_layer(&mut MaxPool2D::<5, 5, 3, 2, 2, 2, 2, 0, 0, 2, 2>::new(), 2);
        check_layer(&mut AvgPool2D::<5, 5, 3, 2, 2, 2, 2, 0, 0, 2, 2>::new(), 2);
        // gaps between windows (stride 3, pool 2) and rectangular windows tiling 6x6 -> 2x3
        check_layer(&mut MaxPool2D::<6, 6, 2, 2, 2, 3, 3, 0, 0, 2, 2>::new(), 2);
        check_layer(&mut MaxPool2D::<6, 6, 2, 3, 2, 3, 2, 0, 0, 2, 3>::new(), 2);
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
