use typed_nn::prelude::*;

model! { struct Empty { Input<4> => Dense<0> } }

fn main() {}
