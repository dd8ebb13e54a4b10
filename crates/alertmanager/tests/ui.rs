//! The Alertmanager UI as served: the page at `/`, its modules with a JavaScript content type,
//! unknown assets 404; and the UI's DOM-free module's unit tests run with node.

mod common;

use std::process::Command;

use common::request;

#[test]
fn ui_page_and_assets_are_served() {
    let dir = common::tempdir();
    let am = common::firewatch(dir.path(), "route: {receiver: r}\nreceivers: [{name: r}]\n");
    let (code, page) = request(am.port, "GET", "/", None);
    assert_eq!(code, 200);
    for asset in ["static/app.js", "static/style.css"] {
        assert!(page.contains(asset), "{page}");
    }
    for (path, kind) in [
        ("/static/app.js", "text/javascript"),
        ("/static/lib.mjs", "text/javascript"),
        ("/static/style.css", "text/css"),
    ] {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", am.port)).unwrap();
        use std::io::{Read, Write};
        write!(s, "GET {path} HTTP/1.0\r\n\r\n").unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let head = raw.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
        assert!(head.starts_with("http/1.0 200"), "{path}: {head}");
        assert!(
            head.contains(&format!("content-type: {kind}")),
            "{path}: {head}"
        );
    }
    assert_eq!(request(am.port, "GET", "/static/nope.js", None).0, 404);
    assert_eq!(
        request(am.port, "GET", "/static/../Cargo.toml", None).0,
        404
    );
}

#[test]
fn ui_lib_unit_tests_pass_in_node() {
    let Some(node) = testkit::find_on_path("node") else {
        testkit::skip("ui_lib_unit_tests_pass_in_node", "node is not installed");
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    let out = Command::new(node)
        .arg("--test")
        .arg("test/")
        .current_dir(&dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("# pass 6"), "{text}");
}
