//! Compile-time behaviour of `model!`, pinned with trybuild: every impossible chain and every
//! misuse of a generated type fails with a message that names the layer, the shapes or the
//! expected type (`tests/ui/fail/*.stderr`); the contract's examples compile (`tests/ui/pass`).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
