use typed_nn::prelude::*;

// trybuild compiles this from target/tests/trybuild/typed-nn: the path climbs back to the repo.
model! {
    #[weights = "../../../../tests/fixtures/keras_mnist_mlp.safetensors"]
    struct WrongWidth { Input<28, 28> => Flatten => Dense<65, Relu> => Dense<10, Softmax> }
}

model! {
    #[weights = "no/such/file.safetensors"]
    struct Missing { Input<4> => Dense<2> }
}

fn main() {}
