//! dfdx's side (CPU device, shapes in the types like typed-nn): the 784-300-10 MLP and the tiny model.

use std::hint::black_box;

use dfdx::optim::{Optimizer, Sgd, SgdConfig};
use dfdx::prelude::*;

use crate::median_seconds;

type Mlp = (Linear<784, 300>, ReLU, Linear<300, 10>);
type Tiny = (Linear<16, 32>, Tanh, Linear<32, 4>);

/// Times the workloads; dfdx's CPU kernels use the rayon pool (RAYON_NUM_THREADS).
pub fn rows(xs: &[f32], labels: &[u32]) -> Vec<(&'static str, f64)> {
    let dev = Cpu::seed_from_u64(1);
    let mut mlp = dev.build_module::<Mlp, f32>();
    let x1 = dev.tensor_from_vec(xs[..784].to_vec(), (Const::<1>, Const::<784>));
    let x128 = dev.tensor_from_vec(xs.to_vec(), (Const::<128>, Const::<784>));
    let batch1 = median_seconds(21, 500, || {
        black_box(mlp.forward(x1.clone()).softmax::<Axis<1>>().as_vec());
    });
    let batch128 = median_seconds(21, 20, || {
        black_box(mlp.forward(x128.clone()).softmax::<Axis<1>>().as_vec());
    });

    let mut one_hot = vec![0.0f32; 128 * 10];
    for (row, &l) in labels.iter().enumerate() {
        one_hot[row * 10 + l as usize] = 1.0;
    }
    let targets = dev.tensor_from_vec(one_hot, (Const::<128>, Const::<10>));
    let mut grads = mlp.alloc_grads();
    let mut sgd = Sgd::new(
        &mlp,
        SgdConfig {
            lr: 0.01,
            momentum: None,
            weight_decay: None,
        },
    );
    let train = median_seconds(21, 10, || {
        let logits = mlp.forward_mut(x128.trace(grads.clone()));
        let loss = cross_entropy_with_logits_loss(logits, targets.clone());
        grads = loss.backward();
        sgd.update(&mut mlp, &grads).expect("dfdx update");
        mlp.zero_grads(&mut grads);
    });

    let tiny = dev.build_module::<Tiny, f32>();
    let t1 = dev.tensor_from_vec(xs[..16].to_vec(), (Const::<1>, Const::<16>));
    let tiny1 = median_seconds(21, 2000, || {
        black_box(tiny.forward(t1.clone()).as_vec());
    });
    vec![
        ("mlp_predict_batch1", batch1),
        ("mlp_predict_batch128", batch128),
        ("mlp_train_step_batch128_sgd", train),
        ("tiny_predict_batch1", tiny1),
    ]
}
