//! The Keras parity and allocation tests run again with the kernels capped at AVX2 and at the
//! portable build (`TYPED_NN_MAX_ISA`), each in a child process of this test binary: on an
//! AVX-512 machine that is the only way the other sets' code runs end to end (the kernels' own
//! tests compare every set, but one product at a time).

use std::process::Command;

use typed_nn::__private::{Isa, MAX_ISA_ENV};

/// What [`the_kernels_run_on`] prints, for the parent to find in the child's output.
const RUNS_ON: &str = "kernels run on";

/// Prints the instruction set the kernels run on: the parent below runs it, with
/// `--nocapture`, in each capped child to see that the cap took.
#[test]
fn the_kernels_run_on() {
    println!("{RUNS_ON} {:?}", Isa::detect());
}

#[test]
fn keras_parity_and_allocations_hold_with_the_kernels_capped() {
    // A whole run already capped (or a child of this test) sets the caps itself.
    if std::env::var_os(MAX_ISA_ENV).is_some() {
        return;
    }
    let best = Isa::available().next().expect("at least the portable set");
    for (cap, capped) in [("avx2", Isa::Avx2Fma), ("portable", Isa::Portable)] {
        // Only caps below this CPU's best set run other code.
        if capped == best || !Isa::available().any(|isa| isa == capped) {
            continue;
        }
        let out = Command::new(std::env::current_exe().expect("the test binary's path"))
            .args([
                "keras_parity::",
                "keras_graph_parity::",
                "keras_import::",
                "baked::",
                "no_alloc::",
                "instruction_sets::the_kernels_run_on",
                "--skip",
                "instruction_sets::keras_parity_and_allocations_hold_with_the_kernels_capped",
                "--nocapture",
            ])
            .env(MAX_ISA_ENV, cap)
            .output()
            .expect("the test binary runs again");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "capped at {cap}:\n{stdout}\n{stderr}");
        assert!(
            stdout.contains(&format!("{RUNS_ON} {capped:?}")),
            "capped at {cap}, the kernels did not run on {capped:?}:\n{stdout}"
        );
        for module in [
            "keras_parity",
            "keras_graph_parity",
            "keras_import",
            "baked",
            "no_alloc",
        ] {
            assert!(
                stdout.contains(&format!("test {module}::")),
                "capped at {cap}, no {module} test ran:\n{stdout}"
            );
        }
    }
}
