//! The Keras parity tests run again with the kernels capped at AVX2 and at the portable build
//! (`TYPED_NN_MAX_ISA`), each in a child process of this test binary: on an AVX-512 machine
//! that is the only way the other sets' code runs end to end (the kernels' own tests compare
//! every set, but one product at a time).

use std::process::Command;

use typed_nn::__private::Isa;

/// What [`the_kernels_run_on`] prints, for the parent to find in the child's output.
const RUNS_ON: &str = "kernels run on";

/// Prints the instruction set the kernels run on (run with `--nocapture` by the parent).
#[test]
fn the_kernels_run_on() {
    println!("{RUNS_ON} {:?}", Isa::detect());
}

#[test]
fn keras_parity_holds_with_the_kernels_capped() {
    let best = Isa::available().next().expect("at least the portable set");
    for (cap, expected) in [("avx2", Isa::Avx2Fma), ("portable", Isa::Portable)] {
        // A CPU without AVX2 runs the portable set under either cap.
        let expected = if Isa::available().any(|isa| isa == expected) {
            expected
        } else {
            best
        };
        let out = Command::new(std::env::current_exe().expect("the test binary's path"))
            .args([
                "keras_parity::",
                "keras_graph_parity::",
                "keras_import::",
                "baked::",
                "instruction_sets::the_kernels_run_on",
                "--nocapture",
            ])
            .env("TYPED_NN_MAX_ISA", cap)
            .output()
            .expect("the test binary runs again");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "capped at {cap}:\n{stdout}\n{stderr}");
        assert!(
            stdout.contains(&format!("{RUNS_ON} {expected:?}")),
            "capped at {cap}, the kernels did not run on {expected:?}:\n{stdout}"
        );
        for module in [
            "keras_parity",
            "keras_graph_parity",
            "keras_import",
            "baked",
        ] {
            assert!(
                stdout.contains(&format!("test {module}::")),
                "capped at {cap}, no {module} test ran:\n{stdout}"
            );
        }
    }
}
