use typed_nn::prelude::*;

model! {
    struct LayerOut {
        let a = Input<4>;
        let encode = Dense<3, Tanh>;
        (a => encode, encode)
    }
}

fn main() {}
