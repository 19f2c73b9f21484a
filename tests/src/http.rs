//! A plain HTTP/1.1 request to a host's `/metrics`, `/health` or operator
//! endpoint on 127.0.0.1, as a test reads them.

use std::io::{Read, Write};
use std::time::Duration;

/// `GET path` on 127.0.0.1:`port`: the status and the body, or `None` if nothing
/// answered.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    http(port, "GET", path)
}

/// `method path` on 127.0.0.1:`port` with no body: the status and the body, or
/// `None` if nothing answered.
pub fn http(port: u16, method: &str, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}
