//! Secrets (passwords, tokens) and URLs: both print redacted when a configuration is shown.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret string: its value is used to authenticate, never shown. Serialising it gives
/// `<secret>` (or nothing when empty), as Prometheus's `/api/v1/status/config` does.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Secret(String);

/// What a non-empty secret looks like when the configuration is shown.
pub const REDACTED: &str = "<secret>";

impl Secret {
    /// Wraps a secret value.
    #[must_use]
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret value itself, for the code that authenticates.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty (unset).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { REDACTED })
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { REDACTED })
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self(Option::<String>::deserialize(d)?.unwrap_or_default()))
    }
}

/// A URL as Prometheus's configuration holds it: kept as written, checked for the parts
/// Prometheus checks, shown with its password replaced by `xxxxx`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Url {
    raw: String,
    scheme: String,
    host: String,
    password_range: Option<(usize, usize)>,
}

impl Url {
    /// Parses a URL with Go's `url.Parse` leniency: a relative reference or a bare host is
    /// accepted (callers check the scheme and host they need).
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.chars().any(char::is_control) {
            return Err(format!(
                "parse {s:?}: net/url: invalid control character in URL"
            ));
        }
        let mut u = Url {
            raw: s.to_string(),
            scheme: String::new(),
            host: String::new(),
            password_range: None,
        };
        let mut rest = s;
        if let Some(i) = s.find(':') {
            let scheme = &s[..i];
            let valid = !scheme.is_empty()
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if i == 0 {
                return Err(format!("parse {s:?}: missing protocol scheme"));
            }
            if valid {
                u.scheme = scheme.to_ascii_lowercase();
                rest = &s[i + 1..];
            }
        }
        if let Some(auth) = rest.strip_prefix("//") {
            let end = auth.find(['/', '?', '#']).unwrap_or(auth.len());
            let authority = &auth[..end];
            let offset = s.len() - auth.len();
            let host = match authority.rfind('@') {
                Some(at) => {
                    let userinfo = &authority[..at];
                    if let Some(colon) = userinfo.find(':') {
                        u.password_range = Some((offset + colon + 1, offset + at));
                    }
                    &authority[at + 1..]
                }
                None => authority,
            };
            if host.contains(' ') {
                return Err(format!("parse {s:?}: invalid character \" \" in host name"));
            }
            u.host = host.to_string();
        }
        Ok(u)
    }

    /// The URL as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The scheme, lower-cased (empty for a relative reference).
    #[must_use]
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The host and port (empty when absent).
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The URL with any password replaced by `xxxxx`.
    #[must_use]
    pub fn redacted(&self) -> String {
        match self.password_range {
            Some((a, b)) => format!("{}xxxxx{}", &self.raw[..a], &self.raw[b..]),
            None => self.raw.clone(),
        }
    }
}

impl fmt::Debug for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for Url {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

impl<'de> Deserialize<'de> for Url {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Url::parse(&s).map_err(|e| crate::yaml::go_error(e, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "<secret>");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn urls_parse_and_redact() {
        let u = Url::parse("https://user:pw@example.com:8080/push?x=1").unwrap();
        assert_eq!(u.scheme(), "https");
        assert_eq!(
            u.host(),
            "user:pw@example.com:8080".rsplit('@').next().unwrap()
        );
        assert_eq!(u.redacted(), "https://user:xxxxx@example.com:8080/push?x=1");
        let rel = Url::parse("/just/a/path").unwrap();
        assert_eq!(rel.scheme(), "");
        assert_eq!(rel.host(), "");
        assert!(Url::parse("::x").is_err());
        assert!(Url::parse("http://a b/").is_err());
    }
}
