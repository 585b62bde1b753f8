use typed_nn::prelude::*;

model! {
    struct Unused {
        let a = Input<4>;
        let b = Input<4>;
        let h = a => Dense<8, Relu>;
        let spare = Dense<3>;
        a => Dense<2>
    }
}

fn main() {}
