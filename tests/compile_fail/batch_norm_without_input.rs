use typed_nn::prelude::*;

model! { struct Headless { BatchNorm => Dense<2> } }

fn main() {}
