//! A minimal D-Bus client for the logind and systemd collectors (node_exporter uses `godbus/dbus`): the
//! `EXTERNAL` authentication on a Unix socket, method calls and their replies, and the wire
//! format's values (little-endian marshalling, alignment, signatures) in both directions, so
//! that tests can serve a fake bus with the same code.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// One D-Bus value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `y`.
    Byte(u8),
    /// `b`.
    Bool(bool),
    /// `i`.
    I32(i32),
    /// `u`.
    U32(u32),
    /// `x`.
    I64(i64),
    /// `t`.
    U64(u64),
    /// `d`.
    Double(f64),
    /// `s`.
    Str(String),
    /// `o`.
    Path(String),
    /// `g`.
    Sig(String),
    /// `a…`: the element signature and the elements.
    Array(String, Vec<Value>),
    /// `(…)`.
    Struct(Vec<Value>),
    /// `v`.
    Variant(Box<Value>),
}

impl Value {
    /// This value's signature.
    #[must_use]
    pub fn signature(&self) -> String {
        match self {
            Value::Byte(_) => "y".into(),
            Value::Bool(_) => "b".into(),
            Value::I32(_) => "i".into(),
            Value::U32(_) => "u".into(),
            Value::I64(_) => "x".into(),
            Value::U64(_) => "t".into(),
            Value::Double(_) => "d".into(),
            Value::Str(_) => "s".into(),
            Value::Path(_) => "o".into(),
            Value::Sig(_) => "g".into(),
            Value::Array(e, _) => format!("a{e}"),
            Value::Struct(f) => format!("({})", f.iter().map(Value::signature).collect::<String>()),
            Value::Variant(_) => "v".into(),
        }
    }
}

fn pad(buf: &mut Vec<u8>, align: usize) {
    while !buf.len().is_multiple_of(align) {
        buf.push(0);
    }
}

fn align_of(sig: u8) -> usize {
    match sig {
        b'y' | b'g' | b'v' => 1,
        b'n' | b'q' => 2,
        b'x' | b't' | b'd' | b'(' | b'{' => 8,
        _ => 4,
    }
}

/// Appends `v` to `buf` (offsets count from the start of `buf`, the message start).
pub fn encode(buf: &mut Vec<u8>, v: &Value) {
    let str_like = |buf: &mut Vec<u8>, s: &str| {
        pad(buf, 4);
        buf.extend_from_slice(&u32::try_from(s.len()).unwrap_or(0).to_le_bytes());
        buf.extend_from_slice(s.as_bytes());
        buf.push(0);
    };
    match v {
        Value::Byte(b) => buf.push(*b),
        Value::Bool(b) => {
            pad(buf, 4);
            buf.extend_from_slice(&u32::from(*b).to_le_bytes());
        }
        Value::I32(i) => {
            pad(buf, 4);
            buf.extend_from_slice(&i.to_le_bytes());
        }
        Value::U32(u) => {
            pad(buf, 4);
            buf.extend_from_slice(&u.to_le_bytes());
        }
        Value::I64(i) => {
            pad(buf, 8);
            buf.extend_from_slice(&i.to_le_bytes());
        }
        Value::U64(u) => {
            pad(buf, 8);
            buf.extend_from_slice(&u.to_le_bytes());
        }
        Value::Double(d) => {
            pad(buf, 8);
            buf.extend_from_slice(&d.to_le_bytes());
        }
        Value::Str(s) | Value::Path(s) => str_like(buf, s),
        Value::Sig(s) => {
            buf.push(u8::try_from(s.len()).unwrap_or(0));
            buf.extend_from_slice(s.as_bytes());
            buf.push(0);
        }
        Value::Array(elem, items) => {
            pad(buf, 4);
            let len_at = buf.len();
            buf.extend_from_slice(&[0; 4]);
            pad(
                buf,
                align_of(elem.as_bytes().first().copied().unwrap_or(b'y')),
            );
            let start = buf.len();
            for i in items {
                encode(buf, i);
            }
            let len = u32::try_from(buf.len() - start).unwrap_or(0);
            buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
        }
        Value::Struct(fields) => {
            pad(buf, 8);
            for f in fields {
                encode(buf, f);
            }
        }
        Value::Variant(inner) => {
            encode(buf, &Value::Sig(inner.signature()));
            encode(buf, inner);
        }
    }
}

/// The length of the first complete type in `sig`.
fn one_type(sig: &[u8]) -> Result<usize, String> {
    match sig.first() {
        None => Err("empty signature".into()),
        Some(b'a') => Ok(1 + one_type(&sig[1..])?),
        Some(&open @ (b'(' | b'{')) => {
            let close = if open == b'(' { b')' } else { b'}' };
            let mut i = 1;
            while sig.get(i) != Some(&close) {
                if i >= sig.len() {
                    return Err("unterminated struct in signature".into());
                }
                i += one_type(&sig[i..])?;
            }
            Ok(i + 1)
        }
        Some(_) => Ok(1),
    }
}

/// A reader over a message (offsets from the message start, for alignment).
pub struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    /// Reads `data` from `pos` (the offset alignment counts from 0).
    #[must_use]
    pub fn new(data: &'a [u8], pos: usize) -> Self {
        Self { data, pos }
    }

    fn align(&mut self, a: usize) {
        self.pos = self.pos.div_ceil(a) * a;
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let s = self
            .data
            .get(self.pos..self.pos + n)
            .ok_or("D-Bus message truncated")?;
        self.pos += n;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32, String> {
        self.align(4);
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().unwrap_or_default(),
        ))
    }

    fn string(&mut self, len: usize) -> Result<String, String> {
        let s = String::from_utf8_lossy(self.take(len)?).into_owned();
        self.take(1)?;
        Ok(s)
    }

    /// Decodes the values of a whole signature.
    ///
    /// # Errors
    /// The data does not match the signature.
    pub fn values(&mut self, sig: &str) -> Result<Vec<Value>, String> {
        let mut s = sig.as_bytes();
        let mut out = Vec::new();
        while !s.is_empty() {
            let n = one_type(s)?;
            out.push(self.value(&s[..n])?);
            s = &s[n..];
        }
        Ok(out)
    }

    fn value(&mut self, sig: &[u8]) -> Result<Value, String> {
        Ok(match sig[0] {
            b'y' => Value::Byte(self.take(1)?[0]),
            b'b' => Value::Bool(self.u32()? != 0),
            b'i' => Value::I32(self.u32()?.cast_signed()),
            b'u' => Value::U32(self.u32()?),
            b'n' | b'q' => {
                self.align(2);
                let b = self.take(2)?;
                Value::U32(u32::from(u16::from_le_bytes([b[0], b[1]])))
            }
            b'x' | b't' | b'd' => {
                self.align(8);
                let b: [u8; 8] = self.take(8)?.try_into().unwrap_or_default();
                match sig[0] {
                    b'x' => Value::I64(i64::from_le_bytes(b)),
                    b't' => Value::U64(u64::from_le_bytes(b)),
                    _ => Value::Double(f64::from_le_bytes(b)),
                }
            }
            b's' | b'o' => {
                let len = self.u32()? as usize;
                let s = self.string(len)?;
                if sig[0] == b's' {
                    Value::Str(s)
                } else {
                    Value::Path(s)
                }
            }
            b'g' => {
                let len = usize::from(self.take(1)?[0]);
                Value::Sig(self.string(len)?)
            }
            b'v' => {
                let len = usize::from(self.take(1)?[0]);
                let inner = self.string(len)?;
                Value::Variant(Box::new(self.value(inner.as_bytes())?))
            }
            b'a' => {
                let len = self.u32()? as usize;
                let elem = &sig[1..];
                self.align(align_of(elem[0]));
                let end = self.pos + len;
                let mut items = Vec::new();
                while self.pos < end {
                    items.push(self.value(elem)?);
                }
                Value::Array(String::from_utf8_lossy(elem).into_owned(), items)
            }
            b'(' | b'{' => {
                self.align(8);
                let inner = &sig[1..sig.len() - 1];
                Value::Struct(self.values(&String::from_utf8_lossy(inner))?)
            }
            c => return Err(format!("unsupported D-Bus type {:?}", char::from(c))),
        })
    }
}

/// A message: type, serial, header fields by code, body signature and values.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// 1 call, 2 return, 3 error, 4 signal.
    pub kind: u8,
    /// This message's serial.
    pub serial: u32,
    /// Header fields (code, value).
    pub fields: Vec<(u8, Value)>,
    /// The body.
    pub body: Vec<Value>,
}

impl Message {
    /// A header field's string value.
    #[must_use]
    pub fn field(&self, code: u8) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.0 == code)
            .and_then(|f| match &f.1 {
                Value::Str(s) | Value::Path(s) | Value::Sig(s) => Some(s.as_str()),
                _ => None,
            })
    }

    /// The serial this message replies to.
    #[must_use]
    pub fn reply_serial(&self) -> Option<u32> {
        self.fields
            .iter()
            .find(|f| f.0 == 5)
            .and_then(|f| match f.1 {
                Value::U32(u) => Some(u),
                _ => None,
            })
    }

    /// The wire bytes.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        for v in &self.body {
            encode(&mut body, v);
        }
        let mut fields = self.fields.clone();
        if !self.body.is_empty() {
            let sig: String = self.body.iter().map(Value::signature).collect();
            fields.push((8, Value::Sig(sig)));
        }
        let mut buf = vec![b'l', self.kind, 0, 1];
        buf.extend_from_slice(&u32::try_from(body.len()).unwrap_or(0).to_le_bytes());
        buf.extend_from_slice(&self.serial.to_le_bytes());
        let items = fields
            .into_iter()
            .map(|(c, v)| Value::Struct(vec![Value::Byte(c), Value::Variant(Box::new(v))]))
            .collect();
        encode(&mut buf, &Value::Array("(yv)".into(), items));
        pad(&mut buf, 8);
        buf.extend_from_slice(&body);
        buf
    }

    /// Reads one message from `r`.
    ///
    /// # Errors
    /// The stream ends or the message is malformed or big-endian.
    pub fn read(r: &mut impl Read) -> Result<Self, String> {
        let mut head = [0u8; 16];
        r.read_exact(&mut head).map_err(|e| e.to_string())?;
        if head[0] != b'l' {
            return Err("big-endian D-Bus messages are not supported".into());
        }
        let body_len = u32::from_le_bytes(head[4..8].try_into().unwrap_or_default()) as usize;
        let fields_len = u32::from_le_bytes(head[12..16].try_into().unwrap_or_default()) as usize;
        let header_end = (16 + fields_len).div_ceil(8) * 8;
        if body_len + header_end > 128 << 20 {
            return Err("D-Bus message too large".into());
        }
        let mut data = head.to_vec();
        data.resize(header_end + body_len, 0);
        r.read_exact(&mut data[16..]).map_err(|e| e.to_string())?;
        let mut d = Decoder::new(&data, 12);
        let fields = match d.value(b"a(yv)")? {
            Value::Array(_, items) => items
                .into_iter()
                .filter_map(|f| match f {
                    Value::Struct(mut v) if v.len() == 2 => match (v.remove(0), v.remove(0)) {
                        (Value::Byte(c), Value::Variant(inner)) => Some((c, *inner)),
                        _ => None,
                    },
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let mut msg = Message {
            kind: head[1],
            serial: u32::from_le_bytes(head[8..12].try_into().unwrap_or_default()),
            fields,
            body: Vec::new(),
        };
        if let Some(sig) = msg.field(8).map(str::to_owned) {
            msg.body = Decoder::new(&data, header_end).values(&sig)?;
        }
        Ok(msg)
    }
}

/// A connection to a bus.
pub struct Conn {
    stream: BufReader<UnixStream>,
    serial: u32,
}

/// The Unix socket path of a bus address (`unix:path=/run/dbus/system_bus_socket,...`).
///
/// # Errors
/// No `unix:path=` in the address.
pub fn socket_path(address: &str) -> Result<String, String> {
    address
        .split(';')
        .filter_map(|a| a.strip_prefix("unix:"))
        .flat_map(|a| a.split(','))
        .find_map(|kv| kv.strip_prefix("path=").map(str::to_owned))
        .ok_or_else(|| format!("unsupported D-Bus address {address:?}"))
}

impl Conn {
    /// Connects to the bus at `path`, authenticates as this user and says Hello.
    ///
    /// # Errors
    /// The socket cannot be reached, or the bus refuses.
    pub fn connect(path: &str) -> Result<Self, String> {
        let mut c = Self::connect_direct(path)?;
        c.call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "Hello",
            Vec::new(),
        )?;
        Ok(c)
    }

    /// Connects to a peer at `path` that is not a bus (systemd's private socket
    /// `/run/systemd/private`): the authentication, no Hello.
    ///
    /// # Errors
    /// The socket cannot be reached, or the peer refuses.
    pub fn connect_direct(path: &str) -> Result<Self, String> {
        let s = UnixStream::connect(path).map_err(|e| format!("dial unix {path}: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| e.to_string())?;
        let uid = rustix::process::getuid().as_raw().to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        let mut w = s.try_clone().map_err(|e| e.to_string())?;
        w.write_all(format!("\0AUTH EXTERNAL {hex}\r\n").as_bytes())
            .map_err(|e| e.to_string())?;
        let mut stream = BufReader::new(s);
        let mut line = String::new();
        stream.read_line(&mut line).map_err(|e| e.to_string())?;
        if !line.starts_with("OK ") {
            return Err(format!("D-Bus authentication refused: {}", line.trim()));
        }
        w.write_all(b"BEGIN\r\n").map_err(|e| e.to_string())?;
        Ok(Self { stream, serial: 0 })
    }

    /// Sends `m` with the connection's next serial (a service's replies, in tests).
    ///
    /// # Errors
    /// The connection fails.
    pub fn send(&mut self, mut m: Message) -> Result<(), String> {
        self.serial += 1;
        m.serial = self.serial;
        self.stream
            .get_mut()
            .write_all(&m.encode())
            .map_err(|e| e.to_string())
    }

    /// How long a read may wait (10 s from [`Conn::connect`]; `None`: forever).
    ///
    /// # Errors
    /// The socket refuses the option.
    pub fn set_timeout(&self, timeout: Option<Duration>) -> Result<(), String> {
        self.stream
            .get_ref()
            .set_read_timeout(timeout)
            .map_err(|e| e.to_string())
    }

    /// The next message from the peer (a service's incoming calls, in tests).
    ///
    /// # Errors
    /// The connection fails or the message is malformed.
    pub fn receive(&mut self) -> Result<Message, String> {
        Message::read(&mut self.stream)
    }

    /// Calls a method and returns the reply's body.
    ///
    /// # Errors
    /// The bus answers with an error, or the connection fails.
    pub fn call(
        &mut self,
        dest: &str,
        path: &str,
        iface: &str,
        member: &str,
        args: Vec<Value>,
    ) -> Result<Vec<Value>, String> {
        self.serial += 1;
        let m = Message {
            kind: 1,
            serial: self.serial,
            fields: vec![
                (1, Value::Path(path.into())),
                (2, Value::Str(iface.into())),
                (3, Value::Str(member.into())),
                (6, Value::Str(dest.into())),
            ],
            body: args,
        };
        self.stream
            .get_mut()
            .write_all(&m.encode())
            .map_err(|e| e.to_string())?;
        loop {
            let r = Message::read(&mut self.stream)?;
            if r.reply_serial() != Some(self.serial) {
                continue; // signals and other traffic
            }
            return match r.kind {
                2 => Ok(r.body),
                3 => Err(format!(
                    "{}: {}",
                    r.field(4).unwrap_or("error"),
                    match r.body.first() {
                        Some(Value::Str(s)) => s.as_str(),
                        _ => "",
                    }
                )),
                k => Err(format!("unexpected D-Bus message type {k}")),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let body = vec![
            Value::Array(
                "(susso)".into(),
                vec![Value::Struct(vec![
                    Value::Str("2".into()),
                    Value::U32(1000),
                    Value::Str("alice".into()),
                    Value::Str("seat0".into()),
                    Value::Path("/org/freedesktop/login1/session/_32".into()),
                ])],
            ),
            Value::Variant(Box::new(Value::Bool(true))),
            Value::U64(7),
        ];
        let m = Message {
            kind: 2,
            serial: 9,
            fields: vec![(5, Value::U32(3))],
            body,
        };
        let bytes = m.encode();
        assert_eq!(bytes.len() % 8, 0);
        let back = Message::read(&mut &bytes[..]).unwrap();
        assert_eq!(back.body, m.body);
        assert_eq!(back.reply_serial(), Some(3));
        assert_eq!(back.field(8), Some("a(susso)vt"));
        assert_eq!(
            socket_path("unix:path=/run/dbus/system_bus_socket"),
            Ok("/run/dbus/system_bus_socket".into())
        );
        assert!(socket_path("tcp:host=x").is_err());
    }
}
