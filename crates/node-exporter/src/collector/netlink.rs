//! A minimal netlink client for the dump requests the collectors make (sock_diag for tcpstat,
//! rtnetlink's links and routes for network_route): one request, the replies' payloads until
//! `NLMSG_DONE` (node_exporter uses `mdlayher/netlink` and `jsimonetti/rtnetlink`).

use rustix::net::{
    AddressFamily, RecvFlags, SendFlags, SocketType, netlink, netlink::SocketAddrNetlink, recv,
    sendto, socket,
};

/// `NLMSG_ERROR`.
const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`.
const NLMSG_DONE: u16 = 3;
/// `NLM_F_REQUEST | NLM_F_DUMP`.
const DUMP_FLAGS: u16 = 0x1 | 0x300;
const HEADER_LEN: usize = 16;

/// Which netlink family to talk to.
#[derive(Debug, Clone, Copy)]
pub enum Family {
    /// `NETLINK_ROUTE`.
    Route,
    /// `NETLINK_SOCK_DIAG` (`NETLINK_INET_DIAG`).
    SockDiag,
}

/// One reply message: its type and payload (after the 16-byte header).
#[derive(Debug, Clone)]
pub struct Message {
    /// `nlmsg_type`.
    pub kind: u16,
    /// The payload.
    pub data: Vec<u8>,
}

/// Sends a dump request of `kind` with `payload` and collects every reply.
///
/// # Errors
/// The socket cannot be opened, or the kernel answers with an error.
pub fn dump(family: Family, kind: u16, payload: &[u8]) -> std::io::Result<Vec<Message>> {
    let protocol = match family {
        Family::Route => None,
        Family::SockDiag => Some(netlink::SOCK_DIAG),
    };
    let fd = socket(AddressFamily::NETLINK, SocketType::RAW, protocol)?;
    let mut req = Vec::with_capacity(HEADER_LEN + payload.len());
    let len = u32::try_from(HEADER_LEN + payload.len()).unwrap_or(u32::MAX);
    req.extend_from_slice(&len.to_ne_bytes());
    req.extend_from_slice(&kind.to_ne_bytes());
    req.extend_from_slice(&DUMP_FLAGS.to_ne_bytes());
    req.extend_from_slice(&1u32.to_ne_bytes()); // sequence
    req.extend_from_slice(&0u32.to_ne_bytes()); // port: the kernel assigns
    req.extend_from_slice(payload);
    sendto(&fd, &req, SendFlags::empty(), &SocketAddrNetlink::new(0, 0))?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let (n, _) = recv(&fd, &mut buf[..], RecvFlags::empty())?;
        let mut rest = &buf[..n];
        while rest.len() >= HEADER_LEN {
            let len = u32::from_ne_bytes(rest[0..4].try_into().unwrap_or_default()) as usize;
            let kind = u16::from_ne_bytes(rest[4..6].try_into().unwrap_or_default());
            if len < HEADER_LEN || len > rest.len() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("netlink: message length {len} out of range"),
                ));
            }
            let data = &rest[HEADER_LEN..len];
            match kind {
                NLMSG_DONE => return Ok(out),
                NLMSG_ERROR => {
                    let code = data
                        .get(0..4)
                        .map_or(0, |b| i32::from_ne_bytes(b.try_into().unwrap_or_default()));
                    if code != 0 {
                        return Err(std::io::Error::from_raw_os_error(-code));
                    }
                }
                _ => out.push(Message {
                    kind,
                    data: data.to_vec(),
                }),
            }
            rest = &rest[align(len).min(rest.len())..];
        }
        if n == 0 {
            return Ok(out);
        }
    }
}

/// Netlink's 4-byte alignment.
#[must_use]
pub fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// The `(type, value)` attributes (`rtattr`/`nlattr`) in `data`.
#[must_use]
pub fn attributes(mut data: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while data.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([data[0], data[1]]));
        let kind = u16::from_ne_bytes([data[2], data[3]]) & 0x3fff;
        if len < 4 || len > data.len() {
            break;
        }
        out.push((kind, &data[4..len]));
        data = &data[align(len).min(data.len())..];
    }
    out
}

/// A native-endian `u32` at `at`, 0 when out of range.
#[must_use]
pub fn u32_at(data: &[u8], at: usize) -> u32 {
    data.get(at..at + 4)
        .map_or(0, |b| u32::from_ne_bytes(b.try_into().unwrap_or_default()))
}
