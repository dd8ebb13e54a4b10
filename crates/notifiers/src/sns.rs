//! The SNS integration (Alertmanager's `notify/sns/sns.go`) without a cloud SDK: the
//! `Publish` action of the SNS query API as a form POST, signed with AWS Signature Version 4
//! from the static `sigv4` keys (profiles, roles and instance credentials need an SDK and
//! are refused with a clear error).

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::alert::Data;
use crate::config::SnsConfig;
use crate::error::NotifyError;
use crate::notify::{Expand, Notifier, NotifyContext, NotifyFuture, group_key_hash, send};

notifier!(
    /// Sends to one `sns_configs` entry.
    Sns,
    SnsConfig, { clock: Option<jiff::Timestamp> = None }
);

/// Alertmanager's `validateAndTruncateMessage`: invalid UTF-8 is sent base64-encoded (never
/// the case for Rust strings), longer messages are cut at `max` bytes.
fn truncate_message(m: &str, max: usize) -> (String, bool) {
    if m.len() <= max {
        return (m.to_owned(), false);
    }
    let mut end = max;
    while !m.is_char_boundary(end) {
        end -= 1;
    }
    (m[..end].to_owned(), true)
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    const BLOCK: usize = 64;
    let mut k = if key.len() > BLOCK {
        Sha256::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    k.resize(BLOCK, 0);
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&ipad)
        .chain_update(data)
        .finalize();
    Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize()
        .to_vec()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// AWS's URI encoding (RFC 3986 unreserved characters kept).
fn aws_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `Authorization` header of a SigV4-signed POST.
/// `headers` are the signed headers with lower-case names (`host` among them).
#[allow(clippy::too_many_arguments)]
#[must_use]
pub fn sigv4_authorization(
    access_key: &str,
    secret_key: &str,
    region: &str,
    service: &str,
    path: &str,
    headers: &BTreeMap<String, String>,
    body: &[u8],
    amz_date: &str,
) -> String {
    let date = &amz_date[..8];
    let mut canonical_headers = String::new();
    for (k, v) in headers {
        canonical_headers.push_str(&format!("{k}:{}\n", v.trim()));
    }
    let signed: Vec<&str> = headers.keys().map(String::as_str).collect();
    let signed = signed.join(";");
    let path = if path.is_empty() { "/" } else { path };
    let canonical = format!(
        "POST\n{}\n\n{canonical_headers}\n{signed}\n{}",
        path.split('/')
            .map(aws_encode)
            .collect::<Vec<_>>()
            .join("/"),
        hex(&Sha256::digest(body))
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let k = hmac(format!("AWS4{secret_key}").as_bytes(), date.as_bytes());
    let k = hmac(&k, region.as_bytes());
    let k = hmac(&k, service.as_bytes());
    let k = hmac(&k, b"aws4_request");
    let sig = hex(&hmac(&k, to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed}, Signature={sig}"
    )
}

impl Sns {
    /// Signs as of `t` instead of now (tests).
    #[must_use]
    pub fn with_clock(mut self, t: jiff::Timestamp) -> Self {
        self.clock = Some(t);
        self
    }

    /// The form parameters of the `Publish` call.
    fn params(
        &self,
        ctx: &NotifyContext,
        data: &Data,
    ) -> Result<Vec<(String, String)>, NotifyError> {
        let c = &self.cfg;
        let mut x = Expand::new(&self.tmpl, data);
        let mut p: Vec<(String, String)> = vec![
            ("Action".into(), "Publish".into()),
            ("Version".into(), "2010-03-31".into()),
        ];
        let mut truncated = false;
        let message = x.text(&c.message);
        if !c.topic_arn.is_empty() {
            let topic = x.text(&c.topic_arn);
            let (m, t) = truncate_message(&message, 262_144);
            truncated |= t;
            if topic.ends_with(".fifo") {
                let key = group_key_hash(&ctx.group_key);
                p.push(("MessageDeduplicationId".into(), key.clone()));
                p.push(("MessageGroupId".into(), key));
            }
            p.push(("TopicArn".into(), topic));
            p.push(("Message".into(), m));
        }
        if !c.phone_number.is_empty() {
            p.push(("PhoneNumber".into(), x.text(&c.phone_number)));
            let (m, t) = truncate_message(&message, 1600);
            truncated |= t;
            p.retain(|(k, _)| k != "Message");
            p.push(("Message".into(), m));
        }
        if !c.target_arn.is_empty() {
            p.push(("TargetArn".into(), x.text(&c.target_arn)));
            let (m, t) = truncate_message(&message, 262_144);
            truncated |= t;
            p.retain(|(k, _)| k != "Message");
            p.push(("Message".into(), m));
        }
        let mut attributes: BTreeMap<String, String> = BTreeMap::new();
        if truncated {
            attributes.insert("truncated".into(), "true".into());
        }
        for (k, v) in &c.attributes {
            attributes.insert(x.text(k), x.text(v));
        }
        for (i, (k, v)) in attributes.iter().enumerate() {
            let n = i + 1;
            p.push((format!("MessageAttributes.entry.{n}.Name"), k.clone()));
            p.push((
                format!("MessageAttributes.entry.{n}.Value.DataType"),
                "String".into(),
            ));
            p.push((
                format!("MessageAttributes.entry.{n}.Value.StringValue"),
                v.clone(),
            ));
        }
        if !c.subject.is_empty() {
            p.push(("Subject".into(), x.text(&c.subject)));
        }
        x.finish()?;
        p.sort();
        Ok(p)
    }
}

impl Notifier for Sns {
    fn notify<'a>(&'a self, ctx: &'a NotifyContext, data: &'a Data) -> NotifyFuture<'a> {
        Box::pin(async move {
            let c = &self.cfg;
            let s = &c.sigv4;
            if s.access_key.is_empty() || s.secret_key.is_empty() {
                return Err(NotifyError::permanent(
                    "sns: only static sigv4 access_key and secret_key are supported (no AWS SDK credential chain)",
                ));
            }
            let region = s.region.clone();
            let endpoint = if c.api_url.is_empty() {
                format!("https://sns.{region}.amazonaws.com")
            } else {
                c.api_url.clone()
            };
            let mut u = url::Url::parse(&endpoint)
                .map_err(|e| NotifyError::permanent(format!("sns api_url: {e}")))?;
            // The SDK appends the operation's path "/" to the endpoint's.
            let path = format!("{}/", u.path().trim_end_matches('/'));
            u.set_path(&path);
            let host = match u.port() {
                Some(p) => format!("{}:{p}", u.host_str().unwrap_or_default()),
                None => u.host_str().unwrap_or_default().to_owned(),
            };
            let params = self.params(ctx, data)?;
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&params)
                .finish()
                .replace('+', "%20");
            let now = self.clock.unwrap_or_else(jiff::Timestamp::now);
            let amz_date = now.strftime("%Y%m%dT%H%M%SZ").to_string();
            let content_type = "application/x-www-form-urlencoded; charset=utf-8";
            let headers = BTreeMap::from([
                ("content-length".to_owned(), body.len().to_string()),
                ("content-type".to_owned(), content_type.to_owned()),
                ("host".to_owned(), host.clone()),
                ("x-amz-date".to_owned(), amz_date.clone()),
            ]);
            let auth = sigv4_authorization(
                &s.access_key,
                s.secret_key.expose(),
                &region,
                "sns",
                u.path(),
                &headers,
                body.as_bytes(),
                &amz_date,
            );
            let req = self
                .http
                .post(u.as_str())
                .await
                .map_err(|e| NotifyError::retryable(e.to_string()))?
                .header("Content-Type", content_type)
                .header("X-Amz-Date", amz_date)
                .header("Authorization", auth)
                .body(body);
            send(req).await.map(|_| ())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // RFC 4231, test case 2.
        assert_eq!(
            hex(&hmac(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
