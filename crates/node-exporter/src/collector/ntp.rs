//! The local NTP server's state from one SNTP query (node_exporter's `ntp.go` with
//! `beevik/ntp` 1.4: offset, round trip, stratum, leap, root delay/dispersion, and a sanity
//! flag from RFC 5905's checks and the configured limits).

use std::net::{IpAddr, UdpSocket};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{Collector, CollectorError, Out};
use crate::options::{Options, Paths};

/// Seconds from 1900 (NTP's epoch) to 1970.
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
const DAY: i64 = 86_400;

/// When a leap second was last announced: the following midnight (Unix seconds), kept because
/// servers drop the flag right after it (node_exporter's `leapMidnight`).
static LEAP_MIDNIGHT: Mutex<Option<i64>> = Mutex::new(None);

/// The ntp collector's flags.
pub struct Ntp {
    server: String,
    port: u16,
    version: u8,
    ttl: u32,
    max_distance: f64,
    offset_tolerance: f64,
}

/// Parses a Go duration (`1ms`, `3.46608s`, `1h30m`) to seconds.
///
/// # Errors
/// Not a Go duration.
pub fn go_duration(s: &str) -> Result<f64, String> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Ok(0.0);
    }
    if rest.is_empty() {
        return Err(format!("time: invalid duration {s:?}"));
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("time: missing unit in duration {s:?}"))?;
        let v: f64 = rest[..n]
            .parse()
            .map_err(|_| format!("time: invalid duration {s:?}"))?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            other => return Err(format!("time: unknown unit {other:?} in duration {s:?}")),
        };
        total += v * scale;
        rest = &rest[u..];
    }
    Ok(if neg { -total } else { total })
}

impl Ntp {
    /// Builds the collector from `--collector.ntp.*`.
    ///
    /// # Errors
    /// A server that is not a loopback address (unless `server-is-local`), or a bad version,
    /// port, TTL or duration.
    pub fn factory(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        let flag = |m: String| crate::Error::Collector {
            collector: "ntp".into(),
            message: m,
        };
        let server = opts.string("collector.ntp.server", "127.0.0.1");
        let local = opts.flag("collector.ntp.server-is-local", false);
        if !local && !server.parse::<IpAddr>().is_ok_and(|a| a.is_loopback()) {
            return Err(flag(
                "only IP address of local NTP server is valid for --collector.ntp.server".into(),
            ));
        }
        let int = |name: &str, default: &str| -> Result<i64, crate::Error> {
            let v = opts.string(name, default);
            v.parse()
                .map_err(|_| flag(format!("--{name}: invalid integer {v:?}")))
        };
        let version = int("collector.ntp.protocol-version", "4")?;
        if !(2..=4).contains(&version) {
            return Err(flag(format!(
                "invalid NTP protocol version {version}; must be 2, 3, or 4"
            )));
        }
        let port = int("collector.ntp.server-port", "123")?;
        if !(1..=65535).contains(&port) {
            return Err(flag(format!(
                "invalid NTP port number {port}; must be between 1 and 65535 inclusive"
            )));
        }
        let ttl = int("collector.ntp.ip-ttl", "1")?;
        let dur = |name: &str, default: &str| {
            go_duration(&opts.string(name, default)).map_err(|e| flag(format!("--{name}: {e}")))
        };
        let max_distance = dur("collector.ntp.max-distance", "3.46608s")?;
        let offset_tolerance = dur("collector.ntp.local-offset-tolerance", "1ms")?;
        if offset_tolerance < 0.0 {
            return Err(flag("offset tolerance must be non-negative".into()));
        }
        tracing::warn!(
            collector = "ntp",
            "This collector is deprecated and will be removed in the next major version release."
        );
        Ok(Box::new(Self {
            server,
            port: u16::try_from(port).unwrap_or(123),
            version: u8::try_from(version).unwrap_or(4),
            ttl: u32::try_from(ttl).unwrap_or(1),
            max_distance,
            offset_tolerance,
        }))
    }
}

/// An NTP timestamp (Q32.32 seconds since 1900) from a Unix time.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn to_ntp(t: SystemTime) -> u64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let frac = ((u128::from(d.subsec_nanos()) << 32) + 500_000_000) / 1_000_000_000;
    ((d.as_secs() + NTP_UNIX_OFFSET) << 32) + frac as u64
}

/// A Q32.32 span as seconds (signed two's complement differences included).
#[allow(clippy::cast_precision_loss)]
fn q32(v: i64) -> f64 {
    v as f64 / 4_294_967_296.0
}

/// An NTP timestamp as Unix seconds.
#[allow(clippy::cast_precision_loss, clippy::cast_possible_wrap)]
fn ntp_unix(t: u64) -> f64 {
    (t >> 32) as f64 - NTP_UNIX_OFFSET as f64 + (t & 0xffff_ffff) as f64 / 4_294_967_296.0
}

fn be64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().unwrap_or_default())
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap_or_default())
}

/// What one SNTP exchange tells.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// Server stratum.
    pub stratum: u8,
    /// Leap indicator (2 bits).
    pub leap: u8,
    /// Round trip, seconds.
    pub rtt: f64,
    /// Server clock minus local clock, seconds.
    pub offset: f64,
    /// Server's reference time, Unix seconds.
    pub reference: f64,
    /// Server's transmit time, Unix seconds.
    pub time: f64,
    /// Root delay, seconds.
    pub root_delay: f64,
    /// Root dispersion, seconds.
    pub root_dispersion: f64,
    /// Lower bound of the clock error from causality violations, seconds.
    pub min_error: f64,
}

impl Response {
    /// `beevik/ntp`'s `Validate`: the reply is usable for synchronisation.
    #[must_use]
    pub fn valid(&self) -> bool {
        self.stratum != 0
            && self.stratum < 16
            && self.time - self.reference <= f64::from(1u32 << 17)
            && self.root_delay / 2.0 + self.root_dispersion <= 16.0
            && self.time >= self.reference
            && self.leap != 3
    }

    /// Half the total delay plus the root dispersion.
    #[must_use]
    pub fn root_distance(&self) -> f64 {
        (self.rtt + self.root_delay) / 2.0 + self.root_dispersion
    }
}

/// Sends one client request and decodes the reply.
///
/// # Errors
/// No reply within a second, or a reply that does not answer the request.
pub fn query(server: &str, port: u16, version: u8, ttl: u32) -> Result<Response, String> {
    let addr: IpAddr = server
        .parse()
        .map_err(|_| format!("invalid server address {server:?}"))?;
    let bind = if addr.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let sock = UdpSocket::bind(bind).map_err(|e| e.to_string())?;
    sock.connect((addr, port)).map_err(|e| e.to_string())?;
    if addr.is_ipv4() {
        sock.set_ttl(ttl).map_err(|e| e.to_string())?;
    }
    sock.set_read_timeout(Some(Duration::from_secs(1)))
        .map_err(|e| e.to_string())?;
    // The transmit timestamp is random (as beevik/ntp 1.4 sends it), echoed as the origin.
    let nonce = {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(Instant::now().elapsed().as_nanos());
        h.finish()
    };
    let mut req = [0u8; 48];
    req[0] = (version << 3) | 3;
    req[40..48].copy_from_slice(&nonce.to_be_bytes());
    let sent_at = SystemTime::now();
    let start = Instant::now();
    sock.send(&req).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 64];
    let n = sock
        .recv(&mut buf)
        .map_err(|e| format!("read udp {}->{addr}:{port}: {e}", local(&sock)))?;
    let recv_at = sent_at + start.elapsed();
    if n < 48 {
        return Err("invalid response: too short".into());
    }
    let b = &buf[..48];
    if b[0] & 7 != 4 {
        return Err("invalid mode in response".into());
    }
    let (rec, xmt) = (be64(b, 32), be64(b, 40));
    if xmt == 0 {
        return Err("invalid transmit time in response".into());
    }
    if be64(b, 24) != nonce {
        return Err("server response didn't match request".into());
    }
    if rec > xmt {
        return Err("server clock ticked backwards".into());
    }
    let (org, dst) = (to_ntp(sent_at), to_ntp(recv_at));
    #[allow(clippy::cast_possible_wrap)]
    let (a, bb) = (rec.wrapping_sub(org) as i64, xmt.wrapping_sub(dst) as i64);
    #[allow(clippy::cast_possible_wrap)]
    let rtt = (dst.wrapping_sub(org) as i64 - xmt.wrapping_sub(rec) as i64).max(0);
    let min_error = org.saturating_sub(rec).max(xmt.saturating_sub(dst));
    let short = |v: u32| f64::from(v) / 65536.0;
    #[allow(clippy::cast_possible_wrap)]
    Ok(Response {
        stratum: b[1],
        leap: b[0] >> 6,
        rtt: q32(rtt),
        offset: q32(a + (bb - a) / 2),
        reference: ntp_unix(be64(b, 16)),
        time: ntp_unix(xmt),
        root_delay: short(be32(b, 4)),
        root_dispersion: short(be32(b, 8)),
        min_error: q32(min_error as i64),
    })
}

fn local(s: &UdpSocket) -> String {
    s.local_addr().map(|a| a.to_string()).unwrap_or_default()
}

impl Collector for Ntp {
    fn update(&self, _: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let r = query(&self.server, self.port, self.version, self.ttl)
            .map_err(|e| CollectorError::Other(format!("couldn't get SNTP reply: {e}")))?;
        let g = |out: &mut Out, name: &str, help: &str, v: f64| {
            out.gauge(&format!("node_ntp_{name}"), help, &[], v);
        };
        g(out, "stratum", "NTPD stratum.", f64::from(r.stratum));
        g(
            out,
            "leap",
            "NTPD leap second indicator, 2 bits.",
            f64::from(r.leap),
        );
        g(out, "rtt_seconds", "RTT to NTPD.", r.rtt);
        g(
            out,
            "offset_seconds",
            "ClockOffset between NTP and local clock.",
            r.offset,
        );
        g(
            out,
            "reference_timestamp_seconds",
            "NTPD ReferenceTime, UNIX timestamp.",
            if r.reference > 0.0 { r.reference } else { 0.0 },
        );
        g(out, "root_delay_seconds", "NTPD RootDelay.", r.root_delay);
        g(
            out,
            "root_dispersion_seconds",
            "NTPD RootDispersion.",
            r.root_dispersion,
        );
        let mut max_err = self.offset_tolerance;
        {
            let mut leap = LEAP_MIDNIGHT
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            #[allow(clippy::cast_possible_truncation)]
            let now = r.time.floor() as i64;
            if r.leap == 1 || r.leap == 2 {
                *leap = Some(now.div_euclid(DAY) * DAY + DAY);
            }
            if let Some(m) = *leap
                && m - DAY < now
                && now < m + DAY
            {
                max_err += 1.0;
            }
        }
        let sane = r.valid() && r.root_distance() <= self.max_distance && r.min_error <= max_err;
        g(
            out,
            "sanity",
            "NTPD sanity according to RFC5905 heuristics and configured limits.",
            if sane { 1.0 } else { 0.0 },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("1ms"), Ok(0.001));
        assert_eq!(go_duration("3.46608s"), Ok(3.46608));
        assert_eq!(go_duration("1h30m"), Ok(5400.0));
        assert_eq!(go_duration("0"), Ok(0.0));
        assert!(go_duration("5").is_err());
        assert!(go_duration("5d").is_err());
    }

    #[test]
    fn a_public_server_is_refused_unless_certified_local() {
        let mut o = Options::default();
        o.set("collector.ntp.server", "192.0.2.1");
        assert!(Ntp::factory(&o).is_err());
        o.set("collector.ntp.server-is-local", "true");
        assert!(Ntp::factory(&o).is_ok());
        o.set("collector.ntp.protocol-version", "5");
        assert!(Ntp::factory(&o).is_err());
    }
}
