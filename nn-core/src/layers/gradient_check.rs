//! Finite-difference checks of a layer's `backward`, in f64 (test support).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Layer, Mode, Upstream};

/// The scalar `sum(c * y)` of a training-mode forward pass whose randomness is fixed by `seed`.
fn probe(layer: &dyn Layer<f64>, x: &[f64], c: &[f64], seed: u64, logits: bool) -> f64 {
    let batch = x.len() / layer.input_size();
    let mut y = vec![0.0; batch * layer.output_size()];
    let mut cache = vec![0.0; layer.cache_len(batch)];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    layer.forward(x, &mut y, &mut cache, Mode::Train(&mut rng));
    let values = if logits {
        layer.logits(x, &cache).expect("has logits").values.to_vec()
    } else {
        y
    };
    values.iter().zip(c).map(|(a, b)| a * b).sum()
}

fn assert_close(what: &str, i: usize, analytic: f64, numeric: f64) {
    assert!(
        (analytic - numeric).abs() <= 1e-6 * (1.0 + numeric.abs()),
        "{what}[{i}]: analytic {analytic} vs numeric {numeric}"
    );
}

/// Checks the input and weight gradients of `layer` on a random batch against central
/// differences, through the output (and through the logits when the layer has them).
pub(crate) fn check_layer(layer: &mut dyn Layer<f64>, batch: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    layer
        .weights_mut()
        .iter_mut()
        .for_each(|w| *w = rng.gen_range(-1.0..1.0));
    let x: Vec<f64> = (0..batch * layer.input_size())
        .map(|_| rng.gen_range(-2.0..2.0))
        .collect();
    let c: Vec<f64> = (0..batch * layer.output_size())
        .map(|_| rng.gen_range(-1.0..1.0))
        .collect();
    let seed = 5;
    let has_logits = {
        let mut cache = vec![0.0; layer.cache_len(batch)];
        let mut y = vec![0.0; c.len()];
        layer.forward(&x, &mut y, &mut cache, Mode::Evaluate);
        layer.logits(&x, &cache).is_some()
    };
    for through_logits in [false, true] {
        if through_logits && !has_logits {
            continue;
        }
        let mut y = vec![0.0; c.len()];
        let mut cache = vec![0.0; layer.cache_len(batch)];
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        layer.forward(&x, &mut y, &mut cache, Mode::Train(&mut r));
        // NaN: `backward` overwrites both (a cell it skips fails the check).
        let mut dx = vec![f64::NAN; x.len()];
        let mut grad = vec![f64::NAN; layer.weights().len()];
        let mut up = c.clone();
        let upstream = if through_logits {
            Upstream::Logits(&mut up)
        } else {
            Upstream::Output(&mut up)
        };
        layer.backward(&x, &y, &mut cache, upstream, Some(&mut dx), &mut grad);
        // Without an input gradient, in the cache that leaves room for none (the first
        // trainable layer's), the weight gradient is the same, bit for bit.
        let mut lean = vec![0.0; layer.cache_len_without_input_gradient(batch)];
        let mut y_lean = vec![0.0; c.len()];
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        layer.forward(&x, &mut y_lean, &mut lean, Mode::Train(&mut r));
        let mut grad_lean = vec![f64::NAN; grad.len()];
        let mut up = c.clone();
        let upstream = if through_logits {
            Upstream::Logits(&mut up)
        } else {
            Upstream::Output(&mut up)
        };
        layer.backward(&x, &y_lean, &mut lean, upstream, None, &mut grad_lean);
        let bits = |v: &[f64]| v.iter().map(|g| g.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&grad_lean),
            bits(&grad),
            "the weight gradient without dx"
        );

        let h = 1e-6;
        for i in 0..x.len() {
            let (mut a, mut b) = (x.clone(), x.clone());
            a[i] += h;
            b[i] -= h;
            let numeric = (probe(layer, &a, &c, seed, through_logits)
                - probe(layer, &b, &c, seed, through_logits))
                / (2.0 * h);
            assert_close("dx", i, dx[i], numeric);
        }
        for (i, &analytic) in grad.iter().enumerate() {
            let w = layer.weights()[i];
            layer.weights_mut()[i] = w + h;
            let plus = probe(layer, &x, &c, seed, through_logits);
            layer.weights_mut()[i] = w - h;
            let minus = probe(layer, &x, &c, seed, through_logits);
            layer.weights_mut()[i] = w;
            assert_close("dW", i, analytic, (plus - minus) / (2.0 * h));
        }
    }
}
