//! Benchmarks of `FastRegex` fast paths against the plain compiled regex.

fn main() {}
