//! The browser side: sign-in, account security and admin pages.
//!
//! Server-rendered HTML (maud: compile-time checked templates that escape
//! every interpolated value) plus one small script for the live "approve on
//! your phone" status; every page works without it (a "Continue" button
//! does the same as the script). One file per page group:
//! - `signin`: username → password → second step (approve with number
//!   matching, TOTP, or a backup email code) → session cookie.
//! - `account`: the user's security page and the forced-setup page.
//! - `admin`: users and their 2-step status, enforcement, blocked addresses.
//! - `layout`, `session`: the page shell, cookies, the session extractor and
//!   the cross-site request check.
//!
//! Cookies are `HttpOnly; Secure; SameSite=Strict` random tokens whose
//! SHA-256 is the key in the store (sessions and login flows are shared by
//! every node). State-changing requests are POST forms checked for a
//! same-origin `Origin`/`Sec-Fetch-Site` (see [`session::same_origin`]).

mod account;
mod admin;
mod browser;
mod layout;
mod session;
mod signin;

pub(crate) use admin::fmt_time;

use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;

use crate::state::Shared;

const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// The web routes (merged into the API router by `server::start`).
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(session::home))
        .route("/signin", get(signin::username_page).post(signin::username))
        .route("/signin/password", post(signin::password))
        .route("/signin/verify", get(signin::verify_page))
        .route("/signin/status", get(signin::status))
        .route("/signin/finish", post(signin::finish))
        .route("/signin/otp", post(signin::otp))
        .route("/signin/email/send", post(signin::email_send))
        .route("/signin/email", post(signin::email_code))
        .route("/signout", post(signin::signout))
        .route("/setup", get(account::setup_page))
        .route("/setup/finish", post(account::setup_finish))
        .route("/account", get(account::account_page))
        .route("/account/otp/start", post(account::otp_start))
        .route("/account/otp/confirm", post(account::otp_confirm))
        .route("/account/otp/remove", post(account::otp_remove))
        .route("/account/pair", post(account::pair))
        .route("/account/devices/revoke", post(account::revoke_device))
        .route("/account/email", post(account::set_email))
        .route(
            "/account/email/verify",
            get(account::verify_email_page).post(account::verify_email),
        )
        .route("/account/method", post(account::set_method))
        .route(
            "/account/reauth",
            get(account::reauth_page).post(account::reauth),
        )
        .route("/admin", get(admin::admin_page))
        .route("/admin/users", post(admin::create_user_handler))
        .route("/admin/users/action", post(admin::user_action))
        .route("/admin/groups", post(admin::group_enforcement))
        .route("/admin/unblock", post(admin::unblock))
        .route("/static/app.js", get(app_js))
        .route("/static/app.css", get(app_css))
        .layer(axum::middleware::from_fn(session::security_headers))
        .with_state(shared)
}

async fn app_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        APP_JS,
    )
}

async fn app_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        APP_CSS,
    )
}
