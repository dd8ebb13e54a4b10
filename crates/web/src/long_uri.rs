//! Request lines longer than hyper can represent, accepted up to Go's header limit, as
//! Prometheus (Go's `net/http`, `DefaultMaxHeaderBytes`) accepts them.
//!
//! hyper and the `http` crate refuse a URI over 65,534 bytes with 414, a fixed limit; dashboards
//! send `{instance=~"a|b|…"}` selectors of hundreds of kilobytes as GET queries. [`LongUriIo`]
//! sits between the connection and hyper's HTTP/1 parser and, for each request whose target is
//! longer than hyper's limit, moves the query string out of the request line into the
//! [`QUERY_HEADER`] header; [`lift`] then moves it into the request's [`LongQuery`] extension,
//! and [`FullQuery`] (or [`raw_query`]) gives handlers the query string from either place.
//! Bodies are passed through by their `Content-Length`; a chunked body, an upgrade or HTTP/2
//! turns the connection into a plain pass-through.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::http::Request;
use axum::http::request::Parts;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The longest URI hyper parses (the `http` crate's limit).
const MAX_URI: usize = (u16::MAX - 1) as usize;
/// Go's `http.DefaultMaxHeaderBytes` (1 MiB) plus the 4096 bytes of slack its server adds: the
/// largest request line and headers accepted. Larger heads are left to hyper, which answers 431.
pub const MAX_HEAD: usize = (1 << 20) + 4096;
/// The header a long request's query string travels in from [`LongUriIo`] to [`lift`]. A client
/// sending it itself has it removed.
pub const QUERY_HEADER: &str = "x-firewatch-long-query";

/// The query string of a request whose URI was too long for hyper.
#[derive(Debug, Clone)]
pub struct LongQuery(pub String);

/// What the stream is in the middle of.
enum Mode {
    /// Reading a request's head.
    Head,
    /// Passing the given number of body bytes.
    Body(u64),
    /// Passing everything unchanged (HTTP/2, upgrades, chunked bodies, oversized heads).
    Through,
}

/// A connection's reading side that rewrites request heads whose target is too long for
/// hyper (see the module's documentation); writes go straight through.
pub struct LongUriIo<T> {
    inner: T,
    mode: Mode,
    /// Bytes read from the connection, not yet looked at.
    input: Vec<u8>,
    /// How far `input` was searched for the end of a head.
    scanned: usize,
    /// Bytes ready for hyper, from `out_pos` on.
    output: Vec<u8>,
    out_pos: usize,
    eof: bool,
    /// How long a request head may take to arrive (also how long the connection may sit idle
    /// between requests); `None`: no limit.
    head_timeout: Option<std::time::Duration>,
    /// Running while a head is awaited; cleared when a head is complete or a response written.
    head_timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<T> LongUriIo<T> {
    /// Wraps a connection.
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            mode: Mode::Head,
            input: Vec::new(),
            scanned: 0,
            output: Vec::new(),
            out_pos: 0,
            eof: false,
            head_timeout: None,
            head_timer: None,
        }
    }

    /// Fails reading with [`io::ErrorKind::TimedOut`] when a request head (or the first one
    /// after a response) has not fully arrived within `timeout`: a slow or silent client
    /// cannot hold the connection.
    #[must_use]
    pub fn with_head_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.head_timeout = Some(timeout);
        self
    }

    /// Moves `n` bytes of `input` to `output`.
    fn pass_input(&mut self, n: usize) {
        self.output.extend(self.input.drain(..n));
        self.scanned = 0;
    }
}

/// The end of the head starting `input` (after its empty line), searching from `from`.
fn head_end(input: &[u8], from: usize) -> Option<usize> {
    let start = from.saturating_sub(2);
    input[start..]
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'\n')
        .find_map(|(i, _)| {
            let i = start + i;
            match input.get(i + 1..) {
                Some([b'\n', ..]) => Some(i + 2),
                Some([b'\r', b'\n', ..]) => Some(i + 3),
                _ => None,
            }
        })
}

/// The head as hyper should see it, and what follows it.
fn rewrite_head(head: &[u8]) -> (Vec<u8>, Mode) {
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty());
    let Some(request_line) = lines.next() else {
        return (head.to_vec(), Mode::Through);
    };
    let mut parts = request_line.splitn(3, |&b| b == b' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return (head.to_vec(), Mode::Through);
    };
    if method == b"PRI" || method == b"CONNECT" {
        return (head.to_vec(), Mode::Through);
    }
    let mut mode = Mode::Body(0);
    let mut kept = Vec::new();
    let mut dropped = false;
    for line in lines {
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => (&line[..i], line[i + 1..].trim_ascii()),
            None => (line, &b""[..]),
        };
        if name.eq_ignore_ascii_case(QUERY_HEADER.as_bytes()) {
            dropped = true;
            continue;
        }
        if name.eq_ignore_ascii_case(b"transfer-encoding") || name.eq_ignore_ascii_case(b"upgrade")
        {
            mode = Mode::Through;
        } else if name.eq_ignore_ascii_case(b"content-length") && matches!(mode, Mode::Body(_)) {
            mode = match std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()) {
                Some(n) => Mode::Body(n),
                // hyper refuses it and closes the connection.
                None => Mode::Through,
            };
        }
        kept.push(line);
    }
    let split = (target.len() > MAX_URI)
        .then(|| target.iter().position(|&b| b == b'?'))
        .flatten()
        .filter(|&q| q <= MAX_URI);
    if split.is_none() && !dropped {
        return (head.to_vec(), mode);
    }
    let (path, query) = match split {
        Some(q) => (&target[..q], Some(&target[q + 1..])),
        None => (target, None),
    };
    let mut out = Vec::with_capacity(head.len() + QUERY_HEADER.len() + 4);
    for piece in [method, b" ", path, b" ", version, b"\r\n"] {
        out.extend_from_slice(piece);
    }
    if let Some(query) = query {
        for piece in [QUERY_HEADER.as_bytes(), b": ", query, b"\r\n"] {
            out.extend_from_slice(piece);
        }
    }
    for line in kept {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    (out, mode)
}

impl<T: AsyncRead + Unpin> AsyncRead for LongUriIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.out_pos < this.output.len() {
                let n = buf.remaining().min(this.output.len() - this.out_pos);
                buf.put_slice(&this.output[this.out_pos..this.out_pos + n]);
                this.out_pos += n;
                if this.out_pos == this.output.len() {
                    this.output.clear();
                    this.out_pos = 0;
                }
                return Poll::Ready(Ok(()));
            }
            match this.mode {
                Mode::Through => {
                    if !this.input.is_empty() {
                        this.pass_input(this.input.len());
                        continue;
                    }
                    return Pin::new(&mut this.inner).poll_read(cx, buf);
                }
                Mode::Body(0) => this.mode = Mode::Head,
                Mode::Body(left) => {
                    if !this.input.is_empty() {
                        let n = usize::try_from(left)
                            .unwrap_or(usize::MAX)
                            .min(this.input.len());
                        this.pass_input(n);
                        this.mode = Mode::Body(left - n as u64);
                        continue;
                    }
                    // Straight into the caller's buffer, no further than the body's end.
                    let n = usize::try_from(left)
                        .unwrap_or(usize::MAX)
                        .min(buf.remaining());
                    let mut limited = ReadBuf::new(buf.initialize_unfilled_to(n));
                    ready!(Pin::new(&mut this.inner).poll_read(cx, &mut limited))?;
                    let got = limited.filled().len();
                    buf.advance(got);
                    this.mode = Mode::Body(left - got as u64);
                    return Poll::Ready(Ok(()));
                }
                Mode::Head => {
                    // Empty lines between requests go through as they are.
                    let blank = this
                        .input
                        .iter()
                        .take_while(|&&b| b == b'\r' || b == b'\n')
                        .count();
                    if blank > 0 && blank < this.input.len() {
                        this.pass_input(blank);
                        continue;
                    }
                    if blank == 0
                        && let Some(end) = head_end(&this.input, this.scanned)
                    {
                        if end > MAX_HEAD {
                            // Over the limit even if its end came in the same read: hyper
                            // refuses it (414 or 431), as Go does.
                            this.mode = Mode::Through;
                            continue;
                        }
                        let head: Vec<u8> = this.input.drain(..end).collect();
                        this.scanned = 0;
                        let (out, mode) = rewrite_head(&head);
                        this.head_timer = None;
                        this.output = out;
                        this.mode = mode;
                        continue;
                    }
                    this.scanned = this.input.len();
                    if this.input.len() > MAX_HEAD || (this.eof && !this.input.is_empty()) {
                        this.mode = Mode::Through;
                        continue;
                    }
                    if this.eof {
                        return Poll::Ready(Ok(()));
                    }
                    let mut chunk = [0u8; 16 * 1024];
                    let mut read = ReadBuf::new(&mut chunk);
                    if Pin::new(&mut this.inner)
                        .poll_read(cx, &mut read)?
                        .is_pending()
                    {
                        if let Some(limit) = this.head_timeout {
                            let timer = this
                                .head_timer
                                .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                            if timer.as_mut().poll(cx).is_ready() {
                                return Poll::Ready(Err(io::Error::new(
                                    io::ErrorKind::TimedOut,
                                    "reading the request head timed out",
                                )));
                            }
                        }
                        return Poll::Pending;
                    }
                    if read.filled().is_empty() {
                        this.eof = true;
                    }
                    this.input.extend_from_slice(read.filled());
                }
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for LongUriIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.head_timer = None;
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.head_timer = None;
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Moves the [`QUERY_HEADER`] put in by [`LongUriIo`] into the [`LongQuery`] extension.
pub fn lift<B>(req: &mut Request<B>) {
    if let Some(v) = req.headers_mut().remove(QUERY_HEADER) {
        let query = String::from_utf8_lossy(v.as_bytes()).into_owned();
        req.extensions_mut().insert(LongQuery(query));
    }
}

/// The request's query string: the long one moved out of its URI, else the URI's.
#[must_use]
pub fn raw_query(parts: &Parts) -> Option<String> {
    match parts.extensions.get::<LongQuery>() {
        Some(LongQuery(q)) => Some(q.clone()),
        None => parts.uri.query().map(str::to_owned),
    }
}

/// The query string of any request, however long (axum's `RawQuery` sees only the URI's).
#[derive(Debug, Clone)]
pub struct FullQuery(pub Option<String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for FullQuery {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(FullQuery(raw_query(parts)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    async fn through(input: &[u8], chunk: usize) -> Vec<u8> {
        let (mut client, server) = tokio::io::duplex(chunk);
        let input = input.to_vec();
        let writer = tokio::spawn(async move {
            for piece in input.chunks(chunk) {
                tokio::io::AsyncWriteExt::write_all(&mut client, piece)
                    .await
                    .unwrap();
            }
        });
        let mut out = Vec::new();
        LongUriIo::new(server).read_to_end(&mut out).await.unwrap();
        writer.await.unwrap();
        out
    }

    #[tokio::test]
    async fn short_requests_pass_unchanged() {
        let reqs = b"GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nGET /\r\n\r\nGET /c HTTP/1.1\n\n";
        for chunk in [1, 7, 4096] {
            assert_eq!(through(reqs, chunk).await, reqs.to_vec(), "chunk {chunk}");
        }
    }

    #[tokio::test]
    async fn long_targets_move_their_query_to_a_header() {
        let q = "q=".to_owned() + &"x".repeat(MAX_URI);
        let req = format!(
            "GET /api?{q} HTTP/1.1\r\nHost: h\r\nX-Firewatch-Long-Query: forged\r\nContent-Length: 3\r\n\r\nabcGET /s HTTP/1.1\r\n\r\n"
        );
        let want = format!(
            "GET /api HTTP/1.1\r\n{QUERY_HEADER}: {q}\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET /s HTTP/1.1\r\n\r\n"
        );
        for chunk in [1000, 65536] {
            let got = through(req.as_bytes(), chunk).await;
            assert!(got == want.as_bytes(), "chunk {chunk}");
        }
    }

    #[tokio::test]
    async fn forged_header_is_removed() {
        let req = b"GET /a HTTP/1.1\r\nx-firewatch-long-query: q=1\r\nHost: h\r\n\r\n";
        assert_eq!(
            through(req, 64).await,
            b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n".to_vec()
        );
    }

    #[tokio::test]
    async fn chunked_bodies_and_http2_pass_through() {
        let long = "x".repeat(MAX_URI + 1);
        let req = format!(
            "POST /w HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /?{long} HTTP/1.1\r\n\r\n"
        );
        assert!(through(req.as_bytes(), 4096).await == req.as_bytes());
        let h2 = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
        assert_eq!(through(h2, 5).await, h2.to_vec());
    }
}
