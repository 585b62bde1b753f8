use typed_nn::prelude::*;

model! { struct Many { Input<4> => Dense<0> => Dropout<2.0> => Flaten => Dense<3, Tanhh> } }

fn main() {}
