//! Long GET URLs end to end through `web::serve`: a dashboard's `{instance=~"a|b|…"}` selector
//! makes request lines of tens or hundreds of kilobytes, which Prometheus accepts up to Go's
//! 1 MB header limit. Sent as raw HTTP/1.1 (HTTP clients built on the `http` crate cannot even
//! form a URI over 64 KiB), several requests on one connection so that framing is checked.

use std::sync::Arc;
use std::time::Duration;

mod support;

use firewatch_web::WebState;
use model::{Sample, labels};
use promql::{Engine, EngineOptions};
use serde_json::Value;
use storage::memory::MemoryStorage;
use support::NoHooks;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// Serves the API over `up` for 3 instances; returns the address and the server's stopper.
async fn start() -> (String, tokio::sync::oneshot::Sender<()>) {
    let db = MemoryStorage::new();
    for inst in ["a:1", "b:2", "c:3"] {
        db.add(
            &labels!("__name__" => "up", "job" => "node", "instance" => inst),
            0,
            Sample::Float(1.0),
        );
    }
    let state = WebState::new(
        Arc::new(db),
        Arc::new(Engine::new(EngineOptions::default())),
        Arc::new(NoHooks),
    );
    support::serve(state, None).await
}

/// How long a test's query is.
#[derive(Clone, Copy)]
enum Size {
    /// The selector's length.
    Selector(usize),
    /// The length of the selector URL-encoded.
    Encoded(usize),
}

/// `count(up{instance=~"10\\.0\\.0\\.0:9100|…|a:1|b:2"})` of about `size`: instances
/// regex-escaped as Grafana writes multi-value variables, so the URL-encoded form is nearly
/// twice as long (a 40 KB selector is a 72 KB URI).
fn long_selector(size: Size) -> String {
    let mut alts = Vec::new();
    let mut len = 0;
    let mut i = 0;
    let (Size::Selector(bytes) | Size::Encoded(bytes)) = size;
    while len < bytes {
        let alt = format!(
            "10\\\\.{}\\\\.{}\\\\.{}:9100",
            i >> 16,
            (i >> 8) & 255,
            i & 255
        );
        len += match size {
            Size::Selector(_) => alt.len() + 1,
            Size::Encoded(_) => encode(&alt).len() + 3,
        };
        alts.push(alt);
        i += 1;
    }
    alts.push("a:1".to_owned());
    alts.push("b:2".to_owned());
    format!("count(up{{instance=~\"{}\"}})", alts.join("|"))
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Reads one response (status line, headers, a `Content-Length` body).
async fn read_response(r: &mut BufReader<tokio::net::TcpStream>) -> (u16, String) {
    let mut line = String::new();
    r.read_line(&mut line).await.unwrap();
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no status line: {line:?}"))
        .parse()
        .unwrap();
    let mut len = 0;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).await.unwrap();
        if h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).await.unwrap();
    (status, String::from_utf8(body).unwrap())
}

/// A GET of `target` on the connection; the status and the body.
async fn get(r: &mut BufReader<tokio::net::TcpStream>, target: &str) -> (u16, String) {
    let req = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n");
    r.get_mut().write_all(req.as_bytes()).await.unwrap();
    read_response(r).await
}

/// The single value of a successful instant-query answer.
fn scalar_result(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:.300}"));
    assert_eq!(v["status"], "success", "{body:.300}");
    v["data"]["result"][0]["value"][1]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn long_queries_answered(size: Size) {
    let (addr, _stop) = start().await;
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut conn = BufReader::new(stream);
    let selector = long_selector(size);
    let q = encode(&selector);
    // Over the 64 KiB hyper and the `http` crate accept in a URI.
    assert!(q.len() > 65_534, "{}", q.len());

    let target = format!("/api/v1/query?query={q}&time=60");
    let (status, body) = get(&mut conn, &target).await;
    assert_eq!(status, 200, "{body:.300}");
    assert_eq!(scalar_result(&body), "2");

    // The same connection goes on: a POST with a body, a short GET, the long one again and a
    // long series and label values request.
    let form = "query=count(up)&time=60";
    let post = format!(
        "POST /api/v1/query HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    conn.get_mut().write_all(post.as_bytes()).await.unwrap();
    let (status, body) = read_response(&mut conn).await;
    assert_eq!(status, 200, "{body:.300}");
    assert_eq!(scalar_result(&body), "3");

    let (status, body) = get(&mut conn, "/api/v1/query?query=count(up)&time=60").await;
    assert_eq!(status, 200, "{body:.300}");
    assert_eq!(scalar_result(&body), "3");

    let (status, body) = get(&mut conn, &target).await;
    assert_eq!(status, 200, "{body:.300}");
    assert_eq!(scalar_result(&body), "2");

    let sel = encode(
        long_selector(size)
            .trim_start_matches("count(")
            .trim_end_matches(')'),
    );
    let (status, body) = get(&mut conn, &format!("/api/v1/series?match[]={sel}")).await;
    assert_eq!(status, 200, "{body:.300}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 2, "{body:.300}");

    let (status, body) = get(
        &mut conn,
        &format!("/api/v1/label/instance/values?match[]={sel}"),
    )
    .await;
    assert_eq!(status, 200, "{body:.300}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"], serde_json::json!(["a:1", "b:2"]));
}

#[tokio::test]
async fn get_query_with_40_kb_selector() {
    tokio::time::timeout(
        Duration::from_secs(60),
        long_queries_answered(Size::Selector(40 * 1024)),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn get_query_with_900_kb_uri() {
    tokio::time::timeout(
        Duration::from_secs(120),
        long_queries_answered(Size::Encoded(900 * 1024)),
    )
    .await
    .unwrap();
}

/// Beyond Go's limit (1 MB of request line and headers) the answer is 431, as Prometheus's.
#[tokio::test]
async fn request_head_over_a_megabyte_is_refused() {
    let (addr, _stop) = start().await;
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut conn = BufReader::new(stream);
    let q = encode(&long_selector(Size::Encoded(1100 * 1024)));
    let req = format!("GET /api/v1/query?query={q} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    // The server may answer and close before reading everything: a write error is fine.
    let _ = conn.get_mut().write_all(req.as_bytes()).await;
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(30), conn.read_line(&mut line))
        .await
        .unwrap()
        .unwrap();
    assert!(
        line.starts_with("HTTP/1.1 431") || line.starts_with("HTTP/1.1 414"),
        "{line:?}"
    );
}
