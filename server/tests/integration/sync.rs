//! The sync service over real HTTPS: space creation, token checks,
//! conditional writes and conflicts, paging, limits, deletion stopping
//! sync, and that the server keeps exactly the bytes it was given (it never
//! needs to understand them). SQLite, and PostgreSQL with
//! `COUNTERSIGN_TEST_PG_URL`.

use crate::common;

use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const SPACE: &str = "0123456789abcdef0123456789abcdef";
const TOKEN: &str = "a-sync-token-derived-from-the-key-0123456789";

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn entry_id(i: usize) -> String {
    format!("{i:032x}")
}

/// A full session of a new password-only user `name` (the account sync
/// writes are made for).
async fn session_of(ts: &TestServer, name: &str) -> String {
    ts.user(name, countersign_server::SignInMethod::Password)
        .await;
    ts.start_signin(name, Some(common::PASSWORD))
        .await
        .unwrap()
        .session_token
        .unwrap()
}

async fn call(
    ts: &TestServer,
    session: &str,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = ts.http.request(method, ts.url(path)).bearer_auth(token);
    if !session.is_empty() {
        req = req.header("countersign-session", session);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    common::json_of(req.send().await.unwrap()).await
}

#[tokio::test]
async fn spaces_writes_conflicts_paging_and_delete() {
    let ts = TestServer::start().await;
    let session = session_of(&ts, "sam").await;
    let space = format!("/v1/sync/{SPACE}");
    let entries = format!("{space}/entries");
    // Unknown space.
    let (status, _) = call(&ts, &session, Method::GET, &entries, TOKEN, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = call(&ts, &session, Method::PUT, &space, TOKEN, None).await;
    assert_eq!(
        (status, body["created"].clone()),
        (StatusCode::CREATED, json!(true))
    );
    let (status, body) = call(&ts, &session, Method::PUT, &space, TOKEN, None).await;
    assert_eq!(
        (status, body["created"].clone()),
        (StatusCode::OK, json!(false))
    );
    let (status, _) = call(
        &ts,
        &session,
        Method::PUT,
        &space,
        "another-token-of-enough-length-0123456789",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(
        &ts,
        &session,
        Method::GET,
        &entries,
        "another-token-of-enough-length-0123456789",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(&ts, &session, Method::PUT, "/v1/sync/NOT-HEX", TOKEN, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // New entries (base_rev 0) are stored with increasing revisions.
    let blob = |s: &str| b64(s.as_bytes());
    let puts: Vec<Value> = (0..3)
        .map(|i| json!({"entry_id": entry_id(i), "base_rev": 0, "blob": blob(&format!("v1-{i}"))}))
        .collect();
    let (status, body) = call(
        &ts,
        &session,
        Method::POST,
        &entries,
        TOKEN,
        Some(json!({"entries": puts})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let revs: Vec<i64> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rev"].as_i64().unwrap())
        .collect();
    assert_eq!(revs, [1, 2, 3]);
    // A stale write conflicts and returns the current version.
    let (_, body) = call(
        &ts,
        &session,
        Method::POST,
        &entries,
        TOKEN,
        Some(json!({"entries": [
            {"entry_id": entry_id(0), "base_rev": 1, "blob": blob("v2-0")},
            {"entry_id": entry_id(1), "base_rev": 0, "blob": blob("stale")}
        ]})),
    )
    .await;
    assert_eq!(body["results"][0]["status"], "stored");
    assert_eq!(body["results"][0]["rev"], 4);
    assert_eq!(body["results"][1]["status"], "conflict");
    assert_eq!(body["results"][1]["rev"], 2);
    assert_eq!(body["results"][1]["blob"], blob("v1-1"));

    // Reads: since, paging.
    let (_, body) = call(
        &ts,
        &session,
        Method::GET,
        &format!("{entries}?since=2"),
        TOKEN,
        None,
    )
    .await;
    let got: Vec<(String, i64, String)> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["entry_id"].as_str().unwrap().to_owned(),
                e["rev"].as_i64().unwrap(),
                e["blob"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (entry_id(2), 3, blob("v1-2")),
            (entry_id(0), 4, blob("v2-0"))
        ]
    );
    assert_eq!(body["more"], false);
    let (_, body) = call(
        &ts,
        &session,
        Method::GET,
        &format!("{entries}?since=0&limit=2"),
        TOKEN,
        None,
    )
    .await;
    assert_eq!(
        (
            body["entries"].as_array().unwrap().len(),
            body["more"].clone()
        ),
        (2, json!(true))
    );

    // Bad writes change nothing.
    for bad in [
        json!({"entries": []}),
        json!({"entries": [{"entry_id": "xyz", "base_rev": 0, "blob": blob("x")}]}),
        json!({"entries": [{"entry_id": entry_id(9), "base_rev": 0, "blob": "***"}]}),
        json!({"entries": [{"entry_id": entry_id(9), "base_rev": -1, "blob": blob("x")}]}),
        json!({"entries": [{"entry_id": entry_id(9), "base_rev": 0, "blob": b64(&vec![7u8; 16 * 1024 + 1])}]}),
        json!({"entries": [{"entry_id": entry_id(9), "base_rev": 0, "blob": blob("x")}, {"entry_id": entry_id(9), "base_rev": 0, "blob": blob("y")}]}),
    ] {
        let (status, _) = call(
            &ts,
            &session,
            Method::POST,
            &entries,
            TOKEN,
            Some(bad.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    // A full batch of 200 entries of 4 KiB (over the API's usual 64 KiB body cap).
    let big: Vec<Value> = (100..300)
        .map(|i| json!({"entry_id": entry_id(i), "base_rev": 0, "blob": b64(&vec![1u8; 4096])}))
        .collect();
    let (status, body) = call(
        &ts,
        &session,
        Method::POST,
        &entries,
        TOKEN,
        Some(json!({"entries": big})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"][199]["rev"], 204);

    // Delete: the copy is gone and every device learns it (410).
    let (status, _) = call(&ts, &session, Method::DELETE, &space, TOKEN, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(&ts, &session, Method::GET, &entries, TOKEN, None).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::GONE, json!("sync_deleted"))
    );
    let (status, _) = call(&ts, &session, Method::PUT, &space, TOKEN, None).await;
    assert_eq!(status, StatusCode::GONE, "a deleted space is not reused");
}

#[tokio::test]
async fn concurrent_writers_of_one_entry_get_one_winner() {
    let ts = TestServer::start().await;
    let session = session_of(&ts, "sam").await;
    let space = format!("/v1/sync/{SPACE}");
    call(&ts, &session, Method::PUT, &space, TOKEN, None).await;
    let entries = format!("{space}/entries");
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (http, url, session) = (ts.http.clone(), ts.url(&entries), session.clone());
            tokio::spawn(async move {
                let body = json!({"entries": [{"entry_id": entry_id(1), "base_rev": 0, "blob": b64(format!("writer {i}").as_bytes())}]});
                let r = http
                    .post(url)
                    .bearer_auth(TOKEN)
                    .header("countersign-session", session)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let v: Value = r.json().await.unwrap();
                v["results"][0]["status"].as_str().unwrap().to_owned()
            })
        })
        .collect();
    let mut stored = 0;
    for t in tasks {
        if t.await.unwrap() == "stored" {
            stored += 1;
        }
    }
    assert_eq!(stored, 1);
    let (_, body) = call(&ts, &session, Method::GET, &entries, TOKEN, None).await;
    assert_eq!(body["entries"].as_array().unwrap().len(), 1);
    assert_eq!(body["entries"][0]["rev"], 1);
}

/// The review's finding: 30 spaces and 3.5 MB were written in 1.6 s without
/// any account. Now every write needs a known caller, and each account has
/// quotas and a rate budget.
#[tokio::test]
async fn writes_need_an_account_and_stay_within_its_quotas() {
    let ts = TestServer::start_with(|c| {
        c.limits.sync_spaces_per_account = 2;
        c.limits.sync_bytes_per_account = 64 * 1024;
    })
    .await;
    let space = |i: usize| format!("/v1/sync/{i:032x}");
    // Nobody: refused, and nothing is made.
    let (status, body) = call(&ts, "", Method::PUT, &space(1), TOKEN, None).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::UNAUTHORIZED, json!("sign_in_required"))
    );
    let (status, _) = call(&ts, "bogus", Method::PUT, &space(1), TOKEN, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(
        &ts,
        "",
        Method::GET,
        &format!("{}/entries", space(1)),
        TOKEN,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no space was made");

    let session = session_of(&ts, "sam").await;
    for i in 1..=2 {
        let (status, _) = call(&ts, &session, Method::PUT, &space(i), TOKEN, None).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, body) = call(&ts, &session, Method::PUT, &space(3), TOKEN, None).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::PAYLOAD_TOO_LARGE, json!("quota_exceeded")),
        "{body}"
    );
    // Writing without an account, even with the space's token: refused.
    let entries = format!("{}/entries", space(1));
    let one = json!({"entries": [{"entry_id": entry_id(1), "base_rev": 0, "blob": b64(b"x")}]});
    let (status, _) = call(&ts, "", Method::POST, &entries, TOKEN, Some(one.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Another account cannot write into sam's space, nor delete it.
    let eve = session_of(&ts, "eve").await;
    let (status, body) = call(&ts, &eve, Method::POST, &entries, TOKEN, Some(one.clone())).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::FORBIDDEN, json!("forbidden"))
    );
    let (status, _) = call(&ts, &eve, Method::DELETE, &space(1), TOKEN, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Bytes over all of sam's spaces: 64 KiB.
    let blob = |i: usize| json!({"entry_id": entry_id(i), "base_rev": 0, "blob": b64(&vec![9u8; 16 * 1024])});
    let (status, _) = call(
        &ts,
        &session,
        Method::POST,
        &entries,
        TOKEN,
        Some(json!({"entries": [blob(1), blob(2), blob(3)]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(
        &ts,
        &session,
        Method::POST,
        &format!("{}/entries", space(2)),
        TOKEN,
        Some(json!({"entries": [blob(4), blob(5)]})),
    )
    .await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::PAYLOAD_TOO_LARGE, json!("quota_exceeded")),
        "{body}"
    );
    // Nothing of the refused batch was written.
    let (_, body) = call(
        &ts,
        "",
        Method::GET,
        &format!("{}/entries", space(2)),
        TOKEN,
        None,
    )
    .await;
    assert_eq!(body["entries"].as_array().unwrap().len(), 0);
    // Deleting frees the space quota (and its bytes).
    let (status, _) = call(&ts, &session, Method::DELETE, &space(1), TOKEN, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&ts, &session, Method::PUT, &space(3), TOKEN, None).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn writes_are_rate_limited_per_account() {
    let ts = TestServer::start_with(|c| c.limits.sync_writes_per_window = 5).await;
    let session = session_of(&ts, "sam").await;
    let space = format!("/v1/sync/{SPACE}");
    let entries = format!("{space}/entries");
    call(&ts, &session, Method::PUT, &space, TOKEN, None).await;
    for i in 0..4 {
        let one = json!({"entries": [{"entry_id": entry_id(i), "base_rev": 0, "blob": b64(b"x")}]});
        let (status, _) = call(&ts, &session, Method::POST, &entries, TOKEN, Some(one)).await;
        assert_eq!(status, StatusCode::OK);
    }
    let one = json!({"entries": [{"entry_id": entry_id(9), "base_rev": 0, "blob": b64(b"x")}]});
    let resp = ts
        .http
        .post(ts.url(&entries))
        .bearer_auth(TOKEN)
        .header("countersign-session", &session)
        .json(&one)
        .send()
        .await
        .unwrap();
    assert!(resp.headers().contains_key("retry-after"));
    let (status, body) = common::json_of(resp).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::TOO_MANY_REQUESTS, json!("rate_limited"))
    );
    // Reads are not writes.
    let (status, _) = call(&ts, "", Method::GET, &entries, TOKEN, None).await;
    assert_eq!(status, StatusCode::OK);
    ts.clock.advance(601);
    let (status, _) = call(&ts, &session, Method::POST, &entries, TOKEN, Some(one)).await;
    assert_eq!(status, StatusCode::OK);
}

/// A paired phone signs its sync writes with its device key, as it signs
/// its other calls; the space belongs to its account.
#[tokio::test]
async fn a_paired_device_writes_with_its_signature() {
    let ts = TestServer::start().await;
    let phone = ts.user_with_device("alice").await;
    let path = format!("/v1/sync/{SPACE}");
    let mut req = ts.http.put(ts.url(&path)).bearer_auth(TOKEN);
    for (k, v) in phone.auth_headers(&ts, "PUT", &path, b"") {
        req = req.header(k, v);
    }
    let (status, _) = common::json_of(req.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED);
    // A signature over another path does not count.
    let entries = format!("{path}/entries");
    let body = serde_json::to_vec(
        &json!({"entries": [{"entry_id": entry_id(1), "base_rev": 0, "blob": b64(b"x")}]}),
    )
    .unwrap();
    let mut bad = ts
        .http
        .post(ts.url(&entries))
        .bearer_auth(TOKEN)
        .body(body.clone());
    for (k, v) in phone.auth_headers(&ts, "POST", &path, &body) {
        bad = bad.header(k, v);
    }
    let (status, _) = common::json_of(bad.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let mut good = ts
        .http
        .post(ts.url(&entries))
        .bearer_auth(TOKEN)
        .body(body.clone());
    for (k, v) in phone.auth_headers(&ts, "POST", &entries, &body) {
        good = good.header(k, v);
    }
    let (status, body) = common::json_of(good.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"][0]["status"], "stored");
}
