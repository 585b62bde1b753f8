use typed_nn::prelude::*;

model! {
    struct NoFilters { Input<8, 8, 1> => Conv2D<0, 3> => Flatten => Dense<2> }
    struct NoStride { Input<8, 8, 1> => Conv2D<4, 3, stride = (1, 0)> => Flatten => Dense<2> }
    struct NoPool { Input<8, 8, 1> => AvgPool2D<2, stride = 0> => Flatten => Dense<2> }
}

fn main() {}
