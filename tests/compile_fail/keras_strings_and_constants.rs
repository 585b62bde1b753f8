use typed_nn::prelude::*;

const UNITS: usize = 16;

model! { struct Constant { Input<4> => Dense<UNITS, Relu> => Dense<2> } }

model! { struct Strings { Input<4> => Dense<16, activation = "relu"> => Dense<2> } }

fn main() {}
