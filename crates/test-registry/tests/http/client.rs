//! A tiny blocking HTTP/1.1 client, so the tests see exactly what the server
//! puts on the wire.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub(crate) struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub(crate) fn content_length(&self) -> usize {
        self.header("content-length").unwrap().parse().unwrap()
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// One keep-alive connection.
pub(crate) struct Connection {
    reader: BufReader<TcpStream>,
}

impl Connection {
    pub(crate) fn open(address: SocketAddr) -> Self {
        let stream = TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        Self {
            reader: BufReader::new(stream),
        }
    }

    pub(crate) fn set_read_timeout(&self, timeout: Duration) {
        self.reader
            .get_ref()
            .set_read_timeout(Some(timeout))
            .unwrap();
    }

    pub(crate) fn send(&mut self, method: &str, path: &str, headers: &[&str]) {
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: registry\r\n");
        for header in headers {
            request.push_str(header);
            request.push_str("\r\n");
        }
        request.push_str("\r\n");
        self.reader.get_mut().write_all(request.as_bytes()).unwrap();
    }

    /// Status line and headers; the body is left unread.
    pub(crate) fn read_head(&mut self) -> io::Result<HttpResponse> {
        let mut status_line = String::new();
        if self.reader.read_line(&mut status_line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| io::Error::other(format!("bad status line {status_line:?}")))?;
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
        Ok(HttpResponse {
            status,
            headers,
            body: Vec::new(),
        })
    }

    pub(crate) fn read_response(&mut self) -> io::Result<HttpResponse> {
        let mut response = self.read_head()?;
        response.body = vec![0; response.content_length()];
        self.reader.read_exact(&mut response.body)?;
        Ok(response)
    }

    pub(crate) fn get(&mut self, path: &str) -> io::Result<HttpResponse> {
        self.send("GET", path, &[]);
        self.read_response()
    }

    /// Everything until the server closes, and how the stream ended.
    pub(crate) fn read_rest(&mut self) -> (Vec<u8>, io::Result<()>) {
        let mut received = Vec::new();
        let end = self.reader.read_to_end(&mut received).map(drop);
        (received, end)
    }
}

pub(crate) fn get(address: SocketAddr, path: &str) -> HttpResponse {
    Connection::open(address).get(path).unwrap()
}

/// `http://127.0.0.1:1234/aa/-/aa-1.0.0.tgz` → `/aa/-/aa-1.0.0.tgz`
pub(crate) fn path_of(url: &str) -> &str {
    let without_scheme = url.strip_prefix("http://").unwrap();
    &without_scheme[without_scheme.find('/').unwrap()..]
}
