//! The page shell and the few building blocks every page uses.
//!
//! Messages carried across a redirect are named by a fixed key
//! (`?m=signed_out`), never by text from the URL, so a link cannot make the
//! page say something we did not write.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

/// A page: status, title, the server name, an optional signed-in account
/// (shows the account links and sign-out), and the body.
pub(crate) fn page(
    status: StatusCode,
    server_name: &str,
    title: &str,
    account: Option<(&str, bool)>,
    body: Markup,
) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (server_name) }
                link rel="stylesheet" href="/static/app.css";
                script src="/static/app.js" defer {}
            }
            body {
                header {
                    span.brand { (server_name) }
                    @if let Some((name, is_admin)) = account {
                        nav {
                            a href="/account" { "Security" }
                            @if is_admin { a href="/admin" { "Admin" } }
                            form.inline method="post" action="/signout" {
                                button.link type="submit" id="signout" { "Sign out " (name) }
                            }
                        }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    };
    (status, Html(markup.into_string())).into_response()
}

/// An error notice (role=alert, so it is announced and easy to find).
pub(crate) fn error(text: &str) -> Markup {
    html! { p.notice.error role="alert" id="error" { (text) } }
}

/// An informational notice.
pub(crate) fn info(text: &str) -> Markup {
    html! { p.notice.info role="status" id="info" { (text) } }
}

/// The notice for a `?m=` key (unknown keys show nothing).
pub(crate) fn flash(key: Option<&str>) -> Markup {
    let text = match key {
        Some("signed_out") => "You are signed out.",
        Some("two_step_changed") => {
            "2-step verification settings changed: you were signed out everywhere. Sign in again."
        }
        Some("setup_done") => {
            "2-step verification is on. You were signed out everywhere; sign in again with your second step."
        }
        Some("expired") => "That sign-in took too long. Start again.",
        Some("otp_on") => "Authenticator app added.",
        Some("otp_removed") => "Authenticator app removed.",
        Some("email_sent") => "We sent a verification link to your backup email.",
        Some("email_verified") => "Backup email verified.",
        Some("device_revoked") => "Device removed.",
        Some("done") => "Done.",
        Some("verified") => {
            "Confirmed. You can change your sign-in security for the next few minutes."
        }
        Some("finish_first") => {
            "Your account has a second step now: finish setup, then sign in again to add more."
        }
        _ => return html! {},
    };
    info(text)
}
