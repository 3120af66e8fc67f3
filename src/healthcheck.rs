//! `hwcost healthcheck`: a minimal HTTP/1.1 GET for container health checks.
//!
//! The runtime image has no curl or wget (fewer tools, fewer CVEs), so the binary probes
//! itself. Only plain `http://host:port/path` URLs: the probe runs beside the server.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The status code `url` answers a GET with, within `timeout` per step.
///
/// # Errors
///
/// A message when the URL is not `http://host[:port][/path]`, the connection fails or times
/// out, or the answer is not HTTP.
pub fn probe(url: &str, timeout: Duration) -> Result<u16, String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| format!("{url}: only http:// URLs can be probed"))?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, "/"),
    };
    let address = if authority.contains(':') { authority.to_owned() } else { format!("{authority}:80") };
    let socket = address
        .to_socket_addrs()
        .map_err(|e| format!("{address}: {e}"))?
        .next()
        .ok_or_else(|| format!("{address}: no address"))?;
    let mut stream = TcpStream::connect_timeout(&socket, timeout).map_err(|e| format!("{address}: {e}"))?;
    stream.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    // One write: `write!` on an unbuffered stream sends each formatted piece separately, and a
    // server that answers after the first piece and closes makes the next piece a broken pipe.
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(|e| format!("{address}: {e}"))?;
    // The status line is all that is needed; it fits in the first read of any real server.
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).map_err(|e| format!("{address}: {e}"))?;
    let line = String::from_utf8_lossy(&head[..n]);
    line.strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("{address}: not an HTTP answer"))
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::time::Duration;

    use super::probe;

    fn serve_once(answer: &'static [u8]) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            // Read the whole request head before answering, as a real server does: closing with
            // unread bytes resets the connection under the client.
            let mut request = Vec::new();
            let mut chunk = [0u8; 256];
            while !request.ends_with(b"\r\n\r\n") {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&chunk[..n]),
                }
            }
            let _ = stream.write_all(answer);
        });
        port
    }

    #[test]
    fn reads_the_status_code() {
        let port = serve_once(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        assert_eq!(probe(&format!("http://127.0.0.1:{port}/healthz"), Duration::from_secs(2)), Ok(200));
        let port = serve_once(b"HTTP/1.1 503 Service Unavailable\r\n\r\n");
        assert_eq!(probe(&format!("http://127.0.0.1:{port}/readyz"), Duration::from_secs(2)), Ok(503));
    }

    #[test]
    fn refuses_what_it_cannot_probe() {
        assert!(probe("https://example.com/", Duration::from_secs(1)).is_err());
        let port = serve_once(b"SSH-2.0-OpenSSH\r\n");
        assert!(probe(&format!("http://127.0.0.1:{port}/"), Duration::from_secs(2)).is_err());
    }
}
