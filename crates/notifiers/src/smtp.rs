//! The SMTP session of the e-mail integration, as Alertmanager's `notify/email/email.go`
//! runs it over Go's `net/smtp`: connect (implicit TLS on port 465 or with
//! `force_implicit_tls`), STARTTLS when `require_tls` (an error when the server does not
//! offer it), then, when `auth_username` is set and the server advertises AUTH, the first of
//! the server's mechanisms, in its order, whose credentials are configured: CRAM-MD5
//! (`auth_secret`), PLAIN (`auth_identity`, `auth_password`) or LOGIN (`auth_password`).

use lettre::address::Envelope;
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;

use crate::config::EmailConfig;
use crate::error::NotifyError;
use crate::notify::secret_or_file;

/// One authentication exchange, chosen from the server's mechanisms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// CRAM-MD5 with `auth_username` and `auth_secret`.
    CramMd5 {
        /// User name.
        username: String,
        /// Shared secret.
        secret: String,
    },
    /// PLAIN with `auth_identity`, `auth_username` and `auth_password`.
    Plain {
        /// Authorization identity (often empty).
        identity: String,
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// LOGIN with `auth_username` and `auth_password`.
    Login {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
}

/// Alertmanager's choice of authentication for a server advertising `mechs` (the
/// parameters of its `AUTH` extension, space separated): `None` without `auth_username`.
///
/// # Errors
/// Alertmanager's texts: each configured mechanism's missing credential, or
/// `unknown auth mechanism: MECHS`; an unreadable password file.
pub fn choose_auth(cfg: &EmailConfig, mechs: &str) -> Result<Option<Auth>, NotifyError> {
    let username = cfg.auth_username.clone();
    if username.is_empty() {
        return Ok(None);
    }
    let mut errors = Vec::new();
    for mech in mechs.split(' ') {
        match mech {
            "CRAM-MD5" => {
                let secret = secret_or_file(
                    cfg.auth_secret.expose(),
                    &cfg.auth_secret_file,
                    "auth_secret_file",
                )?;
                if secret.is_empty() {
                    errors.push("missing secret for CRAM-MD5 auth mechanism".to_owned());
                    continue;
                }
                return Ok(Some(Auth::CramMd5 { username, secret }));
            }
            "PLAIN" | "LOGIN" => {
                let password = secret_or_file(
                    cfg.auth_password.expose(),
                    &cfg.auth_password_file,
                    "auth_password_file",
                )?;
                if password.is_empty() {
                    errors.push(format!("missing password for {mech} auth mechanism"));
                    continue;
                }
                return Ok(Some(if mech == "PLAIN" {
                    Auth::Plain {
                        identity: cfg.auth_identity.clone(),
                        username,
                        password,
                    }
                } else {
                    Auth::Login { username, password }
                }));
            }
            _ => {}
        }
    }
    if errors.is_empty() {
        errors.push(format!("unknown auth mechanism: {mechs}"));
    }
    Err(NotifyError::retryable(format!(
        "find auth mechanism: {}",
        errors.join("; ")
    )))
}

/// HMAC-MD5 (RFC 2104) of `msg` with `key`.
fn hmac_md5(key: &[u8], msg: &[u8]) -> [u8; 16] {
    use md5::{Digest, Md5};
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..16].copy_from_slice(&Md5::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| k.map(|x| x ^ b);
    let inner = Md5::new()
        .chain_update(pad(0x36))
        .chain_update(msg)
        .finalize();
    Md5::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// The CRAM-MD5 answer to a (decoded) challenge: `user hex(hmac_md5(secret, challenge))`.
#[must_use]
pub fn cram_md5_response(username: &str, secret: &str, challenge: &[u8]) -> String {
    let mac = hmac_md5(secret.as_bytes(), challenge);
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    format!("{username} {hex}")
}

fn b64(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn smtp_error(what: &str, e: &lettre::transport::smtp::Error) -> NotifyError {
    let m = format!("{what}: {e}");
    if e.is_permanent() {
        NotifyError::permanent(m)
    } else {
        NotifyError::retryable(m)
    }
}

/// Sends `msg` to `envelope` through the configured smarthost.
///
/// # Errors
/// Connection, TLS, authentication and delivery errors, retryable unless the server's answer
/// was a permanent (5xx) one.
pub async fn send(cfg: &EmailConfig, envelope: &Envelope, msg: &[u8]) -> Result<(), NotifyError> {
    let host = cfg.smarthost.host.clone();
    let port: u16 = cfg.smarthost.port.parse().map_err(|_| {
        NotifyError::permanent(format!("invalid smarthost port {:?}", cfg.smarthost.port))
    })?;
    let hello = ClientId::Domain(if cfg.hello.is_empty() {
        "localhost".into()
    } else {
        cfg.hello.clone()
    });
    let implicit = cfg.force_implicit_tls.unwrap_or(port == 465);
    let tls = tls_parameters(cfg, &host)?;
    let timeout = Some(std::time::Duration::from_secs(30));
    let mut conn = AsyncSmtpConnection::connect_tokio1(
        (host.as_str(), port),
        timeout,
        &hello,
        implicit.then(|| tls.clone()),
        None,
    )
    .await
    .map_err(|e| smtp_error(&format!("establish connection to server {host}:{port}"), &e))?;
    let result = session(cfg, &mut conn, &hello, tls, implicit, envelope, msg).await;
    if result.is_ok() {
        let _ = conn.quit().await;
    } else {
        conn.abort().await;
    }
    result
}

async fn session(
    cfg: &EmailConfig,
    conn: &mut AsyncSmtpConnection,
    hello: &ClientId,
    tls: TlsParameters,
    implicit: bool,
    envelope: &Envelope,
    msg: &[u8],
) -> Result<(), NotifyError> {
    if !implicit && cfg.require_tls.unwrap_or(true) {
        if !conn.can_starttls() {
            return Err(NotifyError::retryable(format!(
                "'require_tls' is true (default) but \"{}:{}\" does not advertise the STARTTLS extension",
                cfg.smarthost.host, cfg.smarthost.port
            )));
        }
        conn.starttls(tls, hello)
            .await
            .map_err(|e| smtp_error("send STARTTLS command", &e))?;
    }
    if !cfg.auth_username.is_empty() {
        // lettre keeps only the mechanisms it implements: ask again for the server's list.
        let ehlo = conn
            .command(format!("EHLO {hello}\r\n"))
            .await
            .map_err(|e| smtp_error("EHLO", &e))?;
        let mechs = ehlo.message().skip(1).find_map(|line| {
            let (name, params) = line.split_once(' ').unwrap_or((line, ""));
            name.eq_ignore_ascii_case("AUTH").then(|| params.to_owned())
        });
        let auth = match mechs {
            Some(mechs) => choose_auth(cfg, &mechs)?,
            None => None,
        };
        if let Some(auth) = auth {
            let plain_ok = implicit || conn.is_encrypted() || plain_allowed(&cfg.smarthost.host);
            authenticate(conn, &auth, plain_ok).await?;
        }
    }
    conn.send(envelope, msg)
        .await
        .map_err(|e| smtp_error("send email", &e))?;
    Ok(())
}

async fn authenticate(
    conn: &mut AsyncSmtpConnection,
    auth: &Auth,
    plain_ok: bool,
) -> Result<(), NotifyError> {
    let fail =
        |kind: &str, e: &lettre::transport::smtp::Error| smtp_error(&format!("{kind} auth"), e);
    match auth {
        Auth::CramMd5 { username, secret } => {
            let kind = "*smtp.cramMD5Auth";
            let r = conn
                .command("AUTH CRAM-MD5\r\n")
                .await
                .map_err(|e| fail(kind, &e))?;
            let challenge = r.message().next().unwrap_or("").trim();
            let challenge = {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(challenge)
                    .map_err(|e| NotifyError::retryable(format!("{kind} auth: {e}")))?
            };
            let answer = cram_md5_response(username, secret, &challenge);
            conn.command(format!("{}\r\n", b64(answer.as_bytes())))
                .await
                .map_err(|e| fail(kind, &e))?;
        }
        Auth::Plain {
            identity,
            username,
            password,
        } => {
            let kind = "*smtp.plainAuth";
            // Go's PlainAuth sends credentials only over TLS or to localhost.
            if !plain_ok {
                return Err(NotifyError::retryable(format!(
                    "{kind} auth: unencrypted connection"
                )));
            }
            let blob = format!("{identity}\0{username}\0{password}");
            conn.command(format!("AUTH PLAIN {}\r\n", b64(blob.as_bytes())))
                .await
                .map_err(|e| fail(kind, &e))?;
        }
        Auth::Login { username, password } => {
            let kind = "*email.loginAuth";
            conn.command("AUTH LOGIN\r\n")
                .await
                .map_err(|e| fail(kind, &e))?;
            conn.command(format!("{}\r\n", b64(username.as_bytes())))
                .await
                .map_err(|e| fail(kind, &e))?;
            conn.command(format!("{}\r\n", b64(password.as_bytes())))
                .await
                .map_err(|e| fail(kind, &e))?;
        }
    }
    Ok(())
}

/// Go's `isLocalhost` for PLAIN without TLS.
#[must_use]
pub fn plain_allowed(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1")
}

fn tls_parameters(cfg: &EmailConfig, host: &str) -> Result<TlsParameters, NotifyError> {
    let tls_cfg = cfg.tls_config.clone().unwrap_or_default();
    let server_name = if tls_cfg.server_name.is_empty() {
        host.to_owned()
    } else {
        tls_cfg.server_name.clone()
    };
    let mut params = TlsParameters::builder(server_name)
        .dangerous_accept_invalid_certs(tls_cfg.insecure_skip_verify);
    let pem = if tls_cfg.ca_file.is_empty() {
        tls_cfg.ca.clone().into_bytes()
    } else {
        std::fs::read(&tls_cfg.ca_file).map_err(|e| {
            NotifyError::permanent(format!(
                "unable to load specified CA cert {}: {e}",
                tls_cfg.ca_file
            ))
        })?
    };
    if !pem.is_empty() {
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| NotifyError::permanent(format!("invalid CA cert: {e}")))?;
        params = params.add_root_certificate(cert);
    }
    params
        .build_rustls()
        .map_err(|e| NotifyError::permanent(format!("TLS settings: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cram_md5_matches_rfc_2195() {
        // RFC 2195's example exchange.
        let challenge = b"<1896.697170952@postoffice.reston.mci.net>";
        assert_eq!(
            cram_md5_response("tim", "tanstaaftanstaaf", challenge),
            "tim b913a602c7eda7a495b4e6e7334d3890"
        );
    }
}
