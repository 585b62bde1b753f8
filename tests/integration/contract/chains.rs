//! Everything the contract promises compiles as written there.
use typed_nn::prelude::*;

model! {
    /// Doc comments and attributes pass through.
    #[derive(Clone, Debug)]
    pub struct Mnist {
        Input<28, 28> => Flatten => Dense<300, Relu> => Dropout<0.5> => Dense<10, Softmax>
    }

    struct Tabular { Input<13> => Dense<16, Relu, init = HeNormal, l2 = 0.001> => Dense<3, Softmax> }
    struct Image { Input<8, 8, 1> => Flatten => Dense<4, LeakyRelu<0.1>> => Elu<0.5> => Dense<1, Sigmoid> }
    struct Regressor { Input<4> => Dense<8, Tanh, l1 = 0.01, l2 = 0.01> => Dense<1> }
}

pub fn run() -> Result<(), Error> {
    const P: usize = Mnist::PARAMS;
    assert_eq!(P, 238_510);
    let mut net = Mnist::new(42);
    let x: <Mnist as Model>::Input = [[0.0; 28]; 28];
    let y: <Mnist as Model>::Output = net.predict(&x);
    let _: Vec<[f32; 10]> = net.predict_batch(&[x, x]);
    let w: Vec<f32> = net.get_weights();
    net.set_weights(&w)?;
    let _: String = net.summary();

    let mut opt = Adam::new(0.001);
    let loss: f32 = net.train_step(&mut opt, &CategoricalCrossentropy, &[x], &[y]);
    let _ = net.train_step(
        &mut Sgd::new(0.01).momentum(0.9).nesterov(true),
        &SparseCategoricalCrossentropy,
        &[x],
        &[3],
    );
    let _ = net.train_step(&mut Adagrad::new(0.01), &MeanSquaredError, &[x], &[y]);
    let _ = net.train_step(&mut RmsProp::new(0.001), &MeanAbsoluteError, &[x], &[y]);
    let _ = net.train_step(
        &mut Adam::new(0.001).amsgrad(true),
        &BinaryCrossentropy,
        &[x],
        &[y],
    );
    assert!(loss.is_finite());

    let xs = vec![x; 4];
    let ys = vec![y; 4];
    let history = net.fit(
        &xs,
        &ys,
        Fit::new(CategoricalCrossentropy, Adam::new(0.001))
            .epochs(1)
            .batch_size(2)
            .validation_split(0.5)
            .shuffle(true)
            .seed(7)
            .metrics([Metric::Accuracy])
            .verbose(0),
    )?;
    let _: &[f64] = history.loss();
    let scores = net.evaluate(&xs, &ys, &CategoricalCrossentropy, [Metric::Accuracy]);
    let _: f32 = scores.loss;

    let f64_net = Mnist::<f64>::new(1);
    let _: [f64; 10] = f64_net.predict(&[[0.0f64; 28]; 28]);
    let _ = (Tabular::new(1), Image::new(2), Regressor::new(3));
    Ok(())
}
