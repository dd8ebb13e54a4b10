// Link arguments shared by `crates/firewatch/build.rs` (the binary) and
// `crates/node-exporter/build.rs` (its example), which `include!` this file.

/// Prints the link arguments for the targets of `kind` (`bins` or `examples`): packed relative
/// relocations on glibc Linux, and with rustc's bundled LLD the function order of `order` and
/// the read-only data layout of `rodata.ld` beside it (see `link-order/generate`).
fn print_link_args(kind: &str, order: &std::path::Path) {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-{kind}=-Wl,-z,pack-relative-relocs");
    }
    let lld = links_with_bundled_lld();
    if lld && order.exists() {
        println!("cargo:rerun-if-changed={}", order.display());
        println!(
            "cargo:rustc-link-arg-{kind}=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        // Names the binary no longer has (the list is older than the code) are skipped.
        println!("cargo:rustc-link-arg-{kind}=-Wl,--no-warn-symbol-ordering");
    }
    let rodata = order.with_file_name("rodata.ld");
    if lld && rodata.exists() {
        // Only adds an output section (INSERT BEFORE .rodata): the default layout stays.
        println!("cargo:rerun-if-changed={}", rodata.display());
        println!("cargo:rustc-link-arg-{kind}=-Wl,-T,{}", rodata.display());
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
