//! The integration tests: the public API as a user's crate sees it, in one test binary (one
//! link instead of one per file). Each module is one subject; `compile_errors` pins the
//! compile-time errors with trybuild (`tests/compile_fail`).

mod baked;
mod compile_errors;
mod contract;
mod conv;
mod data;
mod diagrams;
mod gradients;
mod graphs;
mod instruction_sets;
mod keras_graph_parity;
mod keras_import;
mod keras_parity;
mod keras_support;
mod model_api;
mod no_alloc;
mod no_std_build;
mod persistence;
mod refusals;
mod resume;
mod tabular;
mod tensorboard;
mod training;
