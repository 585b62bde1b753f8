//! Arbitrary bytes as a weights file: `load_weights_from_bytes` returns Ok or Err, never panics,
//! and an Err leaves the model's weights as they were.
#![no_main]

use libfuzzer_sys::fuzz_target;
use typed_nn::prelude::*;

model! {
    struct Net { Input<4, 4, 1> => Conv2D<2, 3> => BatchNorm => Flatten => Dense<3, Softmax> }
}

fuzz_target!(|data: &[u8]| {
    let mut net = Net::new(1);
    let before = net.get_weights();
    if net.load_weights_from_bytes(data).is_err() {
        assert_eq!(net.get_weights(), before);
    }
});
