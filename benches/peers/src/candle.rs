//! candle's side: the 784-300-10 MLP, the tiny model and LeNet-5 with candle-core / candle-nn on the
//! CPU device.

use std::hint::black_box;

use candle_core::{DType, Device, Tensor};
use candle_nn::{Conv2dConfig, Module, Optimizer, ParamsAdamW, VarBuilder, VarMap};

use crate::median_seconds;

/// Times the three workloads; `Err` if candle refuses something (reported, not fatal).
pub fn rows(xs: &[f32], labels: &[u32]) -> candle_core::Result<Vec<(&'static str, f64)>> {
    let dev = Device::Cpu;
    let vars = VarMap::new();
    let vb = VarBuilder::from_varmap(&vars, DType::F32, &dev);
    let l1 = candle_nn::linear(784, 300, vb.pp("l1"))?;
    let l2 = candle_nn::linear(300, 10, vb.pp("l2"))?;
    let forward = |x: &Tensor| -> candle_core::Result<Tensor> {
        let logits = l2.forward(&l1.forward(x)?.relu()?)?;
        candle_nn::ops::softmax_last_dim(&logits)
    };
    let x128 = Tensor::from_slice(xs, (128, 784), &dev)?;
    let x1 = Tensor::from_slice(&xs[..784], (1, 784), &dev)?;
    let y128 = Tensor::from_slice(labels, 128, &dev)?;
    let batch1 = median_seconds(21, 500, || {
        black_box(
            forward(&x1)
                .and_then(|y| y.to_vec2::<f32>())
                .expect("candle forward"),
        );
    });
    let batch128 = median_seconds(21, 20, || {
        black_box(
            forward(&x128)
                .and_then(|y| y.to_vec2::<f32>())
                .expect("candle forward"),
        );
    });
    let mut sgd = candle_nn::SGD::new(vars.all_vars(), 0.01)?;
    let train = median_seconds(21, 10, || {
        let logits = l2
            .forward(&l1.forward(&x128).unwrap().relu().unwrap())
            .unwrap();
        let loss = candle_nn::loss::cross_entropy(&logits, &y128).unwrap();
        sgd.backward_step(&loss).expect("candle step");
    });
    let t1 = Tensor::from_slice(&xs[..16], (1, 16), &dev)?;
    let tiny_vars = VarMap::new();
    let tb = VarBuilder::from_varmap(&tiny_vars, DType::F32, &dev);
    let (t_l1, t_l2) = (
        candle_nn::linear(16, 32, tb.pp("l1"))?,
        candle_nn::linear(32, 4, tb.pp("l2"))?,
    );
    let tiny1 = median_seconds(21, 2000, || {
        black_box(
            t_l1.forward(&t1)
                .and_then(|h| h.tanh())
                .and_then(|h| t_l2.forward(&h))
                .and_then(|y| y.to_vec2::<f32>())
                .expect("candle forward"),
        );
    });
    Ok(vec![
        ("mlp_predict_batch1", batch1),
        ("mlp_predict_batch128", batch128),
        ("mlp_train_step_batch128_sgd", train),
        ("tiny_predict_batch1", tiny1),
    ])
}

/// LeNet-5 as in `benches/lenet.rs` (channels first, as candle's convolutions want): batch-1
/// prediction and a batch-64 Adam step (candle's AdamW without weight decay is Adam).
pub fn lenet_rows(images: &[f32], labels: &[u32]) -> candle_core::Result<Vec<(&'static str, f64)>> {
    let dev = Device::Cpu;
    let vars = VarMap::new();
    let vb = VarBuilder::from_varmap(&vars, DType::F32, &dev);
    let same = Conv2dConfig {
        padding: 2,
        ..Default::default()
    };
    let c1 = candle_nn::conv2d(1, 6, 5, same, vb.pp("c1"))?;
    let c2 = candle_nn::conv2d(6, 16, 5, Default::default(), vb.pp("c2"))?;
    let d1 = candle_nn::linear(400, 120, vb.pp("d1"))?;
    let d2 = candle_nn::linear(120, 84, vb.pp("d2"))?;
    let d3 = candle_nn::linear(84, 10, vb.pp("d3"))?;
    let logits = |x: &Tensor| -> candle_core::Result<Tensor> {
        let h = c1.forward(x)?.relu()?.max_pool2d(2)?;
        let h = c2.forward(&h)?.relu()?.max_pool2d(2)?.flatten_from(1)?;
        d3.forward(&d2.forward(&d1.forward(&h)?.relu()?)?.relu()?)
    };
    let x64 = Tensor::from_slice(images, (64, 1, 28, 28), &dev)?;
    let x1 = Tensor::from_slice(&images[..784], (1, 1, 28, 28), &dev)?;
    let y64 = Tensor::from_slice(&labels[..64], 64, &dev)?;
    let batch1 = median_seconds(21, 200, || {
        black_box(
            logits(&x1)
                .and_then(|z| candle_nn::ops::softmax_last_dim(&z))
                .and_then(|y| y.to_vec2::<f32>())
                .expect("candle forward"),
        );
    });
    let params = ParamsAdamW {
        lr: 0.001,
        weight_decay: 0.0,
        ..Default::default()
    };
    let mut adam = candle_nn::AdamW::new(vars.all_vars(), params)?;
    let train = median_seconds(11, 5, || {
        let loss = candle_nn::loss::cross_entropy(&logits(&x64).unwrap(), &y64).unwrap();
        adam.backward_step(&loss).expect("candle step");
    });
    Ok(vec![
        ("lenet_predict_batch1", batch1),
        ("lenet_train_step_batch64_adam", train),
    ])
}
