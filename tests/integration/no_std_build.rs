//! `nn-core` builds without its `std` feature (`#![no_std]` with `alloc`: layers, kernels,
//! losses, optimizers and inference; training, I/O and data off). Checked by type-checking it
//! (`cargo check`: what `no_std` rules out are names, which checking finds).

use std::path::PathBuf;
use std::process::Command;

/// A target directory of its own beside this test's (cargo locks the one running the tests),
/// wherever `CARGO_TARGET_DIR` put that: this binary is `<target>/<profile>/deps/<name>`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .ancestors()
        .nth(2)
        .expect("the binary sits in <profile>/deps");
    profile_dir.join("no-std-check")
}

#[test]
fn nn_core_builds_without_std() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["check", "--quiet", "-p", "nn-core", "--no-default-features"])
        .arg("--target-dir")
        .arg(target_dir())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "no-std build failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
