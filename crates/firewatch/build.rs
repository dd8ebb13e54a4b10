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

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    let order = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../node-exporter/link-order/functions.txt");
    if links_with_bundled_lld() && order.exists() {
        println!("cargo:rerun-if-changed={}", order.display());
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        // Names the binary no longer has (the list is older than the code) are skipped.
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}

/// Whether rustc links this build with its bundled LLD: its default for
/// `x86_64-unknown-linux-gnu` since Rust 1.90, unless a linker, linker flavour or linker
/// features are configured (GNU ld has no `--symbol-ordering-file`).
fn links_with_bundled_lld() -> bool {
    let configured = |name: &str| std::env::var(name).unwrap_or_default();
    if configured("TARGET") != "x86_64-unknown-linux-gnu" || !configured("RUSTC_LINKER").is_empty()
    {
        return false;
    }
    let flags = configured("CARGO_ENCODED_RUSTFLAGS");
    if ["linker", "fuse-ld", "link-self-contained"]
        .iter()
        .any(|f| flags.contains(f))
    {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let Ok(out) = std::process::Command::new(rustc).arg("-V").output() else {
        return false;
    };
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let version = String::from_utf8_lossy(&out.stdout);
    let mut parts = version
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (1, 90)
}
