use typed_nn::prelude::*;

model! { struct Opts { Input<4> => Dense<8, Relu, inti = HeNormal> => Dense<2, init = HeNormall> } }

fn main() {}
