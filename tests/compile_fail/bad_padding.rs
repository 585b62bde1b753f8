use typed_nn::prelude::*;

model! { struct Pad { Input<8, 8, 1> => Conv2D<4, 3, padding = Full> => Flatten => Dense<2> } }

fn main() {}
