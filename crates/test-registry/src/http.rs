//! Just enough HTTP/1.1: reading request heads (bodies are read and
//! discarded) and writing response heads with `Content-Length`.

use std::io;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::store::{INSTALL_V1_JSON, JSON};

const MAX_HEAD_BYTES: usize = 64 * 1024;
const MAX_BODY_BYTES: usize = 1024 * 1024;
const HEAD_END: &[u8] = b"\r\n\r\n";

#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) keep_alive: bool,
    pub(crate) accepts_install_v1: bool,
    /// The `Authorization` header, if any.
    pub(crate) authorization: Option<String>,
    /// The `Proxy-Authorization` header, if any.
    pub(crate) proxy_authorization: Option<String>,
    pub(crate) if_none_match: Option<String>,
    pub(crate) if_modified_since: Option<String>,
}

impl Request {
    /// For a request in absolute form (`GET http://host/path`, as sent to a
    /// proxy): `http://host/` and the path; for the usual origin form, `None`.
    pub(crate) fn absolute_target(&self) -> Option<(&str, &str)> {
        let (_, rest) = self.target.split_once("://")?;
        let origin_len = self.target.len() - rest.len() + rest.find('/').unwrap_or(rest.len());
        let (origin, path) = self.target.split_at(origin_len);
        Some((origin, if path.is_empty() { "/" } else { path }))
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum RequestError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("malformed request: {0}")]
    Malformed(&'static str),
}

/// Reads requests one after another from a keep-alive connection, keeping
/// bytes of a pipelined next request for the next call.
#[derive(Debug, Default)]
pub(crate) struct RequestReader {
    buffer: Vec<u8>,
}

impl RequestReader {
    /// `Ok(None)` when the client closed the connection between requests.
    pub(crate) async fn next_request<R: AsyncRead + Unpin>(
        &mut self,
        stream: &mut R,
    ) -> Result<Option<Request>, RequestError> {
        let head_len = loop {
            if let Some(position) = find(&self.buffer, HEAD_END) {
                break position + HEAD_END.len();
            }
            if self.buffer.len() > MAX_HEAD_BYTES {
                return Err(RequestError::Malformed("request head too large"));
            }
            if stream.read_buf(&mut self.buffer).await? == 0 {
                return if self.buffer.is_empty() {
                    Ok(None)
                } else {
                    Err(RequestError::Malformed("connection closed mid-request"))
                };
            }
        };
        let head = std::str::from_utf8(&self.buffer[..head_len])
            .map_err(|_| RequestError::Malformed("request head is not UTF-8"))?;
        let (request, body_len) = parse_head(head)?;
        let request_len = head_len + body_len;
        while self.buffer.len() < request_len {
            if stream.read_buf(&mut self.buffer).await? == 0 {
                return Err(RequestError::Malformed("connection closed mid-body"));
            }
        }
        self.buffer.drain(..request_len);
        Ok(Some(request))
    }
}

fn parse_head(head: &str) -> Result<(Request, usize), RequestError> {
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(RequestError::Malformed("bad request line"));
    };
    let mut keep_alive = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => return Err(RequestError::Malformed("unsupported HTTP version")),
    };
    let mut accepts_install_v1 = false;
    let mut authorization = None;
    let mut proxy_authorization = None;
    let mut if_none_match = None;
    let mut if_modified_since = None;
    let mut body_len = 0;
    for line in lines.filter(|line| !line.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or(RequestError::Malformed("header without a colon"))?;
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "connection" => {
                let value = value.to_ascii_lowercase();
                if value.contains("close") {
                    keep_alive = false;
                } else if value.contains("keep-alive") {
                    keep_alive = true;
                }
            }
            "accept" => {
                accepts_install_v1 = value.contains(INSTALL_V1_JSON);
            }
            "authorization" => authorization = Some(value.to_owned()),
            "proxy-authorization" => proxy_authorization = Some(value.to_owned()),
            "if-none-match" => if_none_match = Some(value.to_owned()),
            "if-modified-since" => if_modified_since = Some(value.to_owned()),
            "content-length" => {
                body_len = value
                    .parse()
                    .ok()
                    .filter(|len| *len <= MAX_BODY_BYTES)
                    .ok_or(RequestError::Malformed("bad or too large Content-Length"))?;
            }
            "transfer-encoding" => {
                return Err(RequestError::Malformed(
                    "request bodies with Transfer-Encoding are not supported",
                ));
            }
            _ => {}
        }
    }
    let request = Request {
        method: method.to_owned(),
        target: target.to_owned(),
        keep_alive,
        accepts_install_v1,
        authorization,
        proxy_authorization,
        if_none_match,
        if_modified_since,
    };
    Ok((request, body_len))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) extra_headers: Vec<(&'static str, String)>,
    pub(crate) body: Bytes,
}

impl Response {
    pub(crate) fn ok(content_type: &str, body: Bytes) -> Self {
        Self {
            status: 200,
            content_type: content_type.to_owned(),
            extra_headers: Vec::new(),
            body,
        }
    }

    /// A JSON error like the npm registry's: `{"error":"Not found"}`.
    /// `304 Not Modified`: the validators again, no body.
    pub(crate) fn not_modified(extra_headers: Vec<(&'static str, String)>) -> Self {
        Self {
            status: 304,
            content_type: JSON.to_owned(),
            extra_headers,
            body: Bytes::new(),
        }
    }

    pub(crate) fn error(status: u16) -> Self {
        let body = serde_json::json!({ "error": error_message(status) }).to_string();
        Self {
            status,
            content_type: JSON.to_owned(),
            extra_headers: Vec::new(),
            body: body.into(),
        }
    }

    pub(crate) fn head(&self, keep_alive: bool) -> Vec<u8> {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\n",
            self.status,
            reason_phrase(self.status),
            self.content_type,
            self.body.len(),
            if keep_alive { "keep-alive" } else { "close" },
        );
        for (name, value) in &self.extra_headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        head.into_bytes()
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// The reason phrase in sentence case: "Not found", "Service unavailable".
fn error_message(status: u16) -> String {
    let phrase = reason_phrase(status);
    let mut message = String::with_capacity(phrase.len());
    for (index, character) in phrase.chars().enumerate() {
        if index == 0 {
            message.push(character);
        } else {
            message.push(character.to_ascii_lowercase());
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(input: &[u8]) -> Vec<Result<Request, RequestError>> {
        let mut reader = RequestReader::default();
        let mut stream = input;
        let mut requests = Vec::new();
        loop {
            match reader.next_request(&mut stream).await {
                Ok(Some(request)) => requests.push(Ok(request)),
                Ok(None) => return requests,
                Err(error) => {
                    requests.push(Err(error));
                    return requests;
                }
            }
        }
    }

    fn run<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn reads_pipelined_requests_and_skips_bodies() {
        let input = b"GET /a HTTP/1.1\r\nAccept: application/vnd.npm.install-v1+json\r\n\r\n\
            POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz\
            GET /c HTTP/1.1\r\nConnection: close\r\n\r\n";
        let requests = run(read_all(input));
        let requests: Vec<Request> = requests.into_iter().map(Result::unwrap).collect();
        assert_eq!(requests.len(), 3);
        assert!(requests[0].accepts_install_v1 && requests[0].keep_alive);
        assert_eq!(requests[1].method, "POST");
        assert_eq!(requests[2].target, "/c");
        assert!(!requests[2].keep_alive);
    }

    #[test]
    fn absolute_form_targets_split_into_origin_and_path() {
        let input = b"GET http://registry.invalid:8080/@s%2fp HTTP/1.1\r\n\
            Proxy-Authorization: Basic dTpw\r\n\r\n\
            GET http://registry.invalid HTTP/1.1\r\n\r\n\
            GET /aa HTTP/1.1\r\n\r\n";
        let requests: Vec<Request> = run(read_all(input))
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            requests[0].absolute_target(),
            Some(("http://registry.invalid:8080", "/@s%2fp"))
        );
        assert_eq!(
            requests[0].proxy_authorization.as_deref(),
            Some("Basic dTpw")
        );
        assert_eq!(
            requests[1].absolute_target(),
            Some(("http://registry.invalid", "/"))
        );
        assert_eq!(requests[2].absolute_target(), None);
        assert_eq!(requests[2].proxy_authorization, None);
    }

    #[test]
    fn http_1_0_closes_unless_asked_to_keep_alive() {
        let input = b"GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n";
        let requests = run(read_all(input));
        assert!(!requests[0].as_ref().unwrap().keep_alive);
        assert!(requests[1].as_ref().unwrap().keep_alive);
    }

    #[test]
    fn rejects_malformed_requests() {
        for input in [
            &b"GARBAGE\r\n\r\n"[..],
            b"GET / HTTP/2\r\n\r\n",
            b"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
            b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET / HTTP/1.1\r\n",
        ] {
            let requests = run(read_all(input));
            assert!(
                matches!(requests.last(), Some(Err(RequestError::Malformed(_)))),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn error_responses_carry_json_messages() {
        let not_found = Response::error(404);
        assert_eq!(&not_found.body[..], br#"{"error":"Not found"}"#);
        let head = String::from_utf8(Response::error(503).head(false)).unwrap();
        assert!(head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(head.contains("Content-Length: 31\r\nConnection: close\r\n"));
    }
}
