use typed_nn::prelude::*;

model! { struct Mnist { Input<28, 28> => Flatten => Dense<10, Softmax> } }

fn main() {
    let mut net = Mnist::new(0);
    let xs = vec![[[0.0f32; 28]; 28]; 2];
    let ys = vec![[0.0f32; 10]; 2];
    let vx = vec![[0.0f32; 784]; 2];
    let _ = net.fit(&xs, &ys, Fit::new(CategoricalCrossentropy, Adam::new(0.001)).validation_data(&vx, &ys));
}
