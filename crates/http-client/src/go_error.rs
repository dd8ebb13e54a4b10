//! Request errors in the words Go's `net/http` uses, since Prometheus shows those texts as a
//! target's or Alertmanager's last error: `Get "URL": dial tcp HOST:PORT: connect: connection
//! refused`, `... context deadline exceeded`, `... tls: failed to verify certificate: x509:
//! certificate signed by unknown authority`.

use std::error::Error as _;

/// Go's `url.Error` operation name for an HTTP method: `Get`, `Post`...
#[must_use]
pub fn go_method(method: &str) -> String {
    let mut out = String::with_capacity(method.len());
    for (i, c) in method.chars().enumerate() {
        if i == 0 {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

fn host_port(url: Option<&reqwest::Url>) -> String {
    let Some(u) = url else {
        return String::new();
    };
    let host = u.host_str().unwrap_or_default();
    let port = u.port_or_known_default().unwrap_or(80);
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn tls_text(e: &rustls::Error, url: Option<&reqwest::Url>) -> String {
    use rustls::{AlertDescription as A, CertificateError as C, Error as E};
    let verify = "tls: failed to verify certificate: x509: ";
    match e {
        E::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => {
            format!("{verify}certificate signed by unknown authority")
        }
        E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            let host = url.and_then(reqwest::Url::host_str).unwrap_or_default();
            format!("{verify}certificate is not valid for {host}")
        }
        E::InvalidCertificate(
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. },
        ) => format!("{verify}certificate has expired or is not yet valid"),
        E::InvalidMessage(_) | E::InappropriateMessage { .. } => {
            "http: server gave HTTP response to HTTPS client".to_owned()
        }
        E::AlertReceived(a) => {
            let what = match a {
                A::CertificateRequired => "certificate required".to_owned(),
                A::BadCertificate => "bad certificate".to_owned(),
                A::HandshakeFailure => "handshake failure".to_owned(),
                A::UnknownCA => "unknown certificate authority".to_owned(),
                A::ProtocolVersion => "protocol version not supported".to_owned(),
                other => format!("{other:?}"),
            };
            format!("remote error: tls: {what}")
        }
        other => format!("tls: {other}"),
    }
}

/// The cause of a failed request as Go words it, without the `Get "URL": ` prefix.
#[must_use]
pub fn go_cause(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "context deadline exceeded".to_owned();
    }
    let url = e.url();
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(t) = s.downcast_ref::<rustls::Error>() {
            return tls_text(t, url);
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            // io::Errors nest (Other around InvalidData around the rustls error).
            let mut inner: &(dyn std::error::Error + 'static) = io;
            let mut kind = io.kind();
            while let Some(i) = inner.downcast_ref::<std::io::Error>() {
                if kind == std::io::ErrorKind::Other {
                    kind = i.kind();
                }
                match i.get_ref() {
                    Some(next) => inner = next,
                    None => break,
                }
            }
            if let Some(t) = inner.downcast_ref::<rustls::Error>() {
                return tls_text(t, url);
            }
            match kind {
                std::io::ErrorKind::ConnectionRefused => {
                    return format!("dial tcp {}: connect: connection refused", host_port(url));
                }
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => {
                    return "EOF".to_owned();
                }
                _ => {}
            }
        }
        if let Some(h) = s.downcast_ref::<hyper::Error>()
            && h.is_incomplete_message()
        {
            return "EOF".to_owned();
        }
        source = s.source();
    }
    if e.is_redirect() {
        return "stopped after 10 redirects".to_owned();
    }
    // Unrecognised: the whole chain, as Go prints wrapped errors.
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// `Get "URL": cause` for a failed request of `method`.
#[must_use]
pub fn go_error_text(method: &str, e: &reqwest::Error) -> String {
    match e.url() {
        Some(u) => format!("{} {:?}: {}", go_method(method), u.as_str(), go_cause(e)),
        None => go_cause(e),
    }
}

/// A failed request's text when the method is not known (the notifier posts, scrapes get):
/// Go's cause with the URL.
#[must_use]
pub fn request_error_text(e: &reqwest::Error) -> String {
    match e.url() {
        Some(u) => format!("{:?}: {}", u.as_str(), go_cause(e)),
        None => go_cause(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods() {
        assert_eq!(go_method("GET"), "Get");
        assert_eq!(go_method("POST"), "Post");
    }

    #[tokio::test]
    async fn refused_and_timeout() {
        crate::ensure_crypto_provider();
        // A port that was just free: nothing listens there.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let c = reqwest::Client::builder().no_proxy().build().unwrap();
        let url = format!("http://{addr}/metrics");
        let e = c.get(&url).send().await.unwrap_err();
        assert_eq!(
            go_error_text("GET", &e),
            format!("Get \"{url}\": dial tcp {addr}: connect: connection refused")
        );

        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let url = format!("http://{addr}/slow");
        let e = c
            .get(&url)
            .timeout(std::time::Duration::from_millis(200))
            .send()
            .await
            .unwrap_err();
        drop(l);
        assert_eq!(
            go_error_text("GET", &e),
            format!("Get \"{url}\": context deadline exceeded")
        );
    }
}
