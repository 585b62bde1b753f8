//! `nn-core` builds without its `std` feature (`#![no_std]` with `alloc`: layers, kernels,
//! losses, optimizers and inference; training, I/O and data off). Checked by building it.

use std::process::Command;

#[test]
fn nn_core_builds_without_std() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/no-std-check");
    let output = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "-p",
            "nn-core",
            "--no-default-features",
            "--target-dir",
        ])
        .arg(&target)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "no-std build failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
