//! Scalar types of Alertmanager's configuration (`config/config.go`): URLs checked for an
//! http(s) scheme and a host, secret URLs shown as `<secret>`, `host:port` addresses and Go
//! durations (`time.ParseDuration`, printed as Go's `Duration.String`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use config::secret::REDACTED;

use crate::error::ScalarError;

/// Go's `url.Parse` plus Alertmanager's `parseURL` checks.
fn check_url(s: &str) -> Result<(), ScalarError> {
    let u = url::Url::parse(s).map_err(|e| ScalarError::Url {
        url: s.to_owned(),
        message: e.to_string(),
    })?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(ScalarError::UnsupportedScheme {
            scheme: u.scheme().to_owned(),
        });
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(ScalarError::MissingHost);
    }
    Ok(())
}

/// An http or https URL with a host (Alertmanager's `config.URL`), kept as written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HttpUrl(String);

impl HttpUrl {
    /// Parses and checks `s`.
    ///
    /// # Errors
    /// Alertmanager's texts: `unsupported scheme "ftp" for URL`, `missing host for URL`.
    pub fn parse(s: &str) -> Result<Self, ScalarError> {
        check_url(s)?;
        Ok(Self(s.to_owned()))
    }

    /// A URL known to be valid (the built-in defaults).
    pub(crate) fn known(s: &str) -> Self {
        Self(s.to_owned())
    }

    /// The URL as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same URL with its path ending in `/` (as Load does for OpsGenie, WeChat and
    /// VictorOps).
    #[must_use]
    pub fn with_trailing_slash(&self) -> Self {
        match url::Url::parse(&self.0) {
            Ok(mut u) if !u.path().ends_with('/') => {
                let p = format!("{}/", u.path());
                u.set_path(&p);
                Self(u.to_string())
            }
            _ => self.clone(),
        }
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for HttpUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for HttpUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        HttpUrl::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A URL that holds a secret (Slack, Discord, Teams webhooks; `config.SecretURL`): shown as
/// `<secret>`; reading `<secret>` back gives an empty URL, as Alertmanager does.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct SecretUrl(String);

impl SecretUrl {
    /// Parses and checks `s`.
    ///
    /// # Errors
    /// As [`HttpUrl::parse`].
    pub fn parse(s: &str) -> Result<Self, ScalarError> {
        if s == REDACTED {
            return Ok(Self(String::new()));
        }
        check_url(s)?;
        Ok(Self(s.to_owned()))
    }

    /// The URL itself, for the code that sends.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for SecretUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SecretUrl::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A `host:port` address (`config.HostPort`); empty when unset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (a number or a service name).
    pub port: String,
}

impl HostPort {
    /// Parses `host:port` as Go's `net.SplitHostPort`.
    ///
    /// # Errors
    /// Go's texts (`address x: missing port in address`, `address "x:": port cannot be empty`).
    pub fn parse(s: &str) -> Result<Self, ScalarError> {
        if s.is_empty() {
            return Ok(Self::default());
        }
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let Some((h, p)) = rest.split_once(']') else {
                return Err(ScalarError::Address {
                    address: s.to_owned(),
                    reason: "missing ']' in address",
                });
            };
            let Some(p) = p.strip_prefix(':') else {
                return Err(ScalarError::Address {
                    address: s.to_owned(),
                    reason: "missing port in address",
                });
            };
            (h, p)
        } else {
            let Some(i) = s.rfind(':') else {
                return Err(ScalarError::Address {
                    address: s.to_owned(),
                    reason: "missing port in address",
                });
            };
            let (h, p) = (&s[..i], &s[i + 1..]);
            if h.contains(':') {
                return Err(ScalarError::Address {
                    address: s.to_owned(),
                    reason: "too many colons in address",
                });
            }
            (h, p)
        };
        if port.is_empty() {
            return Err(ScalarError::EmptyPort {
                address: s.to_owned(),
            });
        }
        Ok(Self {
            host: host.to_owned(),
            port: port.to_owned(),
        })
    }

    /// Whether no address is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.host.is_empty() && self.port.is_empty()
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            Ok(())
        } else if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl Serialize for HostPort {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HostPort {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Option::<String>::deserialize(d)?.unwrap_or_default();
        HostPort::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A Go `time.Duration` written as `1m30s`, `1.5h`, `300ms` (webhook timeout, Pushover
/// retry/expire/ttl).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoDuration(pub std::time::Duration);

impl GoDuration {
    /// Parses as Go's `time.ParseDuration`.
    ///
    /// # Errors
    /// Go's text: `time: invalid duration "x"`.
    pub fn parse(s: &str) -> Result<Self, ScalarError> {
        let bad = || ScalarError::InvalidDuration { text: s.to_owned() };
        let (neg, mut rest) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        if rest == "0" {
            return Ok(Self::default());
        }
        if rest.is_empty() {
            return Err(bad());
        }
        let mut nanos: f64 = 0.0;
        while !rest.is_empty() {
            let n = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(|| ScalarError::MissingUnit { text: s.to_owned() })?;
            let num: f64 = rest[..n].parse().map_err(|_| bad())?;
            rest = &rest[n..];
            let u = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let unit = match &rest[..u] {
                "ns" => 1.0,
                "us" | "µs" | "μs" => 1e3,
                "ms" => 1e6,
                "s" => 1e9,
                "m" => 60e9,
                "h" => 3600e9,
                other => {
                    return Err(ScalarError::UnknownUnit {
                        unit: other.to_owned(),
                        text: s.to_owned(),
                    });
                }
            };
            nanos += num * unit;
            rest = &rest[u..];
        }
        if neg && nanos > 0.0 {
            return Err(bad());
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(Self(std::time::Duration::from_nanos(nanos.round() as u64)))
    }
}

impl fmt::Display for GoDuration {
    /// Go's `Duration.String`: `1h0m0s`, `1m30s`, `1.5s`, `300ms`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0.as_nanos();
        if ns == 0 {
            return f.write_str("0s");
        }
        let frac = |v: u128, div: u128| {
            let whole = v / div;
            let rem = v % div;
            if rem == 0 {
                whole.to_string()
            } else {
                let width = div.to_string().len() - 1;
                let r = format!("{rem:0width$}");
                format!("{whole}.{}", r.trim_end_matches('0'))
            }
        };
        if ns < 1_000 {
            return write!(f, "{ns}ns");
        }
        if ns < 1_000_000 {
            return write!(f, "{}µs", frac(ns, 1_000));
        }
        if ns < 1_000_000_000 {
            return write!(f, "{}ms", frac(ns, 1_000_000));
        }
        let h = ns / 3_600_000_000_000;
        let rest = ns % 3_600_000_000_000;
        let m = rest / 60_000_000_000;
        let s = rest % 60_000_000_000;
        if h > 0 {
            write!(f, "{h}h{m}m{}s", frac(s, 1_000_000_000))
        } else if m > 0 {
            write!(f, "{m}m{}s", frac(s, 1_000_000_000))
        } else {
            write!(f, "{}s", frac(s, 1_000_000_000))
        }
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        GoDuration::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse_and_print_as_go() {
        for (text, printed) in [
            ("1m", "1m0s"),
            ("1h", "1h0m0s"),
            ("90s", "1m30s"),
            ("1.5s", "1.5s"),
            ("300ms", "300ms"),
            ("0", "0s"),
            ("2h45m", "2h45m0s"),
        ] {
            assert_eq!(
                GoDuration::parse(text).unwrap().to_string(),
                printed,
                "{text}"
            );
        }
        for (text, want) in [
            ("5x", "time: unknown unit \"x\" in duration \"5x\""),
            ("5", "time: missing unit in duration \"5\""),
            ("", "time: invalid duration \"\""),
            ("-5s", "time: invalid duration \"-5s\""),
        ] {
            assert_eq!(GoDuration::parse(text).unwrap_err().to_string(), want);
        }
    }

    #[test]
    fn urls_and_host_ports_are_checked_as_alertmanager_does() {
        assert_eq!(
            HttpUrl::parse("ftp://x/").unwrap_err(),
            ScalarError::UnsupportedScheme {
                scheme: "ftp".into()
            }
        );
        assert_eq!(
            HttpUrl::parse("ftp://x/").unwrap_err().to_string(),
            "unsupported scheme \"ftp\" for URL"
        );
        assert_eq!(
            HttpUrl::parse("http://a/b")
                .unwrap()
                .with_trailing_slash()
                .as_str(),
            "http://a/b/"
        );
        assert_eq!(SecretUrl::parse("<secret>").unwrap().expose(), "");
        let hp = HostPort::parse("[::1]:25").unwrap();
        assert_eq!((hp.host.as_str(), hp.port.as_str()), ("::1", "25"));
        assert_eq!(hp.to_string(), "[::1]:25");
        for (text, want) in [
            ("localhost:", "address \"localhost:\": port cannot be empty"),
            ("localhost", "address localhost: missing port in address"),
            ("a:b:25", "address a:b:25: too many colons in address"),
            ("[::1", "address [::1: missing ']' in address"),
        ] {
            assert_eq!(HostPort::parse(text).unwrap_err().to_string(), want);
        }
    }
}
