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

async fn call(
    ts: &TestServer,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = ts.http.request(method, ts.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    common::json_of(req.send().await.unwrap()).await
}

#[tokio::test]
async fn spaces_writes_conflicts_paging_and_delete() {
    let ts = TestServer::start().await;
    let space = format!("/v1/sync/{SPACE}");
    let entries = format!("{space}/entries");
    // Unknown space.
    let (status, _) = call(&ts, Method::GET, &entries, TOKEN, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = call(&ts, Method::PUT, &space, TOKEN, None).await;
    assert_eq!(
        (status, body["created"].clone()),
        (StatusCode::CREATED, json!(true))
    );
    let (status, body) = call(&ts, Method::PUT, &space, TOKEN, None).await;
    assert_eq!(
        (status, body["created"].clone()),
        (StatusCode::OK, json!(false))
    );
    let (status, _) = call(
        &ts,
        Method::PUT,
        &space,
        "another-token-of-enough-length-0123456789",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(
        &ts,
        Method::GET,
        &entries,
        "another-token-of-enough-length-0123456789",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(&ts, Method::PUT, "/v1/sync/NOT-HEX", TOKEN, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // New entries (base_rev 0) are stored with increasing revisions.
    let blob = |s: &str| b64(s.as_bytes());
    let puts: Vec<Value> = (0..3)
        .map(|i| json!({"entry_id": entry_id(i), "base_rev": 0, "blob": blob(&format!("v1-{i}"))}))
        .collect();
    let (status, body) = call(
        &ts,
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
    let (_, body) = call(&ts, Method::GET, &format!("{entries}?since=2"), TOKEN, None).await;
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
        let (status, _) = call(&ts, Method::POST, &entries, TOKEN, Some(bad.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    // A full batch of 200 entries of 4 KiB (over the API's usual 64 KiB body cap).
    let big: Vec<Value> = (100..300)
        .map(|i| json!({"entry_id": entry_id(i), "base_rev": 0, "blob": b64(&vec![1u8; 4096])}))
        .collect();
    let (status, body) = call(
        &ts,
        Method::POST,
        &entries,
        TOKEN,
        Some(json!({"entries": big})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"][199]["rev"], 204);

    // Delete: the copy is gone and every device learns it (410).
    let (status, _) = call(&ts, Method::DELETE, &space, TOKEN, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(&ts, Method::GET, &entries, TOKEN, None).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::GONE, json!("sync_deleted"))
    );
    let (status, _) = call(&ts, Method::PUT, &space, TOKEN, None).await;
    assert_eq!(status, StatusCode::GONE, "a deleted space is not reused");
}

#[tokio::test]
async fn concurrent_writers_of_one_entry_get_one_winner() {
    let ts = TestServer::start().await;
    let space = format!("/v1/sync/{SPACE}");
    call(&ts, Method::PUT, &space, TOKEN, None).await;
    let entries = format!("{space}/entries");
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (http, url) = (ts.http.clone(), ts.url(&entries));
            tokio::spawn(async move {
                let body = json!({"entries": [{"entry_id": entry_id(1), "base_rev": 0, "blob": b64(format!("writer {i}").as_bytes())}]});
                let r = http.post(url).bearer_auth(TOKEN).json(&body).send().await.unwrap();
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
    let (_, body) = call(&ts, Method::GET, &entries, TOKEN, None).await;
    assert_eq!(body["entries"].as_array().unwrap().len(), 1);
    assert_eq!(body["entries"][0]["rev"], 1);
}
