//! Cookies, the signed-in user of a page, and request hygiene for the web
//! pages: security headers on every answer and the same-origin check on
//! every form post.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

use crate::crypto::{random_token, sha256};
use crate::error::ServerError;
use crate::state::Shared;
use crate::store::{NewSession, SessionRecord, SessionScope, UserRecord};

/// Session cookie name. The `__Host-` prefix makes browsers insist on
/// `Secure`, `Path=/` and no `Domain`, so no other host (a sibling
/// subdomain, a plain-HTTP page) can set or overwrite it.
pub(crate) const SESSION_COOKIE: &str = "__Host-cs_session";
/// Login-flow cookie name (between the password and the second step).
pub(crate) const FLOW_COOKIE: &str = "__Host-cs_flow";

/// The value of cookie `name`, if sent.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value for `name=value` (HttpOnly, Secure, SameSite=Strict).
pub(crate) fn set_cookie(name: &str, value: &str, max_age_s: i64) -> HeaderValue {
    let text =
        format!("{name}={value}; Path=/; Max-Age={max_age_s}; HttpOnly; Secure; SameSite=Strict");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A `Set-Cookie` value that deletes cookie `name`.
pub(crate) fn clear_cookie(name: &str) -> HeaderValue {
    set_cookie(name, "", 0)
}

/// The signed-in user of a request.
pub(crate) struct WebUser {
    /// SHA-256 of the session cookie.
    pub token_hash: [u8; 32],
    /// The session.
    pub session: SessionRecord,
    /// The account as stored now.
    pub user: UserRecord,
}

/// The session behind the request's cookie, with its user.
pub(crate) async fn current(
    shared: &Shared,
    headers: &HeaderMap,
) -> Result<Option<WebUser>, ServerError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let token_hash = sha256(token.as_bytes());
    let Some(session) = shared
        .store
        .session(token_hash, shared.now(), shared.limits.session_idle_s)
        .await?
    else {
        return Ok(None);
    };
    let Some(user) = shared.store.user(session.account.clone()).await? else {
        return Ok(None);
    };
    Ok(Some(WebUser {
        token_hash,
        session,
        user,
    }))
}

impl WebUser {
    /// Whether the full sign-in (password and second step) was checked
    /// within the re-authentication window ("sudo mode"): what pages that
    /// change sign-in security require.
    pub(crate) fn recently_verified(&self, shared: &Shared) -> bool {
        self.session.verified_at > 0
            && shared.now() - self.session.verified_at < shared.limits.reauth_window_s
    }
}

/// Stores a new session for `account` and returns its `Set-Cookie`.
/// `verified`: the full sign-in was just checked (see
/// [`NewSession::verified_at`]).
pub(crate) async fn start_session(
    shared: &Shared,
    account: &str,
    scope: SessionScope,
    verified: bool,
) -> Result<HeaderValue, ServerError> {
    let token = random_token()?;
    let now = shared.now();
    shared
        .store
        .create_session(NewSession {
            token_hash: sha256(token.as_bytes()),
            account: account.to_owned(),
            created_at: now,
            expires_at: now + shared.limits.session_ttl_s,
            scope,
            verified_at: if verified { now } else { 0 },
        })
        .await?;
    Ok(set_cookie(
        SESSION_COOKIE,
        &token,
        shared.limits.session_ttl_s,
    ))
}

/// A redirect that also sets cookies.
pub(crate) fn redirect_with(to: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut response = Redirect::to(to).into_response();
    for c in cookies {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

/// `GET /`: the account page when signed in, else the sign-in page.
pub(crate) async fn home(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match current(&shared, &headers).await {
        Ok(Some(u)) if u.session.scope == SessionScope::Setup => {
            Redirect::to("/setup").into_response()
        }
        Ok(Some(_)) => Redirect::to("/account").into_response(),
        _ => Redirect::to("/signin").into_response(),
    }
}

/// Whether a state-changing request comes from our own pages: its `Origin`
/// names this host (the `Host` header, or the HTTP/2 `:authority` in
/// `authority`), or (no `Origin`) `Sec-Fetch-Site` says same-origin.
/// Requests with neither header are not from a browser and carry no
/// ambient cookies worth forging, so they pass.
pub(crate) fn same_origin(headers: &HeaderMap, authority: Option<&str>) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or(authority);
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    // A browser sends `Origin: null` for privacy-sensitive contexts; then
    // only `Sec-Fetch-Site` can tell, and it must say same-origin.
    match headers.get(header::ORIGIN).map(|o| o.to_str()) {
        Some(Ok("null")) => return fetch_site == Some("same-origin"),
        Some(Ok(origin)) => {
            let Some(rest) = origin.strip_prefix("https://") else {
                return false;
            };
            return host.is_some_and(|h| h.eq_ignore_ascii_case(rest));
        }
        Some(Err(_)) => return false,
        None => {}
    }
    match fetch_site {
        Some(site) => site == "same-origin" || site == "none",
        None => true,
    }
}

/// Adds security headers to every page and refuses cross-site posts.
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let authority = request.uri().authority().map(|a| a.as_str().to_owned());
    if request.method() == axum::http::Method::POST
        && !same_origin(request.headers(), authority.as_deref())
    {
        return (StatusCode::FORBIDDEN, "cross-site form posts are refused").into_response();
    }
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The server only speaks HTTPS: browsers must never try plain HTTP.
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // same-origin (not no-referrer): browsers then send a real `Origin` on
    // our own form posts, which the check above relies on.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_origins() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-cs_session=abc; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "cs"), None);
        assert!(same_origin(&h, None));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://127.0.0.1:8443"),
        );
        assert!(!same_origin(&h, None), "no host to compare with");
        assert!(same_origin(&h, Some("127.0.0.1:8443")), "HTTP/2 authority");
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8443"));
        assert!(same_origin(&h, None));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&h, None));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8443"),
        );
        assert!(!same_origin(&h, None));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h, None), "null origin without fetch metadata");
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&h, None), "null origin, same-origin fetch");
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h, None), "null origin, cross-site fetch");
        h.remove(header::ORIGIN);
        assert!(!same_origin(&h, None));
    }
}
