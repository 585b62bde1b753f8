use typed_nn::prelude::*;

model! { struct Small { Input<3, 3, 2> => MaxPool2D<4> => Flatten => Dense<10> } }

fn main() {}
