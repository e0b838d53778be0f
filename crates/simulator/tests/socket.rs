//! Behaviour only visible over a real socket: dropped connections, keep-alive, SSE framing.

use std::time::Duration;

use apim_simulator::{Simulator, SimulatorConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn start(yaml: &str) -> std::net::SocketAddr {
    let sim = Simulator::new(SimulatorConfig::from_yaml_str(yaml).unwrap()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(apim_simulator::serve(listener, sim));
    addr
}

fn raw_request(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\napi-key: k\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

const CHAT: &str = "/openai/deployments/chat/chat/completions?api-version=2024-10-21";
const BODY: &str = r#"{"messages":[{"role":"user","content":"hi"}]}"#;

#[tokio::test]
async fn dropped_connection_closes_without_a_response() {
    let addr = start("deployments: { chat: { model: gpt-4o, faults: { drop_rate: 1.0 } } }").await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(raw_request(CHAT, BODY).as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    // Either a clean EOF or a reset, but never a response.
    match read {
        Ok(Ok(_)) | Ok(Err(_)) => {
            assert!(buf.is_empty(), "got {:?}", String::from_utf8_lossy(&buf))
        }
        Err(_) => panic!("connection was neither answered nor closed"),
    }
}

#[tokio::test]
async fn keep_alive_serves_several_requests_and_streams_sse() {
    let addr = start("deployments: { chat: { model: gpt-4o } }").await;
    let mut conn = Connection::open(addr).await;
    let (status, headers, body) = conn.send(raw_request(CHAT, BODY)).await;
    assert_eq!(status, 200);
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("content-type: application/json")
    );
    assert!(body.contains("\"chat.completion\""));
    let stream_body = r#"{"messages":[{"role":"user","content":"hi"}],"stream":true}"#;
    let (status, headers, body) = conn.send(raw_request(CHAT, stream_body)).await;
    assert_eq!(status, 200);
    assert!(headers.to_ascii_lowercase().contains("text/event-stream"));
    assert!(body.contains("data: {\"choices\":[],\"created\":0,\"id\":\"\""));
    assert!(body.contains("data: [DONE]"));
}

/// One keep-alive connection; requests are sent one after another.
struct Connection(TcpStream);

impl Connection {
    async fn open(addr: std::net::SocketAddr) -> Self {
        Connection(TcpStream::connect(addr).await.unwrap())
    }

    /// Returns status, head and body (chunked bodies raw).
    async fn send(&mut self, req: String) -> (u16, String, String) {
        let s = &mut self.0;
        s.write_all(req.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut chunk))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0, "connection closed early");
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let head = text[..end].to_string();
                let body = text[end + 4..].to_string();
                let lower = head.to_ascii_lowercase();
                let done = if let Some(i) = lower.find("content-length:") {
                    let len: usize = lower[i + 15..]
                        .lines()
                        .next()
                        .unwrap()
                        .trim()
                        .parse()
                        .unwrap();
                    body.len() >= len
                } else {
                    body.ends_with("0\r\n\r\n")
                };
                if done {
                    let status = head[9..12].parse().unwrap();
                    return (status, head, body);
                }
            }
        }
    }
}
