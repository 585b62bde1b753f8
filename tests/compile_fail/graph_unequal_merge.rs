use typed_nn::prelude::*;

model! {
    struct Unequal {
        let a = Input<4>;
        let b = Input<3>;
        let h = b => Dense<8, Relu>;
        Add(a, h) => Dense<2>
    }
}

fn main() {}
