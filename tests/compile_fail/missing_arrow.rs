use typed_nn::prelude::*;

model! { struct Broken { Input<4> Dense<2> } }

fn main() {}
