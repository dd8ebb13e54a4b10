//! Helpers shared by the scale-out end-to-end tests (remote write, remote read, sharding,
//! federation): a scrape target on loopback and the wall clock.
#![allow(dead_code)] // Each test file uses a part.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

/// Serves, on a free loopback port for the life of the process, the text exposition
/// `body(n, port)` for the `n`-th scrape (from 0); returns the port.
pub fn serve_target(body: impl Fn(usize, u16) -> String + Send + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for (n, mut conn) in listener.incoming().flatten().enumerate() {
            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let body = body(n, port);
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// Now, in seconds since the epoch.
pub fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}
