//! End-to-end tests live in `tests/`; this library holds what they share with the
//! benchmarks: the Lambda Runtime API emulator and the production configuration on moto.

pub mod lambda_runtime;
pub mod stack;
