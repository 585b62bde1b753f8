//! Compile-time behaviour of `model!`, pinned with trybuild: every impossible model and every
//! misuse of a generated type fails with a message that names the layer, the shapes or the
//! expected type (`tests/compile_fail/*.stderr`). The contract's examples that must compile
//! are the `contract` module of this binary, so trybuild only type-checks (`cargo check`).

#[test]
fn compile_errors() {
    trybuild::TestCases::new().compile_fail("tests/compile_fail/*.rs");
}
