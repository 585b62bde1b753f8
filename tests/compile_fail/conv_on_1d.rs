use typed_nn::prelude::*;

model! { struct Flat { Input<784> => Conv2D<6, 5> => Flatten => Dense<10> } }

fn main() {}
