use typed_nn::prelude::*;

model! { struct Typo { Input<4> => Dens<8, Relu> => Dense<2> } }

fn main() {}
