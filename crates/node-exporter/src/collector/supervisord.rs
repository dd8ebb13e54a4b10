//! supervisord's processes over XML-RPC (`supervisor.getAllProcessInfo`) on HTTP or a Unix
//! socket (node_exporter's `supervisord.go` with `mattn/go-xmlrpc`).

use std::io::{Read, Write};
use std::time::Duration;

use super::{Collector, CollectorError, Out};
use crate::options::{Options, Paths};

/// Where supervisord listens.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    /// `http://host:port/path`.
    Tcp {
        host: String,
        port: u16,
        path: String,
    },
    /// `unix:///path/to/socket`.
    Unix(String),
}

/// The supervisord collector: `--collector.supervisord.url` (or `SUPERVISORD_URL`).
pub struct Supervisord {
    endpoint: Endpoint,
}

impl Supervisord {
    /// Builds the collector.
    ///
    /// # Errors
    /// The URL is neither `http://` nor `unix://`.
    pub fn factory(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        let url = opts.get("collector.supervisord.url").map_or_else(
            || {
                std::env::var("SUPERVISORD_URL")
                    .unwrap_or_else(|_| "http://localhost:9001/RPC2".into())
            },
            str::to_owned,
        );
        let endpoint = parse_url(&url).map_err(|m| crate::Error::Collector {
            collector: "supervisord".into(),
            message: m,
        })?;
        tracing::warn!(
            collector = "supervisord",
            "This collector is deprecated and will be removed in the next major version release."
        );
        Ok(Box::new(Self { endpoint }))
    }
}

fn parse_url(url: &str) -> Result<Endpoint, String> {
    if let Some(p) = url.strip_prefix("unix://") {
        return Ok(Endpoint::Unix(p.to_owned()));
    }
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("--collector.supervisord.url: unsupported URL {url:?}"))?;
    let (hostport, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => (
            h.trim_matches(['[', ']']).to_owned(),
            p.parse()
                .map_err(|_| format!("--collector.supervisord.url: bad port in {url:?}"))?,
        ),
        _ => (hostport.trim_matches(['[', ']']).to_owned(), 80),
    };
    Ok(Endpoint::Tcp {
        host,
        port,
        path: path.to_owned(),
    })
}

/// One XML-RPC value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `<int>`/`<i4>`/`<i8>`.
    Int(i64),
    /// `<boolean>`.
    Bool(bool),
    /// `<double>`.
    Double(f64),
    /// `<string>`, a bare value, and the other scalar types as text.
    Str(String),
    /// `<array>`.
    Array(Vec<Value>),
    /// `<struct>`, members in order.
    Struct(Vec<(String, Value)>),
}

const REQUEST: &str = "<?xml version=\"1.0\"?><methodCall><methodName>supervisor.getAllProcessInfo</methodName><params></params></methodCall>";

fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let ent = &rest[1..end];
        let c = match ent {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => ent
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| ent.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A cursor over the XML text: tags and the text between them.
struct Xml<'a> {
    s: &'a str,
}

impl<'a> Xml<'a> {
    /// Skips whitespace, comments and the declaration; returns the next tag's name
    /// (`/x` for an end tag, `x/` for an empty one) without consuming it.
    fn peek_tag(&mut self) -> Option<&'a str> {
        loop {
            self.s = self.s.trim_start();
            if self.s.starts_with("<?") || self.s.starts_with("<!--") {
                let end = if self.s.starts_with("<?") {
                    "?>"
                } else {
                    "-->"
                };
                let i = self.s.find(end)?;
                self.s = &self.s[i + end.len()..];
                continue;
            }
            if !self.s.starts_with('<') {
                return None;
            }
            let end = self.s.find('>')?;
            let inner = &self.s[1..end];
            let name = inner.split_whitespace().next().unwrap_or(inner);
            return Some(if inner.ends_with('/') && !name.ends_with('/') {
                // `<nil />`
                &inner[..inner.len() - 1]
            } else {
                name
            });
        }
    }

    fn take_tag(&mut self) -> Result<&'a str, String> {
        let t = self
            .peek_tag()
            .ok_or_else(|| format!("expected a tag at {:?}", head(self.s)))?;
        let end = self.s.find('>').unwrap_or(self.s.len() - 1);
        self.s = &self.s[end + 1..];
        Ok(t.trim())
    }

    fn expect(&mut self, tag: &str) -> Result<(), String> {
        let t = self.take_tag()?;
        if t == tag {
            Ok(())
        } else {
            Err(format!("expected <{tag}>, found <{t}>"))
        }
    }

    fn text(&mut self) -> String {
        let i = self.s.find('<').unwrap_or(self.s.len());
        let t = unescape(&self.s[..i]);
        self.s = &self.s[i..];
        t
    }

    /// Parses `<value>…</value>`.
    fn value(&mut self) -> Result<Value, String> {
        self.expect("value")?;
        let tag = if self.s.trim_start().starts_with('<') {
            self.peek_tag()
        } else {
            None
        };
        let v = match tag {
            None | Some("/value") => Value::Str(self.text()),
            Some("array") => {
                self.take_tag()?;
                self.expect("data")?;
                let mut items = Vec::new();
                while self.peek_tag() == Some("value") {
                    items.push(self.value()?);
                }
                self.expect("/data")?;
                self.expect("/array")?;
                Value::Array(items)
            }
            Some("struct") => {
                self.take_tag()?;
                let mut members = Vec::new();
                while self.peek_tag() == Some("member") {
                    self.take_tag()?;
                    self.expect("name")?;
                    let name = self.text();
                    self.expect("/name")?;
                    let v = self.value()?;
                    self.expect("/member")?;
                    members.push((name, v));
                }
                self.expect("/struct")?;
                Value::Struct(members)
            }
            Some(t) if t.ends_with('/') || t == "nil/" => {
                self.take_tag()?;
                Value::Str(String::new())
            }
            Some(t) => {
                let t = t.to_owned();
                self.take_tag()?;
                let text = self.text();
                self.expect(&format!("/{t}"))?;
                match t.as_str() {
                    "int" | "i4" | "i8" => Value::Int(
                        text.trim()
                            .parse()
                            .map_err(|_| format!("invalid <{t}> {text:?}"))?,
                    ),
                    "boolean" => Value::Bool(text.trim() == "1"),
                    "double" => Value::Double(
                        text.trim()
                            .parse()
                            .map_err(|_| format!("invalid <double> {text:?}"))?,
                    ),
                    _ => Value::Str(text),
                }
            }
        };
        self.expect("/value")?;
        Ok(v)
    }
}

fn head(s: &str) -> &str {
    &s[..s.len().min(40)]
}

/// Parses a `methodResponse`: the returned value, or the fault as an error.
///
/// # Errors
/// Not XML-RPC, or a fault.
pub fn parse_response(body: &str) -> Result<Value, String> {
    let mut x = Xml { s: body };
    x.expect("methodResponse")?;
    match x.take_tag()? {
        "params" => {
            x.expect("param")?;
            x.value()
        }
        "fault" => {
            let v = x.value()?;
            let field = |k: &str| match &v {
                Value::Struct(m) => m.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()),
                _ => None,
            };
            let code = match field("faultCode") {
                Some(Value::Int(c)) => c,
                _ => 0,
            };
            let msg = match field("faultString") {
                Some(Value::Str(s)) => s,
                _ => String::new(),
            };
            Err(format!("{code}: {msg}"))
        }
        t => Err(format!("unexpected <{t}> in methodResponse")),
    }
}

/// Sends the request and returns the body of a 200 reply.
fn call(endpoint: &Endpoint) -> Result<String, String> {
    let (host, path) = match endpoint {
        Endpoint::Tcp { host, path, .. } => (host.as_str(), path.as_str()),
        Endpoint::Unix(_) => ("unix", "/RPC2"),
    };
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Go-http-client/1.1\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{REQUEST}",
        REQUEST.len()
    );
    let timeout = Some(Duration::from_secs(10));
    let mut raw = Vec::new();
    let io = |e: std::io::Error| e.to_string();
    match endpoint {
        Endpoint::Tcp { host, port, .. } => {
            let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), *port))
                .map_err(io)?
                .next()
                .ok_or_else(|| format!("no address for {host}"))?;
            let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(10))
                .map_err(|e| {
                    format!("Post \"http://{host}:{port}{path}\": dial tcp {addr}: {e}")
                })?;
            s.set_read_timeout(timeout).map_err(io)?;
            s.write_all(req.as_bytes()).map_err(io)?;
            s.read_to_end(&mut raw).map_err(io)?;
        }
        Endpoint::Unix(p) => {
            let mut s = std::os::unix::net::UnixStream::connect(p)
                .map_err(|e| format!("dial unix {p}: {e}"))?;
            s.set_read_timeout(timeout).map_err(io)?;
            s.write_all(req.as_bytes()).map_err(io)?;
            s.read_to_end(&mut raw).map_err(io)?;
        }
    }
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("malformed HTTP response")?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        return Err(format!("bad status code - {status}"));
    }
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    Ok(if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// supervisord's running states: STARTING, RUNNING, STOPPING.
fn running(state: i64) -> bool {
    matches!(state, 10 | 20 | 40)
}

/// The samples for `getAllProcessInfo`'s result. As node_exporter, a field missing from a
/// process keeps the previous process's value.
///
/// # Errors
/// The result is not an array of structs with integers where integers belong.
pub fn emit(result: &Value, out: &mut Out) -> Result<(), String> {
    let Value::Array(procs) = result else {
        return Err("getAllProcessInfo did not return an array".into());
    };
    let (mut name, mut group) = (String::new(), String::new());
    let (mut start, mut state, mut exit) = (0i64, 0i64, 0i64);
    for p in procs {
        let Value::Struct(members) = p else {
            return Err("process info is not a struct".into());
        };
        for (k, v) in members {
            let int = |v: &Value| match v {
                Value::Int(i) => Ok(*i),
                other => Err(format!("{k}: not an int: {other:?}")),
            };
            let string = |v: &Value| match v {
                Value::Str(s) => Ok(s.clone()),
                other => Err(format!("{k}: not a string: {other:?}")),
            };
            match k.as_str() {
                "name" => name = string(v)?,
                "group" => group = string(v)?,
                "start" => start = int(v)?,
                "state" => state = int(v)?,
                "exitstatus" => exit = int(v)?,
                _ => {}
            }
        }
        let l = [("name", name.as_str()), ("group", group.as_str())];
        #[allow(clippy::cast_precision_loss)]
        {
            out.gauge("node_supervisord_state", "Process State", &l, state as f64);
            out.gauge(
                "node_supervisord_exit_status",
                "Process Exit Status",
                &l,
                exit as f64,
            );
            if running(state) {
                out.gauge("node_supervisord_up", "Process Up", &l, 1.0);
                out.counter(
                    "node_supervisord_start_time_seconds",
                    "Process start time",
                    &l,
                    start as f64,
                );
            } else {
                out.gauge("node_supervisord_up", "Process Up", &l, 0.0);
            }
        }
    }
    Ok(())
}

impl Collector for Supervisord {
    fn update(&self, _: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let fail = |e: String| CollectorError::Other(format!("unable to call supervisord: {e}"));
        let body = call(&self.endpoint).map_err(fail)?;
        let v = parse_response(&body).map_err(fail)?;
        emit(&v, out).map_err(|e| CollectorError::Other(format!("supervisord: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("http://localhost:9001/RPC2"),
            Ok(Endpoint::Tcp {
                host: "localhost".into(),
                port: 9001,
                path: "/RPC2".into()
            })
        );
        assert_eq!(
            parse_url("unix:///run/supervisor.sock"),
            Ok(Endpoint::Unix("/run/supervisor.sock".into()))
        );
        assert!(parse_url("https://x/RPC2").is_err());
    }

    #[test]
    fn parses_values_and_faults() {
        let ok = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><array><data>\n<value><struct>\n<member>\n<name>name</name>\n<value><string>a&amp;b</string></value>\n</member>\n<member>\n<name>pid</name>\n<value><int>12</int></value>\n</member>\n<member><name>description</name><value>pid 12</value></member>\n<member><name>ok</name><value><boolean>1</boolean></value></member>\n</struct></value>\n</data></array></value>\n</param>\n</params>\n</methodResponse>\n";
        assert_eq!(
            parse_response(ok),
            Ok(Value::Array(vec![Value::Struct(vec![
                ("name".into(), Value::Str("a&b".into())),
                ("pid".into(), Value::Int(12)),
                ("description".into(), Value::Str("pid 12".into())),
                ("ok".into(), Value::Bool(true)),
            ])]))
        );
        let fault = "<?xml version='1.0'?><methodResponse><fault><value><struct><member><name>faultCode</name><value><int>1</int></value></member><member><name>faultString</name><value><string>UNKNOWN_METHOD</string></value></member></struct></value></fault></methodResponse>";
        assert_eq!(parse_response(fault), Err("1: UNKNOWN_METHOD".into()));
        assert!(parse_response("<html>").is_err());
    }
}
