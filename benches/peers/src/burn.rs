//! burn's side (burn-ndarray backend, autodiff for training): the 784-300-10 MLP, the tiny model and
//! LeNet-5.

use std::hint::black_box;

use burn::backend::{Autodiff, NdArray};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::optim::{AdamConfig, GradientsParams, Optimizer, SgdConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, softmax, tanh};

use crate::median_seconds;

type Cpu = NdArray<f32>;

#[derive(Module, Debug)]
struct Mlp<B: Backend> {
    l1: Linear<B>,
    l2: Linear<B>,
}

impl<B: Backend> Mlp<B> {
    fn new(device: &B::Device) -> Self {
        Self {
            l1: LinearConfig::new(784, 300).init(device),
            l2: LinearConfig::new(300, 10).init(device),
        }
    }
    fn logits(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.l2.forward(relu(self.l1.forward(x)))
    }
}

#[derive(Module, Debug)]
struct Tiny<B: Backend> {
    l1: Linear<B>,
    l2: Linear<B>,
}

/// Times the workloads; the ndarray backend's threads follow RAYON_NUM_THREADS.
pub fn rows(xs: &[f32], labels: &[u32]) -> Vec<(&'static str, f64)> {
    let device = Default::default();
    let mlp = Mlp::<Cpu>::new(&device);
    let x1 = Tensor::<Cpu, 2>::from_data(TensorData::new(xs[..784].to_vec(), [1, 784]), &device);
    let x128 = Tensor::<Cpu, 2>::from_data(TensorData::new(xs.to_vec(), [128, 784]), &device);
    let batch1 = median_seconds(21, 500, || {
        black_box(softmax(mlp.logits(x1.clone()), 1).into_data());
    });
    let batch128 = median_seconds(21, 20, || {
        black_box(softmax(mlp.logits(x128.clone()), 1).into_data());
    });

    let mut trained = Mlp::<Autodiff<Cpu>>::new(&device);
    let x =
        Tensor::<Autodiff<Cpu>, 2>::from_data(TensorData::new(xs.to_vec(), [128, 784]), &device);
    let targets: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    let y = Tensor::<Autodiff<Cpu>, 1, Int>::from_data(TensorData::new(targets, [128]), &device);
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let mut sgd = SgdConfig::new().init();
    let train = median_seconds(21, 10, || {
        let model = trained.clone();
        let loss = loss_fn.forward(model.logits(x.clone()), y.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        trained = sgd.step(0.01, model, grads);
    });

    let tiny = Tiny::<Cpu> {
        l1: LinearConfig::new(16, 32).init(&device),
        l2: LinearConfig::new(32, 4).init(&device),
    };
    let t1 = Tensor::<Cpu, 2>::from_data(TensorData::new(xs[..16].to_vec(), [1, 16]), &device);
    let tiny1 = median_seconds(21, 2000, || {
        black_box(
            tiny.l2
                .forward(tanh(tiny.l1.forward(t1.clone())))
                .into_data(),
        );
    });
    vec![
        ("mlp_predict_batch1", batch1),
        ("mlp_predict_batch128", batch128),
        ("mlp_train_step_batch128_sgd", train),
        ("tiny_predict_batch1", tiny1),
    ]
}

/// LeNet-5 as in `benches/lenet.rs`, channels first as burn's convolutions want.
#[derive(Module, Debug)]
struct LeNet5<B: Backend> {
    c1: Conv2d<B>,
    c2: Conv2d<B>,
    pool: MaxPool2d,
    d1: Linear<B>,
    d2: Linear<B>,
    d3: Linear<B>,
}

impl<B: Backend> LeNet5<B> {
    fn new(device: &B::Device) -> Self {
        Self {
            c1: Conv2dConfig::new([1, 6], [5, 5])
                .with_padding(PaddingConfig2d::Explicit(2, 2))
                .init(device),
            c2: Conv2dConfig::new([6, 16], [5, 5]).init(device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            d1: LinearConfig::new(400, 120).init(device),
            d2: LinearConfig::new(120, 84).init(device),
            d3: LinearConfig::new(84, 10).init(device),
        }
    }
    fn logits(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let h = self.pool.forward(relu(self.c1.forward(x)));
        let h = self.pool.forward(relu(self.c2.forward(h)));
        let h = relu(self.d1.forward(h.flatten(1, 3)));
        self.d3.forward(relu(self.d2.forward(h)))
    }
}

/// Times LeNet-5's batch-1 prediction and batch-64 Adam step.
pub fn lenet_rows(images: &[f32], labels: &[u32]) -> Vec<(&'static str, f64)> {
    let device = Default::default();
    let lenet = LeNet5::<Cpu>::new(&device);
    let x1 = Tensor::<Cpu, 4>::from_data(
        TensorData::new(images[..784].to_vec(), [1, 1, 28, 28]),
        &device,
    );
    let batch1 = median_seconds(21, 200, || {
        black_box(softmax(lenet.logits(x1.clone()), 1).into_data());
    });
    let mut trained = LeNet5::<Autodiff<Cpu>>::new(&device);
    let x = Tensor::<Autodiff<Cpu>, 4>::from_data(
        TensorData::new(images.to_vec(), [64, 1, 28, 28]),
        &device,
    );
    let targets: Vec<i64> = labels[..64].iter().map(|&l| l as i64).collect();
    let y = Tensor::<Autodiff<Cpu>, 1, Int>::from_data(TensorData::new(targets, [64]), &device);
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let mut adam = AdamConfig::new().init();
    let train = median_seconds(11, 5, || {
        let model = trained.clone();
        let loss = loss_fn.forward(model.logits(x.clone()), y.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        trained = adam.step(0.001, model, grads);
    });
    vec![
        ("lenet_predict_batch1", batch1),
        ("lenet_train_step_batch64_adam", train),
    ]
}
