use typed_nn::prelude::*;

model! { struct Twice { Input<4> => Dense<8> => Input<8> => Dense<2> } }

fn main() {}
