//! Checks that the worked examples in `docs/protocol.md` are what the code
//! (`countersign_core::approve::protocol`) actually produces.
//!
//! Each example is rendered here field by field (`u32be length`, bytes,
//! label) and must appear verbatim in the document, so the document cannot
//! drift from the encoding. Run with `--nocapture` to print the blocks.

use countersign_core::approve::protocol::{
    approval_message, b64, device_auth_message, pair_message, Action, Decision, SignInContext,
    APPROVE_DOMAIN, CONTEXT_DOMAIN, DEVICE_AUTH_DOMAIN, PAIR_DOMAIN,
};

use crate::crypto::{hex, sha256};

const SERVER_ID: &str = "5f1c0d2e9a8b7c6d5e4f3a2b1c0d9e8f";
const REQUEST_ID: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const DEVICE_ID: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";
/// The P-256 base point G, uncompressed: a valid public key anyone can check.
const G: &str = "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

fn context() -> SignInContext {
    SignInContext {
        action: Action::SignIn,
        service: "Home NAS".into(),
        client_ip: "192.0.2.10".into(),
        user_agent: "Firefox on Linux".into(),
        location: String::new(),
        created_at: 1_700_000_000,
        expires_at: 1_700_000_060,
    }
}

/// Renders `domain` and fields as annotated lines, and checks they encode to `expected`.
fn render(domain: &str, fields: &[(&[u8], &str)], expected: &[u8]) -> String {
    let mut out = String::new();
    let mut bytes = Vec::new();
    for (f, label) in std::iter::once((domain.as_bytes(), "domain")).chain(fields.iter().copied()) {
        let len = u32::try_from(f.len()).unwrap_or(u32::MAX);
        out.push_str(&format!(
            "{len:08x} {}  {label}\n",
            if f.is_empty() {
                "(empty)".to_string()
            } else {
                hex(f)
            }
        ));
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend_from_slice(f);
    }
    assert_eq!(
        bytes, expected,
        "rendering of {domain} does not match the code"
    );
    out
}

/// `(name, block)` for every example in the document.
fn vectors() -> Vec<(&'static str, String)> {
    let ctx = context();
    let created = ctx.created_at.to_be_bytes();
    let expires = ctx.expires_at.to_be_bytes();
    let ctx_msg = countersign_core::approve::protocol::canonical(
        CONTEXT_DOMAIN,
        &[
            ctx.action.as_str().as_bytes(),
            ctx.service.as_bytes(),
            ctx.client_ip.as_bytes(),
            ctx.user_agent.as_bytes(),
            ctx.location.as_bytes(),
            &created,
            &expires,
        ],
    );
    let context_block = render(
        CONTEXT_DOMAIN,
        &[
            (ctx.action.as_str().as_bytes(), "action \"sign_in\""),
            (ctx.service.as_bytes(), "service \"Home NAS\""),
            (ctx.client_ip.as_bytes(), "client_ip \"192.0.2.10\""),
            (ctx.user_agent.as_bytes(), "user_agent \"Firefox on Linux\""),
            (ctx.location.as_bytes(), "location \"\""),
            (&created, "created_at 1700000000 (i64 big-endian)"),
            (&expires, "expires_at 1700000060"),
        ],
        &ctx_msg,
    );
    let hash = ctx.hash();
    assert_eq!(hash, sha256(&ctx_msg));

    let nonce: Vec<u8> = (0u8..32).collect();
    let time = 1_700_000_005i64.to_be_bytes();
    let approval = approval_message(
        SERVER_ID,
        "alice",
        REQUEST_ID,
        &nonce,
        Decision::Approve,
        42,
        &hash,
        1_700_000_005,
    );
    let approval_block = render(
        APPROVE_DOMAIN,
        &[
            (SERVER_ID.as_bytes(), "server_id (ASCII)"),
            (b"alice", "account"),
            (REQUEST_ID.as_bytes(), "request_id (ASCII)"),
            (&nonce, "nonce (32 raw bytes, not base64)"),
            (b"approve", "decision"),
            (&[42], "picked_number 42 (one byte)"),
            (&hash, "context hash (32 raw bytes)"),
            (&time, "time 1700000005"),
        ],
        &approval,
    );

    let body_hash = sha256(b"");
    let time = 1_700_000_001i64.to_be_bytes();
    let auth = device_auth_message(
        SERVER_ID,
        DEVICE_ID,
        "GET",
        "/v1/device/requests?wait=25",
        1_700_000_001,
        b"",
    );
    let auth_block = render(
        DEVICE_AUTH_DOMAIN,
        &[
            (SERVER_ID.as_bytes(), "server_id"),
            (DEVICE_ID.as_bytes(), "device_id"),
            (b"GET", "method"),
            (b"/v1/device/requests?wait=25", "path_and_query"),
            (&time, "time 1700000001"),
            (&body_hash, "SHA-256 of the empty body"),
        ],
        &auth,
    );

    let g = unhex(G);
    let time = 1_700_000_000i64.to_be_bytes();
    let pair = pair_message(SERVER_ID, "alice", &g, 1_700_000_000);
    let pair_block = render(
        PAIR_DOMAIN,
        &[
            (SERVER_ID.as_bytes(), "server_id"),
            (b"alice", "credential (password pairing: the username)"),
            (&g, "public key (65 raw bytes, uncompressed SEC1)"),
            (&time, "time 1700000000"),
        ],
        &pair,
    );

    vec![
        ("context", context_block),
        ("context-hash", format!("{}\n", hex(&hash))),
        ("approval", approval_block),
        ("approval-sha256", format!("{}\n", hex(&sha256(&approval)))),
        ("device-auth", auth_block),
        ("pair", pair_block),
        ("pair-public-key-b64", format!("{}\n", b64(&g))),
    ]
}

#[test]
fn protocol_doc_examples_match_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");
    let doc = std::fs::read_to_string(path).unwrap_or_default();
    let mut missing = Vec::new();
    for (name, block) in vectors() {
        println!("<!-- vector: {name} -->\n```text\n{block}```\n");
        let marked = format!("<!-- vector: {name} -->\n```text\n{block}```");
        if !doc.contains(&marked) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "docs/protocol.md lacks or misstates the examples {missing:?}"
    );
}
