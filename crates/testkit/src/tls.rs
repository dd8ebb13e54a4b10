//! Test certificates made with the `openssl` command: a CA and a server certificate for
//! 127.0.0.1 signed by it, for TLS tests against real clients and servers.

use std::path::Path;
use std::process::Command;

/// Runs `openssl` with `args` in `dir`.
///
/// # Panics
/// When openssl cannot run or fails (its standard error is in the message).
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("running openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes a test CA (`ca.pem`, `ca.key`) and a server certificate for 127.0.0.1 signed by it
/// (`srv.pem`, `srv.key`) into `dir`, valid for a day, P-256 keys.
///
/// # Panics
/// When openssl fails.
pub fn make_certificates(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec![
        "req",
        "-x509",
        "-days",
        "1",
        "-subj",
        "/CN=firewatch-test-ca",
    ];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    openssl(dir, &ca);
    let mut csr = vec!["req", "-subj", "/CN=127.0.0.1"];
    csr.extend(ec);
    csr.extend(["-keyout", "srv.key", "-out", "srv.csr"]);
    openssl(dir, &csr);
    std::fs::write(
        dir.join("srv.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .expect("writing srv.ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "srv.ext",
            "-out",
            "srv.pem",
        ],
    );
}

/// Writes a client certificate (`cli.pem`, `cli.key`, CN `firewatch-test-client`) signed by
/// the CA that [`make_certificates`] wrote into `dir`.
///
/// # Panics
/// When openssl fails.
pub fn make_client_certificate(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-subj",
            "/CN=firewatch-test-client",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "cli.key",
            "-out",
            "cli.csr",
        ],
    );
    std::fs::write(
        dir.join("cli.ext"),
        "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n",
    )
    .expect("writing cli.ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "cli.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "cli.ext",
            "-out",
            "cli.pem",
        ],
    );
}
