//! The e-mail integration (Alertmanager's `notify/email/email.go`): the SMTP session is in
//! `smtp.rs` (implicit TLS or STARTTLS, CRAM-MD5, PLAIN or LOGIN as Alertmanager chooses),
//! the message written as Alertmanager writes it: templated
//! headers (Q-encoded), `Message-Id`, `Date`, and a `multipart/alternative` body with the
//! text part first and the HTML part last, both quoted-printable.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::alert::Data;
use crate::config::{DEFAULT_EMAIL_SUBJECT, EmailConfig};
use crate::error::NotifyError;
use crate::notify::{Notifier, NotifyContext, NotifyFuture};
use crate::template::Template;

/// Sends to one `email_configs` entry.
pub struct Email {
    cfg: EmailConfig,
    tmpl: Arc<Template>,
    headers: BTreeMap<String, String>,
    hostname: String,
}

impl Email {
    /// An e-mail notifier for `cfg` (with `apply_global` applied); `Subject`, `To` and
    /// `From` headers are added when the configuration sets none.
    ///
    /// # Errors
    /// None today; kept fallible like the other integrations.
    pub fn new(
        cfg: &EmailConfig,
        tmpl: &Arc<Template>,
        _http: &http_client::ClientOptions,
    ) -> Result<Self, NotifyError> {
        let mut headers = cfg.headers.clone();
        headers
            .entry("Subject".into())
            .or_insert_with(|| DEFAULT_EMAIL_SUBJECT.to_owned());
        headers.entry("To".into()).or_insert_with(|| cfg.to.clone());
        headers
            .entry("From".into())
            .or_insert_with(|| cfg.from.clone());
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".into());
        Ok(Self {
            cfg: cfg.clone(),
            tmpl: tmpl.clone(),
            headers,
            hostname,
        })
    }

    /// The whole message (headers and body), as Alertmanager writes it.
    ///
    /// # Errors
    /// A template error, naming the header or part.
    pub fn message(&self, data: &Data) -> Result<Vec<u8>, NotifyError> {
        let t = &self.tmpl;
        let mut out = String::new();
        for (name, text) in &self.headers {
            let v = t.execute_text(text, data).map_err(|e| {
                NotifyError::permanent(format!("execute {name:?} header template: {e}"))
            })?;
            out.push_str(&format!("{name}: {}\r\n", q_encode(&v)));
        }
        let now = jiff::Timestamp::now();
        if !self.headers.contains_key("Message-Id") {
            out.push_str(&format!(
                "Message-Id: <{}.{}@{}>\r\n",
                now.as_nanosecond(),
                random_u64(),
                self.hostname
            ));
        }
        let boundary = boundary();
        out.push_str(&format!(
            "Date: {} +0000\r\n",
            now.strftime("%a, %d %b %Y %H:%M:%S")
        ));
        out.push_str(&format!(
            "Content-Type: multipart/alternative;  boundary={boundary}\r\n"
        ));
        out.push_str("MIME-Version: 1.0\r\n\r\n");
        let mut parts = Vec::new();
        if !self.cfg.text.is_empty() {
            let body = t
                .execute_text(&self.cfg.text, data)
                .map_err(|e| NotifyError::permanent(format!("execute text template: {e}")))?;
            parts.push(("text/plain; charset=UTF-8", body));
        }
        if !self.cfg.html.is_empty() {
            let body = t
                .execute_html(&self.cfg.html, data)
                .map_err(|e| NotifyError::permanent(format!("execute html template: {e}")))?;
            parts.push(("text/html; charset=UTF-8", body));
        }
        for (i, (ctype, body)) in parts.iter().enumerate() {
            if i == 0 {
                out.push_str(&format!("--{boundary}\r\n"));
            } else {
                out.push_str(&format!("\r\n--{boundary}\r\n"));
            }
            out.push_str(&format!(
                "Content-Transfer-Encoding: quoted-printable\r\nContent-Type: {ctype}\r\n\r\n"
            ));
            out.push_str(&quoted_printable(body));
        }
        out.push_str(&format!("\r\n--{boundary}--\r\n"));
        Ok(out.into_bytes())
    }

    fn envelope(&self, data: &Data) -> Result<lettre::address::Envelope, NotifyError> {
        let from_text = self
            .tmpl
            .execute_text(&self.cfg.from, data)
            .map_err(|e| NotifyError::permanent(format!("execute 'from' template: {e}")))?;
        let from: lettre::message::Mailbox = from_text
            .parse()
            .map_err(|e| NotifyError::permanent(format!("parse 'from' addresses: {e}")))?;
        let to_text = self
            .tmpl
            .execute_text(&self.cfg.to, data)
            .map_err(|e| NotifyError::permanent(format!("execute 'to' template: {e}")))?;
        let to: lettre::message::Mailboxes = to_text
            .parse()
            .map_err(|e| NotifyError::permanent(format!("parse 'to' addresses: {e}")))?;
        lettre::address::Envelope::new(Some(from.email), to.into_iter().map(|m| m.email).collect())
            .map_err(|e| NotifyError::permanent(e.to_string()))
    }
}

impl Notifier for Email {
    fn notify<'a>(&'a self, _ctx: &'a NotifyContext, data: &'a Data) -> NotifyFuture<'a> {
        Box::pin(async move {
            let envelope = self.envelope(data)?;
            let msg = self.message(data)?;
            // lettre ends DATA with "\r\n.\r\n" where Go's client writes ".\r\n" after a
            // message already ending in CRLF: without our last CRLF the server receives the
            // same bytes from both.
            let wire = msg.strip_suffix(b"\r\n").unwrap_or(&msg);
            // lettre's timeout covers connecting only: bound the whole session.
            tokio::time::timeout(
                std::time::Duration::from_secs(120),
                crate::smtp::send(&self.cfg, &envelope, wire),
            )
            .await
            .map_err(|_| NotifyError::retryable("send email: timed out after 2m0s"))?
        })
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A pseudo-random number (time, process and a counter through SHA-256).
fn random_u64() -> u64 {
    use sha2::Digest;
    let seed = format!(
        "{}-{}-{}",
        jiff::Timestamp::now().as_nanosecond(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let h = sha2::Sha256::digest(seed.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h[..8]);
    u64::from_le_bytes(b)
}

/// A multipart boundary like Go's (60 hex digits).
fn boundary() -> String {
    (0..4)
        .map(|_| format!("{:016x}", random_u64()))
        .collect::<String>()[..60]
        .to_owned()
}

/// Go's `mime.QEncoding.Encode("utf-8", s)`: unchanged when printable ASCII, else encoded
/// words of at most 75 characters.
pub(crate) fn q_encode(s: &str) -> String {
    if s.bytes().all(|b| (b' '..=b'~').contains(&b) || b == b'\t') {
        return s.to_owned();
    }
    const PREFIX: &str = "=?utf-8?q?";
    const MAX: usize = 75 - PREFIX.len() - 2;
    let mut words = Vec::new();
    let mut cur = String::new();
    for ch in s.chars() {
        let mut enc = String::new();
        let mut buf = [0u8; 4];
        for b in ch.encode_utf8(&mut buf).bytes() {
            match b {
                b' ' => enc.push('_'),
                b'!'..=b'~' if b != b'=' && b != b'?' && b != b'_' => enc.push(b as char),
                _ => enc.push_str(&format!("={b:02X}")),
            }
        }
        if cur.len() + enc.len() > MAX {
            words.push(std::mem::take(&mut cur));
        }
        cur.push_str(&enc);
    }
    words.push(cur);
    words
        .iter()
        .map(|w| format!("{PREFIX}{w}?="))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Go's `mime/quotedprintable.Writer` in text mode: CRLF line breaks, lines of at most 76
/// characters with soft breaks, `=`, non-ASCII and line-final white space encoded.
pub(crate) fn quoted_printable(s: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    let flush_ws_end = |line: &mut String| {
        if let Some(last) = line.pop() {
            if last == ' ' || last == '\t' {
                line.push_str(&format!("={:02X}", last as u8));
            } else {
                line.push(last);
            }
        }
    };
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\r' || b == b'\n' {
            if b == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
            flush_ws_end(&mut line);
            out.push_str(&line);
            out.push_str("\r\n");
            line.clear();
            i += 1;
            continue;
        }
        let enc = if (b'!'..=b'~').contains(&b) && b != b'=' || b == b' ' || b == b'\t' {
            (b as char).to_string()
        } else {
            format!("={b:02X}")
        };
        if line.len() + enc.len() > 75 {
            out.push_str(&line);
            out.push_str("=\r\n");
            line.clear();
        }
        line.push_str(&enc);
        i += 1;
    }
    flush_ws_end(&mut line);
    out.push_str(&line);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_and_q_encoding_follow_go() {
        for (input, want) in [
            ("plain", "plain"),
            ("a=b", "a=3Db"),
            ("trailing \nx", "trailing=20\r\nx"),
            ("ümlaut", "=C3=BCmlaut"),
            ("crlf\r\nkept", "crlf\r\nkept"),
        ] {
            assert_eq!(quoted_printable(input), want, "{input:?}");
        }
        let long = "x".repeat(80);
        assert_eq!(
            quoted_printable(&long),
            format!("{}=\r\n{}", "x".repeat(75), "x".repeat(5))
        );
        assert_eq!(q_encode("[FIRING:1] x"), "[FIRING:1] x");
        assert_eq!(q_encode("héllo wörld"), "=?utf-8?q?h=C3=A9llo_w=C3=B6rld?=");
    }
}
