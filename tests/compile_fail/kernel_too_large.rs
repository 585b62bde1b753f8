use typed_nn::prelude::*;

model! { struct Small { Input<4, 4, 1> => Conv2D<16, 5> => Flatten => Dense<10> } }

fn main() {}
