//! Whole-model gradients in f64: the gradient `train_step` applies (read back through SGD
//! with learning rate 1, so `w_after = w_before - g`) matches central differences of the loss
//! that `evaluate` reports, for every loss, both output activations of the logits shortcut,
//! kernel regularizers, and graphs: every merge, a shared layer, a residual block, two
//! outputs, and a tensor read by several layers.

use typed_nn::prelude::*;

#[path = "../../examples/custom_layer/layers.rs"]
mod custom;
use custom::{ParametricRelu, Softsign};

model! {
    #[derive(Clone)]
    struct SoftmaxNet { Input<3> => Dense<5, Tanh> => LeakyRelu<0.2> => Dense<4, Elu> => Dense<3, Softmax> }
    #[derive(Clone)]
    struct SoftmaxLayerNet { Input<3> => Dense<5, Sigmoid> => Dense<3> => Softmax }
    #[derive(Clone)]
    struct SigmoidNet { Input<3> => Dense<4, Relu, l2 = 0.05> => Dense<2, Sigmoid, l1 = 0.01> }
    #[derive(Clone)]
    struct ConvNet {
        Input<5, 6, 2> => Conv2D<3, (2, 3), Tanh, stride = (2, 1), padding = Same> => MaxPool2D<2, stride = 1>
            => Conv2D<2, 2, Elu> => AvgPool2D<2, padding = Same> => Flatten => Dense<3, Softmax>
    }
    #[derive(Clone)]
    struct RegressionNet { Input<2, 2> => Flatten => Dense<6, Elu<0.7>, l1 = 0.02, l2 = 0.03> => Dense<2> }
    #[derive(Clone)]
    struct MergeNet {
        let a = Input<3>;
        let p = a => Dense<4, Tanh>;
        let q = a => Dense<4, Sigmoid>;
        let r = a => Dense<4, Elu>;
        Concatenate(Subtract(p, q), Multiply(p, q, r), Average(p, q, r), Maximum(p, q, r), Minimum(p, r), Add(p, q, r))
            => Dense<3, Softmax>
    }
    #[derive(Clone)]
    struct SharedNet {
        let a = Input<3>;
        let b = Input<2, 2>;
        let encode = Dense<3, Tanh, l2 = 0.02>;
        let b = b => Flatten => Dense<3>;
        let x = Add(a => encode, b => encode => encode);
        x => Dense<2, Sigmoid>
    }
    #[derive(Clone)]
    struct TwoOutputs {
        let x = Input<3>;
        let h = x => Dense<5, Tanh>;
        let y = h => Dense<5> => Relu;
        let main = Add(h, y) => Dense<3, Softmax>;
        let side = Concatenate<axis = 1>(h, x) => Dense<2>;
        (main, side)
    }
    #[derive(Clone)]
    struct CustomNet {
        let x = Input<3>;
        let h = x => Dense<6, Softsign> => ParametricRelu;
        Add(h, x => Dense<6> => Activation<Softsign>) => Custom<ParametricRelu> => Dense<3, Softmax>
    }
    #[derive(Clone)]
    struct ConvResidualNet {
        let x = Input<4, 4, 2>;
        let h = x => Conv2D<3, 3, Tanh, padding = Same>;
        Concatenate(Add(h, h => Conv2D<3, 2, padding = Same>), x) => MaxPool2D<2> => Flatten => Dense<2, Sigmoid>
    }
}

const X: [[f64; 3]; 4] = [
    [0.3, -1.2, 0.8],
    [1.5, 0.1, -0.4],
    [-0.7, 0.9, 0.2],
    [0.05, -0.3, -1.1],
];

/// Checks every weight of `net` for the batch `(xs, ys)` under `loss`.
fn check<M, L>(mut net: M, xs: &[M::Input], ys: &[L::Target], loss: &L)
where
    M: Model<Scalar = f64> + Clone,
    L: Loss<f64, M::Output>,
{
    let w0 = net.get_weights();
    let mut stepped = net.clone();
    let reported = stepped.train_step(&mut Sgd::new(1.0), loss, xs, ys);
    let analytic: Vec<f64> = w0
        .iter()
        .zip(stepped.get_weights())
        .map(|(a, b)| a - b)
        .collect();
    let value = |w: &[f64], net: &mut M| {
        net.set_weights(w).unwrap();
        net.evaluate(xs, ys, loss, []).loss
    };
    assert!(
        (value(&w0, &mut net) - reported).abs() < 1e-12,
        "train_step reports the pre-update loss"
    );
    let h = 1e-6;
    for i in 0..w0.len() {
        let (mut a, mut b) = (w0.clone(), w0.clone());
        a[i] += h;
        b[i] -= h;
        let numeric = (value(&a, &mut net) - value(&b, &mut net)) / (2.0 * h);
        assert!(
            (numeric - analytic[i]).abs() < 1e-7 * (1.0 + numeric.abs()),
            "weight {i}: applied gradient {} vs numeric {numeric}",
            analytic[i]
        );
    }
}

#[test]
fn softmax_outputs_with_categorical_and_sparse_crossentropy() {
    let onehot = [
        [0.0, 1.0, 0.0],
        [1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0],
        [0.2, 0.3, 0.5],
    ];
    check(
        SoftmaxNet::<f64>::new(1),
        &X,
        &onehot,
        &CategoricalCrossentropy,
    );
    check(
        SoftmaxNet::<f64>::new(2),
        &X,
        &[1usize, 0, 2, 2],
        &SparseCategoricalCrossentropy,
    );
    check(
        SoftmaxLayerNet::<f64>::new(3),
        &X,
        &onehot,
        &CategoricalCrossentropy,
    );
    check(
        SoftmaxLayerNet::<f64>::new(4),
        &X,
        &[2usize, 0, 1, 1],
        &SparseCategoricalCrossentropy,
    );
    check(SoftmaxNet::<f64>::new(5), &X, &onehot, &MeanSquaredError);
}

#[test]
fn sigmoid_outputs_with_binary_crossentropy_and_penalties() {
    let y = [[1.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
    check(SigmoidNet::<f64>::new(6), &X, &y, &BinaryCrossentropy);
    check(SigmoidNet::<f64>::new(7), &X, &y, &MeanAbsoluteError);
}

#[test]
fn regression_with_mse_mae_and_l1_l2() {
    let xs = [
        [[0.1, 0.2], [0.3, -0.4]],
        [[-1.0, 0.5], [0.25, 0.75]],
        [[0.9, -0.1], [0.0, 0.3]],
    ];
    let ys = [[0.5, -1.0], [1.5, 0.25], [-0.3, 0.8]];
    check(RegressionNet::<f64>::new(8), &xs, &ys, &MeanSquaredError);
    check(RegressionNet::<f64>::new(9), &xs, &ys, &MeanAbsoluteError);
}

#[test]
fn convolutions_and_poolings_inside_a_model() {
    let xs: Vec<[[[f64; 2]; 6]; 5]> = (0..3)
        .map(|s| {
            std::array::from_fn(|r| {
                std::array::from_fn(|c| {
                    [
                        ((r * 6 + c + s) % 5) as f64 / 4.0 - 0.5,
                        ((r + 2 * c * s) % 7) as f64 / 6.0,
                    ]
                })
            })
        })
        .collect();
    check(
        ConvNet::<f64>::new(10),
        &xs,
        &[0usize, 2, 1],
        &SparseCategoricalCrossentropy,
    );
}

#[test]
fn every_merge_inside_a_model() {
    let onehot = [
        [0.0, 1.0, 0.0],
        [1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0],
        [0.2, 0.3, 0.5],
    ];
    check(
        MergeNet::<f64>::new(11),
        &X,
        &onehot,
        &CategoricalCrossentropy,
    );
    check(
        MergeNet::<f64>::new(12),
        &X,
        &[2usize, 0, 1, 1],
        &SparseCategoricalCrossentropy,
    );
}

#[test]
fn a_shared_layer_sums_the_gradients_of_every_application() {
    let xs: Vec<([f64; 3], [[f64; 2]; 2])> = X
        .iter()
        .map(|x| (*x, [[x[0], -x[1]], [x[2] * 0.5, 0.3]]))
        .collect();
    let y = [[1.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
    check(SharedNet::<f64>::new(13), &xs, &y, &BinaryCrossentropy);
}

#[test]
fn two_outputs_train_on_the_sum_of_their_losses() {
    let ys: Vec<([f64; 3], [f64; 2])> = (0..4)
        .map(|i| {
            let mut main = [0.0; 3];
            main[i % 3] = 1.0;
            (main, [i as f64 * 0.3 - 0.5, 1.0 - i as f64 * 0.2])
        })
        .collect();
    check(
        TwoOutputs::<f64>::new(14),
        &X,
        &ys,
        &(CategoricalCrossentropy, MeanSquaredError),
    );
    // One loss for every output, as Keras allows: targets shaped like the outputs' tuple.
    check(TwoOutputs::<f64>::new(15), &X, &ys, &MeanAbsoluteError);
    let labels: Vec<(usize, [f64; 2])> = ys.iter().enumerate().map(|(i, y)| (i % 3, y.1)).collect();
    check(
        TwoOutputs::<f64>::new(16),
        &X,
        &labels,
        &(SparseCategoricalCrossentropy, MeanAbsoluteError),
    );
}

#[test]
fn a_convolutional_residual_block() {
    let xs: Vec<[[[f64; 2]; 4]; 4]> = (0..3)
        .map(|s| {
            std::array::from_fn(|r| {
                std::array::from_fn(|c| {
                    [
                        ((r * 4 + c + s) % 5) as f64 / 4.0 - 0.5,
                        ((r + c * s) % 3) as f64 / 3.0,
                    ]
                })
            })
        })
        .collect();
    let y = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
    check(
        ConvResidualNet::<f64>::new(17),
        &xs,
        &y,
        &BinaryCrossentropy,
    );
}

#[test]
fn custom_activations_and_layers_with_their_own_weights() {
    let mut net = CustomNet::<f64>::new(18);
    assert_eq!(
        CustomNet::PARAMS,
        (3 * 6 + 6) + 6 + (3 * 6 + 6) + 6 + (6 * 3 + 3)
    );
    // Alphas away from zero (Keras starts them at zero), so both branches of PReLU count.
    let mut w = net.get_weights();
    let start = net.dense.weights().len();
    w[start..start + 6].copy_from_slice(&[0.1, 0.3, -0.2, 0.5, 0.05, 0.7]);
    net.set_weights(&w).unwrap();
    check(net, &X, &[2usize, 0, 1, 1], &SparseCategoricalCrossentropy);
}
