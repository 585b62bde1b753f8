//! Arbitrary bytes as an IDX file (plain or gzip): parsed or rejected, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(array) = typed_nn::data::parse_idx_bytes(data, std::path::Path::new("fuzz")) {
        assert_eq!(array.dims.iter().product::<usize>(), array.data.len());
    }
});
