use typed_nn::prelude::*;

// A file of the wrong shapes is checked in `nn-macros/src/weights.rs`: trybuild builds this
// file far from the repository's fixtures, wherever the target directory is.
model! {
    #[weights = "no/such/file.safetensors"]
    struct Missing { Input<4> => Dense<2> }
}

fn main() {}
