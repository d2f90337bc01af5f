//! Two server nodes on one PostgreSQL database: separate processes (the
//! built `countersign-server` binary) sharing one data directory (TLS key,
//! admin token) and one fresh database. Shows that long-polls are woken
//! across nodes (`LISTEN`/`NOTIFY`) and that racing nodes cannot create two
//! pending requests for one account.
//!
//! Needs `COUNTERSIGN_TEST_PG_URL` (see `tools/pg.sh`); without it every
//! test here prints a SKIPPED line and passes.

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{client_for, new_key, pg_admin_url, sign, typed, PgTestDb, PASSWORD, PG_ENV};
use countersign_core::approve::protocol::{
    approval_message, b64, device_auth_message, pair_message, unb64, AnswerRequest, AnswerResponse,
    Decision, ErrorBody, PairRequest, PairResponse, PendingList, RequestState, SignInContext,
    SignInStart, SignInStarted, SignInStatus, HEADER_DEVICE, HEADER_SIGNATURE, HEADER_TIME,
};
use countersign_server::store::{Budget, PgStore, Reservation, Store};
use reqwest::StatusCode;
use ring::signature::{EcdsaKeyPair, KeyPair};

const BIN: &str = env!("CARGO_BIN_EXE_countersign-server");

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A fresh database, or `None` after printing why the test is skipped.
async fn database(test: &str) -> Option<PgTestDb> {
    if pg_admin_url().is_none() {
        println!("two_nodes::{test}: SKIPPED ({PG_ENV} is not set; tools/pg.sh start prints one)");
        return None;
    }
    PgTestDb::create().await
}

/// One `countersign-server serve` process, killed when dropped.
struct Node {
    child: Child,
    base: String,
}

impl Node {
    fn start(data: &Path, db_url: &str) -> Node {
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--data-dir")
            .arg(data)
            .args(["--listen", "127.0.0.1:0", "--name", "Two nodes"])
            // The environment variable, as a deployment would set it.
            .env("COUNTERSIGN_DATABASE_URL", db_url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("the node exited before listening")
                .unwrap();
            if let Some(addr) = line.split(" listening on ").nth(1) {
                break addr.trim().to_string();
            }
        };
        // Keep reading so the node never writes into a closed pipe.
        std::thread::spawn(move || for _ in lines {});
        Node {
            child,
            base: format!("https://{addr}"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn add_user(data: &Path, db_url: &str, name: &str) {
    let mut child = Command::new(BIN)
        .args(["user", "add", "--data-dir"])
        .arg(data)
        .args([
            "--username",
            name,
            "--method",
            "password_approve",
            "--password-stdin",
        ])
        .args(["--database-url", db_url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "user add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two nodes on one data directory and one database, plus a phone.
struct Cluster {
    a: Node,
    b: Node,
    http: reqwest::Client,
    server_id: String,
    _db: PgTestDb,
    _dir: tempfile::TempDir,
}

struct Phone {
    key: EcdsaKeyPair,
    id: String,
}

impl Cluster {
    async fn start(db: PgTestDb, users: &[&str]) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        for u in users {
            add_user(&data, &db.url, u);
        }
        // A first, so B finds the certificate, key and admin token made.
        let a = Node::start(&data, &db.url);
        let b = Node::start(&data, &db.url);
        let cert = std::fs::read_to_string(data.join("cert.pem")).unwrap();
        let http = client_for(&cert);
        let info_a: serde_json::Value = http
            .get(a.url("/v1/info"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let info_b: serde_json::Value = http
            .get(b.url("/v1/info"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            info_a["server_id"], info_b["server_id"],
            "one server identity"
        );
        Cluster {
            a,
            b,
            http,
            server_id: info_a["server_id"].as_str().unwrap().to_string(),
            _db: db,
            _dir: dir,
        }
    }

    async fn pair(&self, node: &Node, username: &str) -> Phone {
        let key = new_key();
        let pk = key.public_key().as_ref().to_vec();
        let time = now();
        let body = PairRequest {
            token: None,
            username: Some(username.into()),
            password: Some(PASSWORD.into()),
            device_name: "Two-node phone".into(),
            platform: "android".into(),
            public_key: b64(&pk),
            push_token: None,
            time,
            proof: b64(&sign(
                &key,
                &pair_message(&self.server_id, username, &pk, time),
            )),
            otp_code: None,
        };
        let resp = self
            .http
            .post(node.url("/v1/pair"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let r: PairResponse = typed(resp).await.unwrap();
        Phone {
            key,
            id: r
                .device_id
                .expect("first pairing of an account without a second step"),
        }
    }

    async fn start_signin(
        &self,
        node: &Node,
        username: &str,
    ) -> Result<SignInStarted, (StatusCode, ErrorBody)> {
        let resp = self
            .http
            .post(node.url("/v1/signin/start"))
            .json(&SignInStart {
                username: username.into(),
                password: Some(PASSWORD.into()),
            })
            .send()
            .await
            .unwrap();
        typed(resp).await
    }

    async fn status(&self, node: &Node, started: &SignInStarted, wait: u64) -> SignInStatus {
        let resp = self
            .http
            .get(node.url(&format!(
                "/v1/signin/{}",
                started.request_id.as_ref().unwrap()
            )))
            .query(&[
                ("poll_token", started.poll_token.clone().unwrap()),
                ("wait", wait.to_string()),
            ])
            .send()
            .await
            .unwrap();
        typed(resp).await.unwrap()
    }

    async fn pending(&self, node: &Node, phone: &Phone, wait: u64) -> PendingList {
        let path = format!("/v1/device/requests?wait={wait}");
        let time = now();
        let msg = device_auth_message(&self.server_id, &phone.id, "GET", &path, time, b"");
        let resp = self
            .http
            .get(node.url(&path))
            .header(HEADER_DEVICE, &phone.id)
            .header(HEADER_TIME, time.to_string())
            .header(HEADER_SIGNATURE, b64(&sign(&phone.key, &msg)))
            .send()
            .await
            .unwrap();
        typed(resp).await.unwrap()
    }

    async fn approve(
        &self,
        node: &Node,
        phone: &Phone,
        req: &countersign_core::approve::protocol::PendingRequest,
        number: u8,
    ) -> AnswerResponse {
        let time = now();
        let context: &SignInContext = &req.context;
        let msg = approval_message(
            &self.server_id,
            &req.account,
            &req.request_id,
            &unb64(&req.nonce).unwrap(),
            Decision::Approve,
            number,
            &context.hash(),
            time,
        );
        let body = AnswerRequest {
            device_id: phone.id.clone(),
            decision: Decision::Approve,
            picked_number: number,
            time,
            signature: b64(&sign(&phone.key, &msg)),
        };
        let resp = self
            .http
            .post(node.url(&format!("/v1/requests/{}/answer", req.request_id)))
            .json(&body)
            .send()
            .await
            .unwrap();
        typed(resp).await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_polls_are_woken_across_nodes() {
    let Some(db) = database("long_polls_are_woken_across_nodes").await else {
        return;
    };
    let cluster = std::sync::Arc::new(Cluster::start(db, &["alice"]).await);
    let c = &cluster;
    let phone = std::sync::Arc::new(c.pair(&c.a, "alice").await);

    // The phone waits on node B; the sign-in starts on node A.
    let device_wait = {
        let (cluster, phone) = (cluster.clone(), phone.clone());
        tokio::spawn(async move {
            let t = Instant::now();
            let list = cluster.pending(&cluster.b, &phone, 25).await;
            (list, t.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let started = c.start_signin(&c.a, "alice").await.unwrap();
    assert_eq!(started.state, RequestState::Pending);
    let (list, waited) = device_wait.await.unwrap();
    assert_eq!(list.requests.len(), 1, "{list:?}");
    assert!(
        waited < Duration::from_secs(20),
        "node B's device long-poll was not woken by node A ({waited:?})"
    );
    let req = list.requests.into_iter().next().unwrap();
    assert_eq!(Some(&req.request_id), started.request_id.as_ref());

    // The login side waits on node A; the phone approves through node B.
    let login_wait = {
        let (cluster, started) = (cluster.clone(), started.clone());
        tokio::spawn(async move {
            let t = Instant::now();
            let status = cluster.status(&cluster.a, &started, 25).await;
            (status, t.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let answer = c.approve(&c.b, &phone, &req, started.number.unwrap()).await;
    assert_eq!(answer.state, RequestState::Approved);
    let (status, waited) = login_wait.await.unwrap();
    assert_eq!(status.state, RequestState::Approved);
    let token = status.session_token.expect("session for the login side");
    assert!(
        waited < Duration::from_secs(20),
        "node A's login long-poll was not woken by node B ({waited:?})"
    );

    // The session works on either node.
    for node in [&c.a, &c.b] {
        let resp = c
            .http
            .get(node.url("/v1/session"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_sign_ins_on_two_nodes_stay_within_the_request_budget() {
    let Some(db) = database("racing_sign_ins_on_two_nodes_stay_within_the_request_budget").await
    else {
        return;
    };
    let cluster = Cluster::start(db, &["bob"]).await;
    let c = &cluster;
    let phone = c.pair(&c.b, "bob").await;

    // 12 sign-ins at once, half on each node: the account's budget for
    // unknown login sides is 5 per 10 minutes, and it holds across nodes.
    let attempts = (0..12).map(|i| {
        let node = if i % 2 == 0 { &c.a } else { &c.b };
        c.start_signin(node, "bob")
    });
    let results = futures_join_all(attempts).await;
    let created = results
        .iter()
        .filter(|r| matches!(r, Ok(s) if s.state == RequestState::Pending))
        .count();
    assert_eq!(created, 5, "{results:?}");
    for r in &results {
        if let Err((status, e)) = r {
            assert_eq!(
                (status.as_u16(), e.error.as_str()),
                (429, "rate_limited"),
                "{}",
                e.message
            );
        }
    }
    for node in [&c.a, &c.b] {
        assert_eq!(c.pending(node, &phone, 0).await.requests.len(), 5);
    }
}

/// The security review's attack across nodes: 60 wrong passwords and the
/// right one at once, split over two nodes; at most the limit (10) of the
/// wrong ones are checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_password_guesses_over_two_nodes_check_at_most_the_limit() {
    let Some(db) =
        database("concurrent_password_guesses_over_two_nodes_check_at_most_the_limit").await
    else {
        return;
    };
    let cluster = Cluster::start(db, &["pat"]).await;
    let c = &cluster;
    let guesses = (0..61).map(|i| {
        let node = if i % 2 == 0 { &c.a } else { &c.b };
        let password = if i == 60 {
            PASSWORD.to_string()
        } else {
            format!("wrong-{i}")
        };
        let req = c
            .http
            .post(node.url("/v1/signin/start"))
            .json(&serde_json::json!({"username": "pat", "password": password}));
        async move { req.send().await.unwrap().status() }
    });
    let statuses = futures_join_all(guesses).await;
    let wrong = statuses.iter().filter(|s| s.as_u16() == 401).count();
    assert!(wrong <= 10, "{wrong} wrong guesses checked: {statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| matches!(s.as_u16(), 200 | 401 | 403 | 409 | 429)),
        "{statuses:?}"
    );
}

/// The attempt primitive itself, from two stores (two connection pools, as
/// two nodes have): 40 reservations at once under a budget of 10 grant
/// exactly 10; releasing gives the room back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_stores_reserve_exactly_the_budget() {
    let Some(db) = database("racing_stores_reserve_exactly_the_budget").await else {
        return;
    };
    // Two nodes migrating an empty database at once agree on one identity.
    let (one, two) = tokio::join!(PgStore::connect(&db.url), PgStore::connect(&db.url));
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!(
        one.server_id().await.unwrap(),
        two.server_id().await.unwrap()
    );
    let t = now();
    let budgets = || {
        vec![
            Budget {
                key: "pw:carol".into(),
                limit: 10,
                window_s: 900,
            },
            Budget {
                key: "ip:192.0.2.1".into(),
                limit: 1000,
                window_s: 300,
            },
        ]
    };
    let stores: [&dyn Store; 2] = [&one, &two];
    let outcomes =
        futures_join_all((0..40).map(|i| stores[i % 2].reserve_attempts(budgets(), t))).await;
    let granted: Vec<Vec<i64>> = outcomes
        .into_iter()
        .filter_map(|o| match o.unwrap() {
            Reservation::Granted(ids) => Some(ids),
            Reservation::Refused {
                index,
                retry_after_s,
            } => {
                assert_eq!((index, retry_after_s), (0, 900));
                None
            }
        })
        .collect();
    assert_eq!(granted.len(), 10);
    assert!(granted.iter().all(|ids| ids.len() == 2));
    // A right guess gives its slot back.
    two.release_attempts(granted[0].clone()).await.unwrap();
    assert!(matches!(
        one.reserve_attempts(budgets(), t).await.unwrap(),
        Reservation::Granted(_)
    ));
    assert!(matches!(
        two.reserve_attempts(budgets(), t).await.unwrap(),
        Reservation::Refused { index: 0, .. }
    ));
    // Refusals recorded nothing: the address's key holds the 10 granted
    // (one given back, one more granted), so one more fits under 11 and
    // then none.
    let ip_only = || {
        vec![Budget {
            key: "ip:192.0.2.1".into(),
            limit: 11,
            window_s: 300,
        }]
    };
    assert!(matches!(
        one.reserve_attempts(ip_only(), t).await.unwrap(),
        Reservation::Granted(_)
    ));
    assert!(matches!(
        two.reserve_attempts(ip_only(), t).await.unwrap(),
        Reservation::Refused { index: 0, .. }
    ));
}

/// Runs futures concurrently (no `futures` dependency needed).
async fn futures_join_all<F: std::future::Future>(
    futs: impl IntoIterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send,
{
    let mut futs: Vec<_> = futs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in futs.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}
