use typed_nn::prelude::*;

model! {
    struct TooMuch { Input<4> => Dropout<1.5> => Dense<2> }
    struct AllOfIt { Input<4> => Dropout<1.0> => Dense<2> }
}

fn main() {}
