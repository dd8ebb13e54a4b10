//! Link options of the crate's example binary (`examples/serve.rs`, the exporter alone): on
//! glibc Linux its relative relocations are packed (`-z pack-relative-relocs`), as the
//! `firewatch` binary's are (see `crates/firewatch/build.rs`), so the benchmark of either
//! measures the same loader work.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-examples=-Wl,-z,pack-relative-relocs");
    }
}
