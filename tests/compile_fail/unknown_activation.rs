use typed_nn::prelude::*;

model! { struct Typo { Input<4> => Dense<8, Rellu> => Dense<2, Softmx> } }

fn main() {}
