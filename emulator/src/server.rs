//! The HTTP front: accept loop, request pipeline (stats, URI limit, latency, faults, auth, API
//! usage) and routing to the OAuth, REST, Bulk and control handlers.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::state::{Inner, Shared};
use crate::store::rest_error;
use crate::{EndpointKind, bulk, control, oauth, rest};

/// Salesforce's request-URI limit (research §3.2, REST errorcodes 414).
pub const MAX_URI_BYTES: usize = 16_384;
/// Largest body read at all (Bulk uploads above 100 MB are refused by the Bulk handler).
const MAX_BODY: usize = 160 * 1024 * 1024;
/// API versions listed by `GET /services/data/` (Summer '14 = 31.0 … Spring '26 = 66.0).
pub const MIN_VERSION: u32 = 31;
pub const MAX_VERSION: u32 = 66;

/// A request, body collected.
pub struct Req {
    pub method: Method,
    pub segs: Vec<String>,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The authenticated user for `/services/data/vXX.X/...` and identity calls.
    pub user: Option<String>,
    /// `NN.N` of a versioned call.
    pub version: String,
}

impl Req {
    #[must_use]
    pub fn q(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }

    #[must_use]
    pub fn header(&self, k: &str) -> Option<&str> {
        self.headers.get(k).and_then(|v| v.to_str().ok())
    }

    /// `application/x-www-form-urlencoded` body fields, falling back to the query string.
    #[must_use]
    pub fn form(&self) -> HashMap<String, String> {
        let mut m: HashMap<String, String> = self.query.iter().cloned().collect();
        for (k, v) in url::form_urlencoded::parse(&self.body) {
            m.insert(k.into_owned(), v.into_owned());
        }
        m
    }

    #[must_use]
    pub fn bearer(&self) -> Option<&str> {
        let h = self.header("authorization")?;
        h.strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("OAuth "))
            .map(str::trim)
    }
}

/// A response to send.
pub struct Resp {
    pub status: u16,
    pub ctype: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Resp {
    #[must_use]
    pub fn json(status: u16, v: &Value) -> Self {
        Self {
            status,
            ctype: "application/json;charset=UTF-8",
            headers: Vec::new(),
            body: Bytes::from(v.to_string()),
        }
    }

    #[must_use]
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            ctype: "",
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    #[must_use]
    pub fn text(status: u16, ctype: &'static str, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            ctype,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Salesforce's REST error array `[{"message","errorCode"}]`.
    #[must_use]
    pub fn err(status: u16, code: &str, message: &str) -> Self {
        Self::json(status, &rest_error(code, message))
    }

    #[must_use]
    pub fn header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.to_owned(), v.into()));
        self
    }

    fn into_response(self) -> Response<EmuBody> {
        let mut b = Response::builder().status(self.status);
        if !self.ctype.is_empty() {
            b = b.header("content-type", self.ctype);
        }
        for (k, v) in &self.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        b.body(EmuBody::Full(Full::new(self.body)))
            .unwrap_or_else(|_| Response::new(EmuBody::Full(Full::new(Bytes::new()))))
    }
}

/// Returned by the service to make hyper close the connection without a response.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

pub async fn serve(
    listener: TcpListener,
    sh: Arc<Shared>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut stop => break,
            acc = listener.accept() => {
                let Ok((stream, _)) = acc else { continue };
                let _ = stream.set_nodelay(true);
                let sh = sh.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| handle(sh.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        }
    }
}

fn decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Which endpoint a path names (stats and fault targeting).
#[must_use]
pub fn classify(method: &Method, segs: &[String]) -> EndpointKind {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["services", "data"] => EndpointKind::Versions,
        ["services", "oauth2", "authorize", ..] => EndpointKind::Authorize,
        ["services", "oauth2", "token"] => EndpointKind::Token,
        ["services", "oauth2", "revoke"] => EndpointKind::Revoke,
        ["services", "oauth2", "userinfo"] => EndpointKind::Userinfo,
        ["id", ..] => EndpointKind::Identity,
        ["services", "data", _] => EndpointKind::Resources,
        ["services", "data", _, rest @ ..] => match (method, rest) {
            (_, ["limits", ..]) => EndpointKind::Limits,
            (_, ["sobjects"]) => EndpointKind::GlobalDescribe,
            (_, ["sobjects", _, "describe", ..]) => EndpointKind::Describe,
            (&Method::POST, ["sobjects", _]) => EndpointKind::SobjectCreate,
            (&Method::GET, ["sobjects", _, _]) => EndpointKind::SobjectGet,
            (&Method::PATCH, ["sobjects", _, _]) => EndpointKind::SobjectUpdate,
            (&Method::DELETE, ["sobjects", _, _]) => EndpointKind::SobjectDelete,
            (_, ["sobjects", _, _, _]) => EndpointKind::Upsert,
            (_, ["query" | "queryAll"]) => EndpointKind::Query,
            (_, ["query" | "queryAll", _]) => EndpointKind::QueryMore,
            (_, ["composite", "sobjects", ..]) => EndpointKind::Collections,
            (&Method::POST, ["jobs", "ingest"]) => EndpointKind::BulkIngestCreate,
            (&Method::GET, ["jobs", "ingest"]) => EndpointKind::BulkIngestList,
            (&Method::PUT, ["jobs", "ingest", _, "batches"]) => EndpointKind::BulkIngestUpload,
            (&Method::PATCH, ["jobs", "ingest", _]) => EndpointKind::BulkIngestState,
            (&Method::GET, ["jobs", "ingest", _]) => EndpointKind::BulkIngestInfo,
            (&Method::DELETE, ["jobs", "ingest", _]) => EndpointKind::BulkIngestDelete,
            (&Method::GET, ["jobs", "ingest", _, _]) => EndpointKind::BulkIngestResults,
            (&Method::POST, ["jobs", "query"]) => EndpointKind::BulkQueryCreate,
            (&Method::GET | &Method::PATCH, ["jobs", "query", _]) => EndpointKind::BulkQueryInfo,
            (&Method::DELETE, ["jobs", "query", _]) => EndpointKind::BulkQueryDelete,
            (&Method::GET, ["jobs", "query", _, "results"]) => EndpointKind::BulkQueryResults,
            _ => EndpointKind::Other,
        },
        _ => EndpointKind::Other,
    }
}

fn take_burst(b: &mut Option<crate::Burst>, kind: EndpointKind) -> bool {
    let hit = match b {
        Some(burst) if burst.count > 0 && burst.kind.is_none_or(|k| k == kind) => {
            burst.count -= 1;
            true
        }
        _ => false,
    };
    if b.as_ref().is_some_and(|x| x.count == 0) {
        *b = None;
    }
    hit
}

/// The HTML page Salesforce's front end serves with a 503 during maintenance or overload.
const HTML_503: &str = "<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head>\
<body><h1>Service Unavailable</h1><p>The server is temporarily unable to service your request due to \
maintenance downtime or capacity problems. Please try again later.</p></body></html>\n";

/// A response body: whole, or (the `cut_body` fault) the first half of one, after which the
/// connection breaks: the length announced is the whole body's.
pub(crate) enum EmuBody {
    Full(Full<Bytes>),
    Cut {
        half: Option<Bytes>,
        whole: u64,
        /// A pause after the half, so it leaves the server's write buffer before the break.
        pause: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
    },
}

impl hyper::body::Body for EmuBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            Self::Full(full) => std::pin::Pin::new(full)
                .poll_frame(cx)
                .map_err(|never| match never {}),
            Self::Cut { half, pause, .. } => {
                if let Some(data) = half.take() {
                    *pause = Some(Box::pin(tokio::time::sleep(
                        std::time::Duration::from_millis(50),
                    )));
                    return std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(data))));
                }
                if let Some(sleep) = pause
                    && sleep.as_mut().poll(cx).is_pending()
                {
                    return std::task::Poll::Pending;
                }
                std::task::Poll::Ready(Some(Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "cut_body fault",
                ))))
            }
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            Self::Full(full) => full.size_hint(),
            Self::Cut { whole, .. } => hyper::body::SizeHint::with_exact(*whole),
        }
    }
}

async fn handle(sh: Arc<Shared>, req: Request<Incoming>) -> Result<Response<EmuBody>, Dropped> {
    let (parts, body) = req.into_parts();
    let uri_len = parts.uri.path_and_query().map_or(0, |p| p.as_str().len());
    let segs: Vec<String> = parts
        .uri
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .collect();
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let collect = async {
        match Limited::new(body, MAX_BODY).collect().await {
            Ok(c) => Ok(c.to_bytes()),
            Err(_) => Err(Resp::err(
                413,
                "REQUEST_ENTITY_TOO_LARGE",
                "Request entity too large",
            )),
        }
    };
    if segs.first().is_some_and(|s| s == "__emulator") {
        let body = match collect.await {
            Ok(b) => b,
            Err(r) => return Ok(r.into_response()),
        };
        let req = Req {
            method: parts.method,
            segs,
            query,
            headers: parts.headers,
            body,
            user: None,
            version: String::new(),
        };
        return Ok(control::handle(&sh, &req).into_response());
    }
    let kind = classify(&parts.method, &segs);
    let latency = {
        let mut g = sh.lock();
        g.count_call(kind);
        g.faults.latency_ms
    };
    if uri_len > MAX_URI_BYTES {
        return Ok(Resp::text(
            414,
            "text/html",
            "<html><body><h1>414 Request-URI Too Large</h1></body></html>\n",
        )
        .into_response());
    }
    if latency > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
    }
    {
        let mut g = sh.lock();
        if take_burst(&mut g.faults.drop_connection, kind) {
            g.stats.faults_injected += 1;
            return Err(Dropped);
        }
        if take_burst(&mut g.faults.status_503, kind) {
            g.stats.faults_injected += 1;
            return Ok(Resp::text(503, "text/html", HTML_503).into_response());
        }
        if take_burst(&mut g.faults.status_500, kind) {
            g.stats.faults_injected += 1;
            return Ok(Resp::err(
                500,
                "UNKNOWN_EXCEPTION",
                "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)",
            )
            .into_response());
        }
    }
    let body = match collect.await {
        Ok(b) => b,
        Err(r) => return Ok(r.into_response()),
    };
    let mut req = Req {
        method: parts.method,
        segs,
        query,
        headers: parts.headers,
        body,
        user: None,
        version: String::new(),
    };
    let mut g = sh.lock();
    let mut resp = dispatch(&mut g, &sh.url, kind, &mut req);
    let cut = (200..300).contains(&resp.status) && take_burst(&mut g.faults.cut_body, kind);
    if cut {
        g.stats.faults_injected += 1;
    }
    drop(g);
    if cut {
        let whole = std::mem::take(&mut resp.body);
        let mut resp = resp.into_response();
        *resp.body_mut() = EmuBody::Cut {
            half: Some(whole.slice(..whole.len() / 2)),
            whole: whole.len() as u64,
            pause: None,
        };
        return Ok(resp);
    }
    Ok(resp.into_response())
}

fn versions(url: &str) -> Value {
    let _ = url;
    let list: Vec<Value> = (MIN_VERSION..=MAX_VERSION)
        .map(|v| {
            let idx = v - MIN_VERSION;
            let season = ["Summer", "Winter", "Spring"][(idx % 3) as usize];
            let year = 14 + idx.div_ceil(3);
            json!({"label": format!("{season} '{year:02}"), "url": format!("/services/data/v{v}.0"), "version": format!("{v}.0")})
        })
        .collect();
    Value::Array(list)
}

fn parse_version(seg: &str) -> Option<String> {
    let v = seg.strip_prefix('v')?;
    let (major, minor) = v.split_once('.')?;
    let m: u32 = major.parse().ok()?;
    (minor == "0" && (MIN_VERSION..=MAX_VERSION).contains(&m)).then(|| v.to_owned())
}

fn dispatch(g: &mut Inner, url: &str, kind: EndpointKind, req: &mut Req) -> Resp {
    let s: Vec<String> = req.segs.clone();
    let s: Vec<&str> = s.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["services", "oauth2", ..] => oauth::handle(g, url, kind, req),
        ["id", _org, _user] => {
            let Some(user) = req.bearer().and_then(|t| g.session(t)) else {
                return Resp::text(403, "text/plain", "Bad_OAuth_Token");
            };
            Resp::json(200, &oauth::identity(url, &user))
        }
        // Versions: no authentication and not counted (REST guide "Versions", research §2.1).
        ["services", "data"] if req.method == Method::GET => Resp::json(200, &versions(url)),
        ["services", "data", ver, rest @ ..] => {
            let Some(version) = parse_version(ver) else {
                return Resp::err(404, "NOT_FOUND", "The requested resource does not exist");
            };
            req.version = version;
            let Some(user) = req.bearer().and_then(|t| g.session(t)) else {
                return Resp::err(401, "INVALID_SESSION_ID", "Session expired or invalid");
            };
            req.user = Some(user);
            g.stats.api_usage += 1;
            let limit_info = format!("api-usage={}/{}", g.stats.api_usage, g.cfg.api_max);
            let answer = if g.stats.api_usage > g.cfg.api_max {
                Resp::err(
                    403,
                    "REQUEST_LIMIT_EXCEEDED",
                    "TotalRequests Limit exceeded.",
                )
            } else if take_burst(&mut g.faults.concurrency_limit, kind) {
                g.stats.faults_injected += 1;
                Resp::err(
                    403,
                    "REQUEST_LIMIT_EXCEEDED",
                    "ConcurrentPerOrgLongTxn Limit exceeded.",
                )
            } else if rest.first() == Some(&"jobs") {
                bulk::handle(g, kind, req)
            } else {
                rest::handle(g, kind, req)
            };
            answer.header("Sforce-Limit-Info", limit_info)
        }
        _ => Resp::err(404, "NOT_FOUND", "The requested resource does not exist"),
    }
}
