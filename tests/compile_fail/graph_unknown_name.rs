use typed_nn::prelude::*;

model! {
    struct Typo {
        let input = Input<4>;
        let hidden = input => Dense<8, Relu>;
        hiden => Dense<2>
    }
}

fn main() {}
