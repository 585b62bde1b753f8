use typed_nn::prelude::*;

model! { struct Iris { Input<4> => Dense<8, Relu> => Dense<3, Softmax> } }

// Targets of the wrong type for the loss, in `fit`, `evaluate` and `train_step` alike: each
// error points at the targets and says which type the loss takes.
fn main() {
    let mut net = Iris::new(0);
    let x = vec![[0.0f32; 4]; 6];
    let one_hot = vec![[0.0f32, 1.0, 0.0]; 6];
    let labels = vec![1usize; 6];
    let flat = vec![0.0f32; 18];

    let _ = net.fit(&x, &one_hot, Fit::new(SparseCategoricalCrossentropy, Adam::new(0.01)));
    let _ = net.fit(&x, &labels, Fit::new(CategoricalCrossentropy, Adam::new(0.01)));
    let _ = net.fit(&x, &flat, Fit::new(CategoricalCrossentropy, Adam::new(0.01)));

    let _ = net.evaluate(&x, &one_hot, &SparseCategoricalCrossentropy, [Metric::Accuracy]);
    let _ = net.evaluate(&x, &labels, &CategoricalCrossentropy, [Metric::Accuracy]);
    let _ = net.evaluate(&x, &flat, &MeanSquaredError, []);

    let _ = net.train_step(&mut Sgd::new(0.1), &SparseCategoricalCrossentropy, &x, &one_hot);
    let _ = net.train_step(&mut Sgd::new(0.1), &CategoricalCrossentropy, &x, &labels);
    let _ = net.train_step(&mut Sgd::new(0.1), &BinaryCrossentropy, &x, &flat);
}
