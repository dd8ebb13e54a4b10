//! Link options of the crate's example binary (`examples/serve.rs`, the exporter alone), as
//! the `firewatch` binary's (see `crates/firewatch/build.rs`), so the benchmark of either
//! measures the same loader work and code layout: on glibc Linux its relative relocations are
//! packed (`-z pack-relative-relocs`), and with rustc's bundled LLD the functions the exporter
//! runs come first in `.text` (`link-order/functions.txt`, see `link-order/generate`).

include!("link-order/link_args.rs");

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link-order/link_args.rs");
    let order = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("link-order/functions.txt");
    print_link_args("examples", &order);
}
