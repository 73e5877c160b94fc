//! End-to-end tests live in `tests/`; this library holds what they share with the
//! benchmarks: the Lambda Runtime API emulator.

pub mod lambda_runtime;
