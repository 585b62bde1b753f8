//! The contract's graph examples compile as written there, with the types it names.
use typed_nn::prelude::*;

model! {
    pub struct Wide {
        let a = Input<10>;
        let b = Input<28>;
        let h = b => Dense<16, Relu> => Dense<8, Relu>;
        let c = Concatenate(a, h);                   // (18)
        let main = c => Dense<1, Sigmoid>;
        let side = h => Dense<1>;
        (main, side)
    }
    pub struct Residual {
        let x = Input<8>;
        let y = x => Dense<8, Relu> => Dense<8>;
        Add(x, y) => Relu => Dense<3, Softmax>
    }
    pub struct Siamese {
        let a = Input<6>;
        let b = Input<6>;
        let encode = Dense<4, Tanh>;                 // one layer, used twice
        Concatenate(a => encode, b => encode) => Dense<1, Sigmoid>
    }
    struct Joined {
        let a = Input<3, 4>;
        let b = Input<2, 4>;
        Concatenate<axis = 1>(a, b) => Flatten => Dense<2>
    }
    struct Shadow {
        let x = Input<4>;
        let x = x => Dense<64, Relu>;
        Subtract(x, x => Dense<64>) => Dense<1>
    }
}

pub fn run() -> Result<(), Error> {
    let mut net = Wide::new(1);
    let x: <Wide as Model>::Input = ([0.0f32; 10], [0.0f32; 28]);
    let y: <Wide as Model>::Output = net.predict(&x);
    let _: ([f32; 1], [f32; 1]) = y;
    let loss: f32 = net.train_step(
        &mut Adam::new(0.001),
        &(BinaryCrossentropy, MeanSquaredError),
        &[x],
        &[y],
    );
    assert!(loss.is_finite());
    let history = net.fit(
        &[x, x],
        &[y, y],
        Fit::new((BinaryCrossentropy, MeanSquaredError), Adam::new(0.001))
            .loss_weights([1.0, 0.2])
            .metrics([Metric::Accuracy])
            .verbose(0),
    )?;
    let _: Option<&[f64]> = history.get("main_loss");
    let scores = net.evaluate(&[x], &[y], &(BinaryCrossentropy, MeanSquaredError), []);
    let _: Option<f32> = scores.named("side_loss");
    let _: [f32; 3] = Residual::new(2).predict(&[0.0; 8]);
    let _: [f32; 1] = Siamese::new(3).predict(&([0.0; 6], [0.0; 6]));
    let _: [f32; 2] = Joined::new(4).predict(&([[0.0; 4]; 3], [[0.0; 4]; 2]));
    let _: [f32; 1] = Shadow::new(5).predict(&[0.0; 4]);
    Ok(())
}
