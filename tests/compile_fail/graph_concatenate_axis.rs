use typed_nn::prelude::*;

model! {
    /// The default axis is the last: (3, 4) and (2, 4) differ on the first.
    struct LastAxis {
        let a = Input<3, 4>;
        let b = Input<2, 4>;
        Concatenate(a, b) => Flatten => Dense<2>
    }
    /// Axis 0 is the batch.
    struct BatchAxis {
        let a = Input<4>;
        let b = Input<4>;
        Concatenate<axis = 0>(a, b) => Dense<2>
    }
}

fn main() {}
