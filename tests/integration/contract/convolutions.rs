//! Convolutional chains from the contract compile and run on stable Rust.
use typed_nn::prelude::*;

model! {
    struct LeNet5 {
        Input<28, 28, 1> => Conv2D<6, 5, Relu, padding = Same> => MaxPool2D<2> => Conv2D<16, 5, Relu>
            => MaxPool2D<2> => Flatten => Dense<120, Relu> => Dense<84, Relu> => Dense<10, Softmax>
    }
    struct Options {
        Input<9, 7, 3> => Conv2D<8, (3, 2), Elu, stride = (2, 1), padding = Same, init = HeUniform, l2 = 1e-4>
            => BatchNorm<momentum = 0.9, epsilon = 1e-5> => AvgPool2D<(2, 2), stride = 1, padding = Same>
            => MaxPool2D<3, stride = (2, 2)> => Dropout<0.25> => Flatten => Dense<4, Sigmoid>
    }
}

pub fn run() {
    assert_eq!(LeNet5::PARAMS, 61_706);
    let y: [f32; 10] = LeNet5::new(0).predict(&[[[0.0]; 28]; 28]);
    assert!(y.iter().all(|p| p.is_finite()));
    let _: [f32; 4] = Options::new(1).predict(&[[[0.1; 3]; 7]; 9]);
}
