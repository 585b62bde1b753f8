use typed_nn::prelude::*;

model! { struct NoInput { Dense<10> => Dense<2, Softmax> } }

fn main() {}
