//! Fetching an exposition over HTTP: the client built from a scrape config's HTTP settings
//! (the shared `http_client` crate), the `Accept` header from `scrape_protocols`, the
//! body's format from its `Content-Type` (text, OpenMetrics or delimited protobuf), and the body
//! size limit.

use std::time::Duration;

use config::{HttpClientConfig, ScrapeConfig, ScrapeProtocol};
use http_client::{ClientOptions, HttpClient, go_error_text};
use model::exposition::{Format, is_protobuf_content_type};

use crate::ScrapeError;

/// Installs rustls's ring provider once; reqwest is built without a default provider.
pub fn install_crypto_provider() {
    http_client::ensure_crypto_provider();
}

/// An HTTP client and the request settings of one scrape job.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: HttpClient,
    accept: String,
    body_limit: Option<u64>,
    compression: bool,
    fallback: Option<BodyFormat>,
}

/// How a scraped body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// Prometheus text or OpenMetrics text.
    Text(Format),
    /// Delimited `io.prometheus.client.MetricFamily` protobuf messages.
    Protobuf,
}

impl BodyFormat {
    /// The format a `Content-Type` header names (text when it names none Firewatch knows).
    #[must_use]
    pub fn from_content_type(ct: &str) -> Self {
        if is_protobuf_content_type(ct) {
            Self::Protobuf
        } else {
            Self::Text(Format::from_content_type(ct))
        }
    }
}

/// A fetched exposition.
#[derive(Debug)]
pub struct Fetched {
    /// The body, decompressed.
    pub body: Vec<u8>,
    /// The format the `Content-Type` names.
    pub format: BodyFormat,
}

/// Buffers larger than this are not kept by their scrape loop: a target's scrapes are spread
/// over its interval, so only the bodies being appended need memory. A kept 16 MB body (100k
/// series) would hold about 160 bytes per series between scrapes. They go to a spare pool
/// shared by all loops ([`SPARE_BODY_BYTES`]), so that the next large scrape of any target
/// reuses one instead of faulting in fresh pages.
pub const KEEP_BODY_BYTES: usize = 1 << 20;

/// Most bytes of large body buffers kept spare between scrapes, for all targets together.
pub const SPARE_BODY_BYTES: usize = 32 << 20;

/// Large body buffers given back by finished scrapes.
static SPARE_BODIES: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());

/// A spare buffer for a body of `n` bytes (the smallest that holds it, else the largest),
/// empty; `None` when there is none.
fn take_spare(n: usize) -> Option<Vec<u8>> {
    let mut spares = SPARE_BODIES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let fits = spares
        .iter()
        .enumerate()
        .filter(|(_, b)| b.capacity() >= n)
        .min_by_key(|(_, b)| b.capacity())
        .or_else(|| spares.iter().enumerate().max_by_key(|(_, b)| b.capacity()))
        .map(|(i, _)| i)?;
    Some(spares.swap_remove(fits))
}

/// Keeps `b` spare while the spares stay within [`SPARE_BODY_BYTES`]; frees it otherwise.
fn give_spare(mut b: Vec<u8>) {
    b.clear();
    let mut spares = SPARE_BODIES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let held: usize = spares.iter().map(Vec::capacity).sum();
    if held + b.capacity() <= SPARE_BODY_BYTES {
        spares.push(b);
    }
}

/// The buffers a scrape loop reads its bodies into, kept from one scrape to the next while
/// small ([`KEEP_BODY_BYTES`]) so that a body of a steady size costs no allocation and no
/// growth copies (which also bounds the peak memory of a scrape by about one body).
#[derive(Debug, Default)]
pub struct BodyBuffers {
    /// The body, decompressed.
    body: Vec<u8>,
    /// The compressed bytes of a gzip body.
    compressed: Vec<u8>,
}

impl BodyBuffers {
    /// The body of the last fetch.
    #[must_use]
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Ends a scrape: hands a large buffer ([`KEEP_BODY_BYTES`]) to the spare pool, shrinks a
    /// small one when it is far larger than what the last body needed, and keeps it otherwise
    /// for the next scrape.
    pub fn scrape_done(&mut self) {
        for b in [&mut self.body, &mut self.compressed] {
            let keep = b.len() + b.len() / 4;
            if b.capacity() > KEEP_BODY_BYTES {
                give_spare(std::mem::take(b));
            } else if b.capacity() > 2 * keep + (64 << 10) {
                b.shrink_to(keep);
            }
        }
    }

    /// Bytes the buffers hold between scrapes.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.body.capacity() + self.compressed.capacity()
    }
}

/// The number of scrape protocols Prometheus knows; `q` values count down from one more.
const KNOWN_PROTOCOLS: usize = 5;

/// The `Accept` header Prometheus sends for `protocols`: each with a falling `q` starting at
/// `0.6` (one more than the protocols it knows), then `*/*`.
#[must_use]
pub fn accept_header(protocols: &[ScrapeProtocol]) -> String {
    let usable: Vec<&str> = protocols
        .iter()
        .filter_map(ScrapeProtocol::header)
        .collect();
    let mut weight = KNOWN_PROTOCOLS + 1;
    let mut parts = Vec::with_capacity(usable.len() + 1);
    for h in usable {
        parts.push(format!("{h};q=0.{weight}"));
        weight -= 1;
    }
    parts.push(format!("*/*;q=0.{weight}"));
    parts.join(",")
}

fn protocol_format(p: &ScrapeProtocol) -> Option<BodyFormat> {
    match p.0.as_str() {
        "OpenMetricsText1.0.0" | "OpenMetricsText0.0.1" => {
            Some(BodyFormat::Text(Format::OpenMetrics))
        }
        "PrometheusText0.0.4" | "PrometheusText1.0.0" => Some(BodyFormat::Text(Format::Text)),
        "PrometheusProto" => Some(BodyFormat::Protobuf),
        _ => None,
    }
}

impl Fetcher {
    /// A fetcher for the job `cfg`.
    ///
    /// # Errors
    /// Unreadable credential or certificate files, bad proxy URLs.
    pub fn new(cfg: &ScrapeConfig) -> Result<Self, ScrapeError> {
        let http: HttpClientConfig = cfg.http_client();
        let client = HttpClient::with_options(
            &http,
            ClientOptions {
                gzip: false,
                ..ClientOptions::default()
            },
        )
        .map_err(|e| ScrapeError::Config(e.to_string()))?;
        // Unset protocols ask for protobuf first when native histograms are scraped.
        let protocols = cfg.scrape_protocols.clone().unwrap_or_else(|| {
            if cfg.scrape_native_histograms == Some(true) {
                ScrapeProtocol::proto_first_defaults()
            } else {
                ScrapeProtocol::defaults()
            }
        });
        let limit = cfg.body_size_limit.bytes();
        Ok(Self {
            client,
            accept: accept_header(&protocols),
            body_limit: (limit > 0).then_some(limit as u64),
            compression: cfg.enable_compression,
            fallback: cfg
                .fallback_scrape_protocol
                .as_ref()
                .and_then(protocol_format),
        })
    }

    /// Fetches `url` within `timeout`.
    ///
    /// # Errors
    /// Connection errors, timeouts, non-200 answers, oversize bodies, unknown content types.
    pub async fn fetch(&self, url: &str, timeout: Duration) -> Result<Fetched, ScrapeError> {
        let mut bufs = BodyBuffers::default();
        let format = self.fetch_into(url, timeout, &mut bufs).await?;
        Ok(Fetched {
            body: bufs.body,
            format,
        })
    }

    /// Fetches `url` within `timeout` into `bufs` (reusing their memory); returns the body's
    /// format.
    ///
    /// # Errors
    /// As [`Fetcher::fetch`].
    pub async fn fetch_into(
        &self,
        url: &str,
        timeout: Duration,
        bufs: &mut BodyBuffers,
    ) -> Result<BodyFormat, ScrapeError> {
        bufs.body.clear();
        bufs.compressed.clear();
        // Credentials (an OAuth 2.0 token fetch) count against the scrape timeout too.
        let req = tokio::time::timeout(timeout, self.client.get(url))
            .await
            .map_err(|_| ScrapeError::Http(format!("Get {url:?}: context deadline exceeded")))?
            .map_err(|e| ScrapeError::Http(e.to_string()))?;
        let mut req = req.timeout(timeout).header("Accept", &self.accept).header(
            "X-Prometheus-Scrape-Timeout-Seconds",
            format!("{}", timeout.as_secs_f64()),
        );
        req = req.header(
            "Accept-Encoding",
            if self.compression { "gzip" } else { "identity" },
        );
        let mut resp = req
            .send()
            .await
            .map_err(|e| ScrapeError::Http(go_error_text("GET", &e)))?;
        if resp.status() != reqwest::StatusCode::OK {
            return Err(ScrapeError::Status(resp.status().to_string()));
        }
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let gzip = resp
            .headers()
            .get("content-encoding")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        let body = if gzip {
            &mut bufs.compressed
        } else {
            &mut bufs.body
        };
        // A declared length within the limit is read into memory of that size at once (a
        // spare buffer when the body is large).
        if let Some(n) = resp.content_length()
            && self.body_limit.is_none_or(|l| n <= l)
        {
            let n = usize::try_from(n).unwrap_or(0);
            if n > KEEP_BODY_BYTES
                && n > body.capacity()
                && let Some(spare) = take_spare(n)
            {
                *body = spare;
            }
            body.reserve(n);
        }
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| ScrapeError::Http(go_error_text("GET", &e)))?
        {
            body.extend_from_slice(&chunk);
            if self.body_limit.is_some_and(|l| body.len() as u64 > l) {
                return Err(ScrapeError::BodySizeLimit);
            }
        }
        if gzip {
            gunzip(&bufs.compressed, &mut bufs.body, self.body_limit)?;
        }
        Ok(if content_type.is_empty() {
            self.fallback.unwrap_or(BodyFormat::Text(Format::Text))
        } else {
            BodyFormat::from_content_type(&content_type)
        })
    }
}

/// The most bytes deflate can expand one byte to (its longest match from a few bits).
const DEFLATE_MAX_RATIO: usize = 1032;

/// The size the gzip `data` says it decompresses to (its trailer's ISIZE: the size modulo
/// 2^32 of its last member), bounded by what deflate can expand `data` to; 0 when too short.
fn gzip_size(data: &[u8]) -> usize {
    let Some(trailer) = data.len().checked_sub(4).filter(|_| data.len() >= 18) else {
        return 0;
    };
    let isize = u32::from_le_bytes(data[trailer..].try_into().expect("4 bytes"));
    usize::try_from(isize)
        .unwrap_or(usize::MAX)
        .min(data.len().saturating_mul(DEFLATE_MAX_RATIO))
}

/// Decompresses the gzip `data` into `out` (whose memory is reused), refusing more than
/// `limit` bytes. `out` is made the size the trailer announces first (a spare buffer when it
/// is large), so that a body is not copied through a doubling buffer of up to twice its
/// size.
fn gunzip(data: &[u8], out: &mut Vec<u8>, limit: Option<u64>) -> Result<(), ScrapeError> {
    use std::io::Read;
    let expected = limit.map_or(gzip_size(data), |l| {
        gzip_size(data).min(usize::try_from(l).unwrap_or(usize::MAX))
    });
    if expected > KEEP_BODY_BYTES
        && expected > out.capacity()
        && let Some(spare) = take_spare(expected)
    {
        *out = spare;
    }
    out.reserve(expected);
    let decoder = flate2::read::GzDecoder::new(data);
    let cap = limit.map_or(u64::MAX, |l| l + 1);
    decoder
        .take(cap)
        .read_to_end(out)
        .map_err(|e| ScrapeError::Http(format!("decompressing body: {e}")))?;
    if limit.is_some_and(|l| out.len() as u64 > l) {
        return Err(ScrapeError::BodySizeLimit);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_header_like_prometheus() {
        assert_eq!(
            accept_header(&ScrapeProtocol::defaults()),
            "application/openmetrics-text;version=1.0.0;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
        );
        assert_eq!(
            accept_header(&ScrapeProtocol::proto_first_defaults()),
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"
        );
        assert_eq!(
            accept_header(&[ScrapeProtocol::new("PrometheusText0.0.4")]),
            "text/plain;version=0.0.4;q=0.6,*/*;q=0.5"
        );
    }

    #[test]
    fn spare_bodies_are_shared_within_their_bound() {
        // The only test touching the pool (it is process-wide).
        let mut large = BodyBuffers::default();
        large
            .body
            .extend_from_slice(&vec![b'x'; KEEP_BODY_BYTES + 1]);
        large
            .compressed
            .extend_from_slice(&vec![b'z'; KEEP_BODY_BYTES + 1]);
        large.scrape_done();
        assert_eq!(large.capacity(), 0, "a large body is not kept by its loop");
        while take_spare(0).is_some() {}
        let big = KEEP_BODY_BYTES * 4;
        let mut bufs: Vec<BodyBuffers> = (0..SPARE_BODY_BYTES / big + 2)
            .map(|_| {
                let mut b = BodyBuffers::default();
                b.body.reserve_exact(big);
                b.body.push(1);
                b
            })
            .collect();
        for b in &mut bufs {
            b.scrape_done();
            assert_eq!(b.capacity(), 0, "a large body is not kept by its loop");
        }
        let held = |s: &Vec<Vec<u8>>| s.iter().map(Vec::capacity).sum::<usize>();
        {
            let spares = SPARE_BODIES.lock().unwrap();
            assert!(held(&spares) <= SPARE_BODY_BYTES);
            assert_eq!(spares.len(), SPARE_BODY_BYTES / big, "the rest were freed");
        }
        let spare = take_spare(big).expect("a spare that holds the body");
        assert!(spare.capacity() >= big && spare.is_empty());
        let larger = take_spare(big * 8).expect("the largest, to grow");
        assert!(larger.capacity() >= big);
        give_spare(spare);
        give_spare(larger);
        while take_spare(0).is_some() {}
    }

    #[test]
    fn a_gzip_body_is_decompressed_into_the_size_its_trailer_gives() {
        use std::io::Write as _;
        let body: Vec<u8> = (0..600_000u32)
            .map(|i| b"metric 1\n"[i as usize % 9])
            .collect();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&body).unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(gzip_size(&gz), body.len());
        let mut out = Vec::new();
        gunzip(&gz, &mut out, None).unwrap();
        assert_eq!(out, body);
        assert_eq!(out.capacity(), body.len(), "no growth room");
        // A limit below the body still refuses it; a trailer is not trusted past deflate's
        // ratio; a truncated stream is an error.
        let mut out = Vec::new();
        let err = gunzip(&gz, &mut out, Some(1000)).unwrap_err();
        assert!(matches!(err, ScrapeError::BodySizeLimit), "{err}");
        let mut lying = gz.clone();
        let n = lying.len();
        lying[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(gzip_size(&lying), lying.len() * DEFLATE_MAX_RATIO);
        assert!(gunzip(&gz[..gz.len() / 2], &mut Vec::new(), None).is_err());
    }

    #[test]
    fn small_bodies_are_kept_by_their_loop() {
        let mut small = BodyBuffers::default();
        small.body.extend_from_slice(&[b'x'; 100 << 10]);
        let kept = small.capacity();
        small.scrape_done();
        assert_eq!(small.capacity(), kept, "a small body's buffer is reused");
    }
}
