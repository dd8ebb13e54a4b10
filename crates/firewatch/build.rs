//! Link options of the `firewatch` binary. On glibc Linux its relative relocations are packed
//! (`-z pack-relative-relocs`, glibc 2.36's `DT_RELR`): the position-independent binary's
//! 1.4 MB relocation table, which the loader reads whole at every start and which then stays
//! resident, becomes a few kilobytes. A linker or C library without `DT_RELR` support leaves
//! the table as it was (GNU ld only packs when libc defines `GLIBC_ABI_DT_RELR`).
//!
//! Where rustc links with its bundled LLD (x86_64 Linux from Rust 1.90, no other linker
//! configured), the functions `firewatch node-exporter` runs come first in `.text`, in the
//! order of `crates/node-exporter/link-order/functions.txt` (LLD's `--symbol-ordering-file`;
//! how the list is made and why: `crates/node-exporter/link-order/generate`). The exporter
//! then maps about 1 MiB of code instead of 6 MiB of pages spread through the binary; the
//! rest of the binary only moves.

include!("../node-exporter/link-order/link_args.rs");

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../node-exporter/link-order/link_args.rs");
    let order = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../node-exporter/link-order/functions.txt");
    print_link_args("bins", &order);
}
