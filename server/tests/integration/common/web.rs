//! Browser-like helpers for the web pages: a cookie-keeping client that
//! trusts only the test server, form posts that follow redirects, and small
//! HTML and TOTP helpers.

#![allow(dead_code)]

use super::{TestServer, PASSWORD};
use countersign_core::{Generator, OtpParams, SecretBytes};
use reqwest::StatusCode;

/// A browser-like client: cookies kept, redirects followed, trusts only the
/// test server's certificate.
pub fn browser(ts: &TestServer) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(
            reqwest::Certificate::from_pem(ts.server.cert_pem().as_bytes()).unwrap(),
        )
        .cookie_store(true)
        .build()
        .unwrap()
}

/// Final URL path, status and body after following redirects.
pub async fn send(req: reqwest::RequestBuilder) -> (String, StatusCode, String) {
    let r = req.send().await.unwrap();
    let path = r.url().path().to_owned()
        + r.url()
            .query()
            .map(|q| format!("?{q}"))
            .as_deref()
            .unwrap_or("");
    let status = r.status();
    (path, status, r.text().await.unwrap())
}

pub async fn get(c: &reqwest::Client, ts: &TestServer, path: &str) -> (String, StatusCode, String) {
    send(c.get(ts.url(path))).await
}

pub async fn post(
    c: &reqwest::Client,
    ts: &TestServer,
    path: &str,
    form: &[(&str, &str)],
) -> (String, StatusCode, String) {
    send(c.post(ts.url(path)).form(form)).await
}

/// The text content of the element with `id` (first `>` … `<`).
pub fn text_of(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')?;
    Some(rest[start..start + end].to_owned())
}

pub fn totp_at(secret_b32: &str, t: i64) -> String {
    let bytes = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, secret_b32).unwrap();
    Generator::new(&SecretBytes::new(bytes), OtpParams::totp())
        .unwrap()
        .code_at(t)
        .code
        .to_string()
}

pub async fn password_signin(
    c: &reqwest::Client,
    ts: &TestServer,
    user: &str,
) -> (String, StatusCode, String) {
    post(
        c,
        ts,
        "/signin/password",
        &[("username", user), ("password", PASSWORD)],
    )
    .await
}

/// Enrolls an authenticator app from a signed-in page (`/account` or
/// `/setup`) and returns its Base32 seed.
pub async fn enroll_otp_quietly(c: &reqwest::Client, ts: &TestServer) -> String {
    let (_, _, page) = post(c, ts, "/account/otp/start", &[]).await;
    let secret: String = text_of(&page, "otp-secret")
        .unwrap_or_else(|| panic!("no OTP secret on the page: {page}"))
        .split_whitespace()
        .collect();
    let code = totp_at(&secret, ts.now());
    let (path, _, _) = post(c, ts, "/account/otp/confirm", &[("code", &code)]).await;
    assert!(path.contains("m=otp_on"), "{path}");
    secret
}

/// Signs `user` (who has no second step yet, so gets a setup session) in,
/// enrolls an authenticator app on /setup, finishes setup, and signs in
/// again with the password and a code: the browser ends with a full,
/// freshly verified session. Returns it and the Base32 seed.
pub async fn signed_in_with_otp(ts: &TestServer, user: &str) -> (reqwest::Client, String) {
    let c = browser(ts);
    let (path, _, _) = password_signin(&c, ts, user).await;
    assert_eq!(path, "/setup", "{user} should need 2-step setup");
    let secret = enroll_otp_quietly(&c, ts).await;
    let (path, _, _) = post(&c, ts, "/setup/finish", &[]).await;
    assert_eq!(path, "/signin?m=setup_done");
    ts.clock.advance(30);
    otp_signin(&c, ts, user, &secret).await;
    (c, secret)
}

/// Password, then the current TOTP code: ends on /account.
pub async fn otp_signin(c: &reqwest::Client, ts: &TestServer, user: &str, secret: &str) {
    let (path, _, _) = password_signin(c, ts, user).await;
    assert!(path.starts_with("/signin/verify"), "{path}");
    let code = totp_at(secret, ts.now());
    let (path, status, page) = post(c, ts, "/signin/otp", &[("code", &code)]).await;
    assert_eq!(
        (path.as_str(), status),
        ("/account", StatusCode::OK),
        "{page}"
    );
}

/// A real SMTP sink (tools/smtp-sink.py, aiosmtpd) when the test command
/// provides Python with aiosmtpd in `COUNTERSIGN_TEST_PYTHON`.
pub struct Sink {
    child: std::process::Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Sink {
    pub fn start() -> Option<Self> {
        use std::io::BufRead;
        let python = std::env::var("COUNTERSIGN_TEST_PYTHON").ok()?;
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tools/smtp-sink.py");
        let mut child = std::process::Command::new(python)
            .args([script, "--port", "0", "--dir"])
            .arg(dir.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().strip_prefix("ready ").unwrap().parse().unwrap();
        Some(Self { child, port, dir })
    }

    /// The `n`-th mail (1-based), waiting up to 10 s for it.
    pub fn mail(&self, n: usize) -> String {
        let path = self.dir.path().join(format!("{n}.eml"));
        for _ in 0..100 {
            if let Ok(text) = std::fs::read_to_string(&path) {
                return text;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("mail {n} never arrived");
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The body of a mail with soft line breaks undone (quoted-printable).
pub fn body_of(mail: &str) -> String {
    mail.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

impl Sink {
    /// How many mails arrived so far.
    pub fn count(&self) -> usize {
        std::fs::read_dir(self.dir.path())
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .count()
            })
            .unwrap_or(0)
    }

    /// The SMTP settings that mail into this sink.
    pub fn config(&self) -> countersign_server::SmtpConfig {
        countersign_server::SmtpConfig {
            host: "127.0.0.1".into(),
            port: self.port,
            security: countersign_server::SmtpSecurity::None,
            username: None,
            password: None,
            from: "Test NAS <nas@example.com>".into(),
        }
    }
}
