use typed_nn::prelude::*;

model! { struct NoFlatten { Input<28, 28> => Dense<300, Relu> => Dense<10, Softmax> } }

fn main() {}
