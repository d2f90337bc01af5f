//! Malformed input never gets a 5xx or a non-JSON answer: bad JSON, wrong
//! types, oversized bodies, bad headers and queries, unknown routes and
//! methods, and a property test throwing random bodies at every JSON
//! endpoint.

use crate::common;

use common::*;
use countersign_server::SignInMethod;
use proptest::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Every endpoint that takes a JSON body, with a realistic path.
fn json_endpoints(request_id: &str) -> Vec<(Method, String)> {
    vec![
        (Method::POST, "/v1/pair".into()),
        (Method::POST, format!("/v1/requests/{request_id}/answer")),
        (Method::POST, "/v1/signin/start".into()),
        (Method::POST, "/v1/admin/users".into()),
        (Method::PUT, "/v1/device/push-token".into()),
    ]
}

async fn send(
    ts: &TestServer,
    method: Method,
    path: &str,
    body: Vec<u8>,
    admin: bool,
) -> (StatusCode, Value) {
    let mut req = ts
        .http
        .request(method, ts.url(path))
        .header("content-type", "application/json")
        .body(body);
    if admin {
        req = req.bearer_auth(&ts.admin_token);
    }
    json_of(req.send().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_get_bad_request() {
    let ts = TestServer::start().await;
    let phone = ts.user_with_device("alice").await;
    let started = ts.start_signin("alice", Some(PASSWORD)).await.unwrap();
    let rid = started.request_id.unwrap();
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"\xff\xfe".to_vec(),
        br#"{"username": 5}"#.to_vec(),
        br#"{"decision": "maybe", "device_id": "x", "picked_number": 300, "time": 1, "signature": "!"}"#.to_vec(),
        br#"{"token": "t", "device_name": "", "platform": "ios", "public_key": "AA", "time": 1, "proof": "AA"}"#.to_vec(),
    ];
    for (method, path) in json_endpoints(&rid) {
        for body in &bodies {
            let (status, v) = send(&ts, method.clone(), &path, body.clone(), true).await;
            assert!(status.is_client_error(), "{path} {body:?} -> {status} {v}");
        }
    }
    // The parser's complaint is shown without echoing the input.
    let (status, v) = send(
        &ts,
        Method::POST,
        "/v1/signin/start",
        br#"{"username": "alice", "password": 12}"#.to_vec(),
        false,
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );
    let (_, v) = send(
        &ts,
        Method::POST,
        "/v1/signin/start",
        br#"{"username": ["hunter2-secret"], "password": "x"}"#.to_vec(),
        false,
    )
    .await;
    assert!(!v["message"].as_str().unwrap().contains("hunter2"), "{v}");

    // Field limits.
    let long_user = json!({"username": "u".repeat(65), "password": PASSWORD});
    let (status, v) = send(
        &ts,
        Method::POST,
        "/v1/signin/start",
        long_user.to_string().into_bytes(),
        false,
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_credentials"))
    );
    let invite = ts.invite("alice").await;
    let d = Device::new();
    let mut body = d.pair_body(&ts.server_id(), &invite.token, ts.now());
    body.token = Some(invite.token.clone());
    body.device_name = "n".repeat(65);
    let (status, _) = send(
        &ts,
        Method::POST,
        "/v1/pair",
        serde_json::to_vec(&body).unwrap(),
        false,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    body.device_name = "ok".into();
    body.push_token = Some("p".repeat(513));
    let (status, _) = send(
        &ts,
        Method::POST,
        "/v1/pair",
        serde_json::to_vec(&body).unwrap(),
        false,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    body.push_token = Some("p".repeat(512));
    body.platform = "iOS 17".into();
    let (status, _) = send(
        &ts,
        Method::POST,
        "/v1/pair",
        serde_json::to_vec(&body).unwrap(),
        false,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Oversized body.
    let big = json!({"username": "alice", "password": "x".repeat(70 * 1024)});
    let (status, v) = send(
        &ts,
        Method::POST,
        "/v1/signin/start",
        big.to_string().into_bytes(),
        false,
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
    );

    // Without a content type JSON is still parsed.
    let resp = ts
        .http
        .post(ts.url("/v1/signin/start"))
        .body(json!({"username": "alice", "password": "wrong password"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(resp).await.0, StatusCode::UNAUTHORIZED);
    drop(phone);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_headers_queries_and_routes() {
    let ts = TestServer::start().await;
    let phone = ts.user_with_device("alice").await;
    let mut headers = phone.auth_headers(&ts, "GET", "/v1/device/requests", b"");
    let cases: Vec<(&str, &str)> = vec![
        ("countersign-time", "yesterday"),
        ("countersign-time", "99999999999999999999999"),
        ("countersign-signature", "not base64!"),
        ("countersign-signature", ""),
        ("countersign-device", "../../etc/passwd"),
    ];
    for (name, value) in cases {
        let mut req = ts.http.get(ts.url("/v1/device/requests"));
        for (k, v) in &headers {
            if *k != name {
                req = req.header(*k, v);
            }
        }
        let (status, v) = json_of(req.header(name, value).send().await.unwrap()).await;
        assert!(status.is_client_error(), "{name}={value} -> {status} {v}");
    }
    // Non-UTF-8 header value.
    let mut req = ts.http.get(ts.url("/v1/device/requests"));
    headers.retain(|(k, _)| *k != "countersign-device");
    for (k, v) in &headers {
        req = req.header(*k, v);
    }
    let bad = reqwest::header::HeaderValue::from_bytes(b"\xfa\xfb").unwrap();
    let (status, _) = json_of(req.header("countersign-device", bad).send().await.unwrap()).await;
    assert!(status.is_client_error());

    for path in [
        "/v1/device/requests?wait=soon",
        "/v1/signin/0123456789abcdef0123456789abcdef",
        "/v1/signin/0123456789abcdef0123456789abcdef?poll_token=x&wait=-1",
        "/v1/signin/not-an-id?poll_token=x",
        "/v1/admin/events?limit=lots",
    ] {
        let mut req = ts.http.get(ts.url(path)).bearer_auth(&ts.admin_token);
        if path.starts_with("/v1/device") {
            for (k, v) in phone.auth_headers(&ts, "GET", path, b"") {
                req = req.header(k, v);
            }
        }
        let (status, v) = json_of(req.send().await.unwrap()).await;
        assert!(status.is_client_error(), "{path} -> {status} {v}");
    }
    let (status, v) = json_of(ts.http.get(ts.url("/v2/nothing")).send().await.unwrap()).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, v) = json_of(ts.http.delete(ts.url("/v1/info")).send().await.unwrap()).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
    let (status, _) = json_of(
        ts.http
            .get(ts.url("/v1/signin/start"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(status.is_client_error());
    let resp = ts.http.get(ts.url("/v1/info")).send().await.unwrap();
    assert_eq!(resp.headers()["cache-control"], "no-store");
}

fn field_names() -> Vec<&'static str> {
    vec![
        "token",
        "username",
        "password",
        "device_name",
        "platform",
        "public_key",
        "push_token",
        "time",
        "proof",
        "device_id",
        "decision",
        "picked_number",
        "signature",
        "method",
    ]
}

/// JSON values biased towards the shapes the endpoints expect.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0u32..300).prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::from),
        "[A-Za-z0-9_-]{0,100}".prop_map(Value::from),
        prop::sample::select(vec![
            "approve", "deny", "report", "password", "approve", "ios", "alice"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(field_names()), inner), 0..9).prop_map(
                |kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            ),
        ]
    })
}

fn arb_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => arb_json().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..200),
    ]
}

#[test]
fn random_bodies_never_cause_server_errors() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (ts, phone, rid) = rt.block_on(async {
        let ts = TestServer::start().await;
        ts.user("alice", SignInMethod::Approve).await;
        let phone = ts.paired_device("alice").await;
        let started = ts.start_signin("alice", None).await.unwrap();
        let rid = started.request_id.unwrap();
        (ts, phone, rid)
    });
    let endpoints = json_endpoints(&rid);
    let cases = std::sync::atomic::AtomicUsize::new(0);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 300,
        ..ProptestConfig::default()
    });
    runner
        .run(
            &(0..endpoints.len(), arb_body(), any::<bool>()),
            |(which, body, authed)| {
                cases.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let (method, path) = endpoints[which].clone();
                let (status, _) = rt.block_on(async {
                    let mut req = ts
                        .http
                        .request(method.clone(), ts.url(&path))
                        .body(body.clone());
                    if authed {
                        req = req.bearer_auth(&ts.admin_token);
                        if path.starts_with("/v1/device") {
                            for (k, v) in phone.auth_headers(&ts, method.as_str(), &path, &body) {
                                req = req.header(k, v);
                            }
                        }
                    }
                    json_of(req.send().await.unwrap()).await
                });
                prop_assert!(
                    status.as_u16() < 500,
                    "{path}: {status} for {:?}",
                    String::from_utf8_lossy(&body)
                );
                Ok(())
            },
        )
        .unwrap();
    assert!(cases.into_inner() >= 300);
    rt.block_on(async move { ts.server.shutdown().await.unwrap() });
}
