//! OAuth 2.0 client credentials: a token fetched from `token_url`, cached until shortly before
//! it expires (golang.org/x/oauth2's ten seconds) and fetched again after; a client secret read
//! from a file is re-read at each request and a changed secret discards the cached token.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use config::OAuth2;

/// Tokens are treated as expired this long before their expiry, as golang.org/x/oauth2 does.
const EXPIRY_DELTA: Duration = Duration::from_secs(10);

/// A cached access token.
#[derive(Debug, Clone)]
struct Token {
    /// `Bearer ...`: the scheme as Go's `Token.Type` normalises it, and the token.
    header: String,
    /// When the token stops being used; `None`: never.
    expiry: Option<Instant>,
}

#[derive(Debug, Default)]
struct State {
    secret: String,
    token: Option<Token>,
    /// The token endpoint refused credentials in the header; send them in the body.
    in_params: bool,
}

/// The token source of one client.
#[derive(Debug)]
pub(crate) struct TokenSource {
    cfg: OAuth2,
    client: reqwest::Client,
    state: tokio::sync::Mutex<State>,
}

/// A token endpoint answer (RFC 6749 section 5.1).
#[derive(Debug, serde::Deserialize)]
struct TokenResponse {
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    token_type: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

/// Go's `Token.Type`: canonical spellings of the well-known schemes, `Bearer` when empty.
fn token_type(raw: &str) -> String {
    if raw.is_empty() || raw.eq_ignore_ascii_case("bearer") {
        "Bearer".to_owned()
    } else if raw.eq_ignore_ascii_case("mac") {
        "MAC".to_owned()
    } else if raw.eq_ignore_ascii_case("basic") {
        "Basic".to_owned()
    } else {
        raw.to_owned()
    }
}

fn expires_in(v: Option<&serde_json::Value>) -> Option<u64> {
    match v? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .filter(|s| *s > 0)
}

impl TokenSource {
    /// A source for `cfg`, requesting tokens with `client`.
    pub(crate) fn new(cfg: OAuth2, client: reqwest::Client) -> Self {
        Self {
            cfg,
            client,
            state: tokio::sync::Mutex::new(State::default()),
        }
    }

    fn secret(&self) -> Result<String, String> {
        super::Value::new(
            self.cfg.client_secret.expose(),
            &self.cfg.client_secret_file,
        )
        .resolve("oauth2 client secret")
    }

    /// The `Authorization` header value: the cached token, or a new one.
    pub(crate) async fn authorization(&self) -> Result<String, String> {
        let secret = self.secret()?;
        let mut state = self.state.lock().await;
        if state.secret != secret {
            state.secret.clone_from(&secret);
            state.token = None;
        }
        if let Some(t) = &state.token
            && t.expiry.is_none_or(|e| Instant::now() + EXPIRY_DELTA < e)
        {
            return Ok(t.header.clone());
        }
        let token = match self.fetch(&secret, state.in_params).await {
            Ok(t) => t,
            // Auto-detection as x/oauth2: credentials in the header first, then in the body.
            Err(first) if !state.in_params => match self.fetch(&secret, true).await {
                Ok(t) => {
                    state.in_params = true;
                    t
                }
                Err(_) => return Err(first),
            },
            Err(e) => return Err(e),
        };
        let header = token.header.clone();
        state.token = Some(token);
        Ok(header)
    }

    async fn fetch(&self, secret: &str, in_params: bool) -> Result<Token, String> {
        let mut params: BTreeMap<String, String> = BTreeMap::new();
        params.insert("grant_type".into(), "client_credentials".into());
        if !self.cfg.scopes.is_empty() {
            params.insert("scope".into(), self.cfg.scopes.join(" "));
        }
        for (k, v) in &self.cfg.endpoint_params {
            params.insert(k.clone(), v.clone());
        }
        if in_params {
            params.insert("client_id".into(), self.cfg.client_id.clone());
            if !secret.is_empty() {
                params.insert("client_secret".into(), secret.to_owned());
            }
        }
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter())
            .finish();
        let mut req = self
            .client
            .post(&self.cfg.token_url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        if !in_params {
            req = req.basic_auth(
                model::gofmt::query_escape(&self.cfg.client_id),
                Some(model::gofmt::query_escape(secret)),
            );
        }
        let cannot = |m: String| format!("oauth2: cannot fetch token: {m}");
        let resp = req
            .send()
            .await
            .map_err(|e| cannot(super::go_error::request_error_text(&e)))?;
        let status = resp.status();
        let ctype = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = resp
            .bytes()
            .await
            .map_err(|e| cannot(super::go_error::request_error_text(&e)))?;
        if !status.is_success() {
            return Err(cannot(format!(
                "{status}\nResponse: {}",
                String::from_utf8_lossy(&body)
            )));
        }
        let parsed = if ctype.starts_with("application/x-www-form-urlencoded")
            || ctype.starts_with("text/plain")
        {
            let mut r = TokenResponse {
                access_token: String::new(),
                token_type: String::new(),
                expires_in: None,
            };
            for (k, v) in url::form_urlencoded::parse(&body) {
                match k.as_ref() {
                    "access_token" => r.access_token = v.into_owned(),
                    "token_type" => r.token_type = v.into_owned(),
                    "expires_in" => r.expires_in = Some(serde_json::Value::String(v.into_owned())),
                    _ => {}
                }
            }
            r
        } else {
            serde_json::from_slice::<TokenResponse>(&body)
                .map_err(|e| format!("oauth2: cannot parse json: {e}"))?
        };
        if parsed.access_token.is_empty() {
            return Err("oauth2: server response missing access_token".to_owned());
        }
        Ok(Token {
            header: format!("{} {}", token_type(&parsed.token_type), parsed.access_token),
            expiry: expires_in(parsed.expires_in.as_ref())
                .map(|s| Instant::now() + Duration::from_secs(s)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_types_as_go() {
        assert_eq!(token_type(""), "Bearer");
        assert_eq!(token_type("bearer"), "Bearer");
        assert_eq!(token_type("mac"), "MAC");
        assert_eq!(token_type("DPoP"), "DPoP");
    }

    #[test]
    fn expiry_forms() {
        assert_eq!(expires_in(Some(&serde_json::json!(60))), Some(60));
        assert_eq!(expires_in(Some(&serde_json::json!("60"))), Some(60));
        assert_eq!(expires_in(Some(&serde_json::json!(0))), None);
        assert_eq!(expires_in(None), None);
    }

    #[test]
    fn escapes_like_go() {
        assert_eq!(model::gofmt::query_escape("a b&c/d"), "a+b%26c%2Fd");
    }
}
