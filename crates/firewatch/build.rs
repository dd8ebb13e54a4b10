//! Link options of the `firewatch` binary. On glibc Linux its relative relocations are packed
//! (`-z pack-relative-relocs`, glibc 2.36's `DT_RELR`): the position-independent binary's
//! 1.4 MB relocation table, which the loader reads whole at every start and which then stays
//! resident, becomes a few kilobytes. A linker or C library without `DT_RELR` support leaves
//! the table as it was (GNU ld only packs when libc defines `GLIBC_ABI_DT_RELR`).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
