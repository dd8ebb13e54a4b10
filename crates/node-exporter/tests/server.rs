//! The HTTP side: `/metrics` with `collect[]` and `exclude[]` as node_exporter filters, the
//! errors for unknown or combined filters, and promhttp's handler metrics.

use std::net::SocketAddr;

use firewatch_node_exporter::{Options, all_collector_names, server::router};

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|b| b.1.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn collect_and_exclude_filters() {
    let dir = tempfile::tempdir().unwrap();
    let proc = dir.path().join("proc");
    std::fs::create_dir_all(&proc).unwrap();
    std::fs::write(proc.join("loadavg"), "1.5 0.37 0.39 1/719 19737\n").unwrap();
    std::fs::write(proc.join("meminfo"), "MemTotal: 1 kB\n").unwrap();
    let args = [
        "--collector.disable-defaults".to_owned(),
        "--collector.loadavg".to_owned(),
        "--collector.meminfo".to_owned(),
        format!("--path.procfs={}", proc.display()),
    ];
    let opts = Options::parse(args, &all_collector_names()).unwrap();
    let app = router(&opts).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (status, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("node_load1 1.5\n") && body.contains("node_memory_MemTotal_bytes 1024\n"),
        "{body}"
    );
    assert!(body.contains("node_scrape_collector_success{collector=\"loadavg\"} 1\n"));

    let (status, body) = get(addr, "/metrics?collect%5B%5D=loadavg").await;
    assert_eq!(status, 200);
    assert!(body.contains("node_load1 1.5\n"));
    assert!(!body.contains("node_memory_MemTotal_bytes"), "{body}");

    let (status, body) = get(addr, "/metrics?exclude[]=loadavg").await;
    assert_eq!(status, 200);
    assert!(
        !body.contains("node_load1") && body.contains("node_memory_MemTotal_bytes"),
        "{body}"
    );

    let (status, body) = get(addr, "/metrics?collect[]=cpu").await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        "Couldn't create filtered metrics handler: couldn't create collector: missing collector: cpu"
    );

    let (status, body) = get(addr, "/metrics?collect[]=loadavg&exclude[]=meminfo").await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        "Combined collect and exclude queries are not allowed."
    );

    // The three scrapes served above were counted (the refused ones are not, as in node_exporter).
    let (_, body) = get(addr, "/metrics").await;
    assert!(
        body.contains("promhttp_metric_handler_requests_total{code=\"200\"} 3\n"),
        "{body}"
    );
}
