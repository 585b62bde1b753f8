use typed_nn::prelude::*;

model! { struct Mnist { Input<28, 28> => Flatten => Dense<10, Softmax> } }

fn main() {
    let net = Mnist::new(0);
    let _ = net.predict(&[0.0f32; 784]);
}
