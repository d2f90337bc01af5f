//! The sign-in pages: username → password → second step → session.
//!
//! After the password (or, for a passwordless account, the username) a
//! login flow is stored and named by the `__Host-cs_flow` cookie for a few
//! minutes; the second step then runs against it:
//! - approve: an Approve request is started (the same code path as the JSON
//!   API, so every push-bombing limit applies; a new request from the flow
//!   replaces its old one) and the page shows the number the user types on
//!   the phone; the script long-polls `/signin/status` and submits
//!   "Continue" when the phone approves (without the script the user
//!   presses it);
//! - TOTP: a 6-digit code, ±1 step, replay refused;
//! - backup email: an 8-digit emergency code mailed on request — only after
//!   the password (never for passwordless accounts: email alone is not a
//!   factor) and never to re-verify a session.
//!
//! Every guess reserves its attempt before it is checked (`twostep::guard`),
//! so concurrent guesses cannot pass a limit; a browser known for the
//! account (device cookie, `web::browser`) has limits of its own. Finishing
//! consumes the flow atomically: one flow is one session. The same flow
//! re-verifies a signed-in session ("sudo mode", `account::reauth`).
//!
//! Users for whom 2-step verification is enforced (individually, by group,
//! or because they are admins) or chosen but not set up get a setup-only
//! session and land on `/setup`. A blocked address sees the same page
//! whatever username it typed.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use countersign_core::approve::protocol::RequestState;
use maud::{html, Markup};
use serde::{Deserialize, Serialize};

use super::browser;
use super::layout::{error, flash, info, page};
use super::session::{
    clear_cookie, cookie, current, redirect_with, set_cookie, start_session, FLOW_COOKIE,
    SESSION_COOKIE,
};
use crate::accounts::{check_username, name_key, SignInMethod};
use crate::api::extract::{user_agent, ClientIp};
use crate::api::pairing::check_password;
use crate::api::signin::{start_approve, ApproveStart};
use crate::crypto::{random_token, sha256};
use crate::error::ServerError;
use crate::state::Shared;
use crate::store::{
    EmailCodeOutcome, LoginFlow, NewEmailToken, NewEvent, SecondStep, SessionScope, UserRecord,
};
use crate::twostep::guard::{self, Attempt, Attempter, Refusal};
use crate::twostep::status::{is_enforced, Factors};
use crate::twostep::{email, otp};

/// Any failure inside a page handler: shown as a plain error page.
pub(crate) struct PageError(ServerError);

impl From<ServerError> for PageError {
    fn from(e: ServerError) -> Self {
        Self(e)
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, text) = match &self.0 {
            ServerError::InvalidInput { reason } => (StatusCode::BAD_REQUEST, reason.clone()),
            ServerError::Mail(_) => (
                StatusCode::BAD_GATEWAY,
                "The mail server did not accept the message. Try again later.".to_owned(),
            ),
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on the server. Try again.".to_owned(),
            ),
        };
        (status, text).into_response()
    }
}

type PageResult = Result<Response, PageError>;

/// `?m=` on pages.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Flash {
    pub m: Option<String>,
}

fn username_form(name: &str, username: &str, notice: Markup, status: StatusCode) -> Response {
    page(
        status,
        name,
        "Sign in",
        None,
        html! {
            (notice)
            form method="post" action="/signin" {
                label for="username" { "Username" }
                input #username name="username" autocomplete="username" required autofocus value=(username);
                button type="submit" id="next" { "Next" }
            }
        },
    )
}

fn password_form(name: &str, username: &str, notice: Markup, status: StatusCode) -> Response {
    page(
        status,
        name,
        "Sign in",
        None,
        html! {
            (notice)
            p { "Signing in as " strong { (username) } ". " a href="/signin" { "Not you?" } }
            form method="post" action="/signin/password" {
                input type="hidden" name="username" value=(username);
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required autofocus;
                button type="submit" id="signin" { "Sign in" }
            }
        },
    )
}

/// The page every attempt from a blocked address gets.
fn blocked_page(name: &str) -> Response {
    page(
        StatusCode::FORBIDDEN,
        name,
        "Sign-in blocked",
        None,
        error("Too many failed sign-ins came from your network address, so it is blocked for now. Try again later or ask an administrator to unblock it."),
    )
}

/// `GET /signin`.
pub(crate) async fn username_page(
    State(shared): State<Arc<Shared>>,
    Query(f): Query<Flash>,
) -> Response {
    username_form(&shared.name, "", flash(f.m.as_deref()), StatusCode::OK)
}

/// `POST /signin` form.
#[derive(Debug, Deserialize)]
pub(crate) struct UsernameForm {
    username: String,
}

/// The account named by what someone typed.
async fn lookup(shared: &Shared, typed: &str) -> Result<Option<UserRecord>, ServerError> {
    Ok(shared.store.find_user(name_key(typed)).await?)
}

/// `POST /signin`: the password page, or the phone for passwordless users.
pub(crate) async fn username(
    State(shared): State<Arc<Shared>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<UsernameForm>,
) -> PageResult {
    let username = form.username.trim();
    if check_username(username).is_err() {
        return Ok(username_form(
            &shared.name,
            "",
            error("Enter your username."),
            StatusCode::BAD_REQUEST,
        ));
    }
    let user = lookup(&shared, username).await?;
    let known = match &user {
        Some(u) => browser::known_for(&shared, &headers, &u.username).await?,
        None => None,
    };
    if known.is_none() && guard::check_ip(&shared, &ip).await?.is_err() {
        return Ok(blocked_page(&shared.name));
    }
    if let Some(user) = user {
        if user.method == SignInMethod::Approve {
            return start_flow(&shared, &user.username, None, None).await;
        }
    }
    Ok(password_form(
        &shared.name,
        username,
        html! {},
        StatusCode::OK,
    ))
}

/// `POST /signin/password` form.
#[derive(Debug, Deserialize)]
pub(crate) struct PasswordForm {
    username: String,
    password: String,
}

/// `POST /signin/password`.
pub(crate) async fn password(
    State(shared): State<Arc<Shared>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> PageResult {
    let typed = form.username.trim().to_owned();
    if check_username(&typed).is_err() {
        return Ok(Redirect::to("/signin").into_response());
    }
    let key = name_key(&typed);
    let user = shared.store.find_user(key.clone()).await?;
    let account = user.as_ref().map_or(key, |u| u.username.clone());
    let known = browser::known_for(&shared, &headers, &account).await?;
    let who = Attempter {
        account: &account,
        ip: &ip,
        known_browser: known.as_deref(),
    };
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    if let Err(e) = check_password(&shared, &who, &form.password, hash).await {
        return Ok(match e.code() {
            "ip_blocked" => blocked_page(&shared.name),
            "invalid_credentials" => password_form(
                &shared.name,
                &typed,
                error("Wrong username or password."),
                StatusCode::UNAUTHORIZED,
            ),
            _ => password_form(
                &shared.name,
                &typed,
                error(&sentence(e.message())),
                e.status(),
            ),
        });
    }
    let Some(user) = user else {
        return Ok(Redirect::to("/signin").into_response());
    };
    after_first_factor(&shared, &headers, &user).await
}

/// Whether `user` must set 2-step verification up before anything else:
/// their method asks for a second step they do not have, or it is enforced
/// for them (individually, by group, or because they are an admin) and off.
pub(crate) fn needs_setup(user: &UserRecord, factors: Factors, enforced_groups: &[String]) -> bool {
    match user.method {
        SignInMethod::Password => is_enforced(user, enforced_groups) || user.is_admin,
        SignInMethod::PasswordApprove => !factors.any_second_step(),
        SignInMethod::Approve => !factors.approve,
    }
}

/// What happens once the first factor passed.
async fn after_first_factor(shared: &Shared, headers: &HeaderMap, user: &UserRecord) -> PageResult {
    let groups = shared.store.enforced_groups().await?;
    let factors = factors_of(shared, user).await?;
    if needs_setup(user, factors, &groups) {
        let cookie = start_session(shared, &user.username, SessionScope::Setup, false).await?;
        shared.log(format_args!("sign-in needs 2-step setup"));
        return Ok(redirect_with("/setup", vec![cookie]));
    }
    if user.method != SignInMethod::Password {
        return start_flow(shared, &user.username, None, None).await;
    }
    // 2-step verification is off for this account: the password is its
    // whole sign-in.
    let mut cookies = vec![start_session(shared, &user.username, SessionScope::Full, true).await?];
    cookies.extend(browser::remember(shared, headers, &user.username, &user_agent(headers)).await?);
    shared.log(format_args!("web password sign-in"));
    Ok(redirect_with("/account", cookies))
}

/// The second steps `user` has set up.
pub(crate) async fn factors_of(shared: &Shared, user: &UserRecord) -> Result<Factors, ServerError> {
    let devices = shared.store.devices(user.username.clone()).await?;
    let active = devices.iter().filter(|d| d.revoked_at.is_none()).count();
    Ok(Factors::of(user, u32::try_from(active).unwrap_or(u32::MAX)))
}

/// Starts a login flow for `account` (its first factor passed) and sends
/// the browser to the second step. With `reauth_of`, the flow re-verifies
/// that session and then returns to `next`.
pub(crate) async fn start_flow(
    shared: &Shared,
    account: &str,
    reauth_of: Option<[u8; 32]>,
    next: Option<String>,
) -> PageResult {
    let token = random_token()?;
    let now = shared.now();
    shared
        .store
        .create_flow(LoginFlow {
            token_hash: sha256(token.as_bytes()),
            account: account.to_owned(),
            created_at: now,
            expires_at: now + shared.limits.login_flow_ttl_s,
            request_id: None,
            reauth_of,
            next,
        })
        .await?;
    Ok(redirect_with(
        "/signin/verify",
        vec![set_cookie(
            FLOW_COOKIE,
            &token,
            shared.limits.login_flow_ttl_s,
        )],
    ))
}

/// The flow of the request's cookie and its user.
async fn flow_of(
    shared: &Shared,
    headers: &HeaderMap,
) -> Result<Option<(LoginFlow, UserRecord)>, ServerError> {
    let Some(token) = cookie(headers, FLOW_COOKIE) else {
        return Ok(None);
    };
    let Some(flow) = shared
        .store
        .flow(sha256(token.as_bytes()), shared.now())
        .await?
    else {
        return Ok(None);
    };
    let Some(user) = shared.store.user(flow.account.clone()).await? else {
        return Ok(None);
    };
    Ok(Some((flow, user)))
}

fn expired() -> Response {
    redirect_with("/signin?m=expired", vec![clear_cookie(FLOW_COOKIE)])
}

/// How a flow's second step was passed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Passed {
    /// Approve, TOTP: the account's real second factor.
    SecondFactor(&'static str),
    /// An emailed emergency code: a recovery step, so the session is not
    /// counted as verified for security changes.
    Recovery,
}

/// Ends the flow (atomically: of two requests finishing one flow, one
/// wins) and signs in fully — or, for a re-authentication, marks the
/// session verified and returns to where it came from.
async fn complete(
    shared: &Shared,
    headers: &HeaderMap,
    flow: &LoginFlow,
    passed: Passed,
    approved_request: Option<&str>,
) -> PageResult {
    let Some(flow) = shared
        .store
        .consume_flow(flow.token_hash, shared.now())
        .await?
    else {
        return Ok(expired());
    };
    if let Some(of) = flow.reauth_of {
        if passed != Passed::Recovery
            && shared.store.mark_session_verified(of, shared.now()).await?
        {
            shared.log(format_args!("re-authenticated"));
            let next = flow
                .next
                .as_deref()
                .filter(|n| safe_next(n))
                .unwrap_or("/account");
            let sep = if next.contains('?') { '&' } else { '?' };
            return Ok(redirect_with(
                &format!("{next}{sep}m=verified"),
                vec![clear_cookie(FLOW_COOKIE)],
            ));
        }
        return Ok(redirect_with("/account", vec![clear_cookie(FLOW_COOKIE)]));
    }
    let verified = matches!(passed, Passed::SecondFactor(_));
    let mut cookies = match approved_request {
        // The approval's one session: issued once, whoever asks first.
        Some(request_id) => {
            let token = random_token()?;
            let now = shared.now();
            let session = crate::store::NewSession {
                token_hash: sha256(token.as_bytes()),
                account: flow.account.clone(),
                created_at: now,
                expires_at: now + shared.limits.session_ttl_s,
                scope: SessionScope::Full,
                verified_at: now,
            };
            if !shared
                .store
                .issue_session(request_id.to_owned(), session)
                .await?
            {
                return Ok(redirect_with(
                    "/signin?m=expired",
                    vec![clear_cookie(FLOW_COOKIE)],
                ));
            }
            vec![set_cookie(
                SESSION_COOKIE,
                &token,
                shared.limits.session_ttl_s,
            )]
        }
        None => vec![start_session(shared, &flow.account, SessionScope::Full, verified).await?],
    };
    cookies.push(clear_cookie(FLOW_COOKIE));
    cookies.extend(browser::remember(shared, headers, &flow.account, &user_agent(headers)).await?);
    let how = match passed {
        Passed::SecondFactor(how) => how,
        Passed::Recovery => "backup email code",
    };
    shared.log(format_args!("web sign-in with {how}"));
    Ok(redirect_with("/account", cookies))
}

/// Whether `next` is one of our own pages (a path, never another site).
pub(crate) fn safe_next(next: &str) -> bool {
    (next.starts_with("/account") || next.starts_with("/admin") || next.starts_with("/setup"))
        && !next.contains("//")
        && next.chars().all(|c| c.is_ascii_graphic())
}

/// Which second steps a flow may use.
#[derive(Clone, Copy)]
struct Offer {
    approve: bool,
    otp: bool,
    email: bool,
}

async fn offer(shared: &Shared, flow: &LoginFlow, user: &UserRecord) -> Result<Offer, ServerError> {
    let f = factors_of(shared, user).await?;
    // Emailed codes are a recovery step after the password, never a factor
    // on their own: not for passwordless accounts (whose first step is just
    // the username), and not to re-verify a session.
    let email = f.email
        && shared.mailer.is_some()
        && user.method.needs_password()
        && flow.reauth_of.is_none();
    Ok(Offer {
        approve: f.approve,
        otp: f.otp && user.method != SignInMethod::Approve,
        email,
    })
}

/// `?method=approve|otp|email`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct MethodQuery {
    method: Option<String>,
}

fn other_methods(offer: Offer, current: &str) -> Markup {
    let items: Vec<(&str, &str)> = [
        (offer.approve, "approve", "Approve on my phone"),
        (offer.otp, "otp", "Enter a code from my authenticator app"),
        (offer.email, "email", "Email me a backup code"),
    ]
    .into_iter()
    .filter(|(ok, key, _)| *ok && *key != current)
    .map(|(_, key, label)| (key, label))
    .collect();
    html! {
        @if !items.is_empty() {
            details.other open[current.is_empty()] {
                summary { "Other sign-in methods" }
                ul {
                    @for (key, label) in items {
                        li { a href={ "/signin/verify?method=" (key) } id={ "method-" (key) } { (label) } }
                    }
                }
            }
        }
    }
}

fn otp_form() -> Markup {
    html! {
        form method="post" action="/signin/otp" {
            label for="code" { "6-digit code from your authenticator app" }
            input #code name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" required autofocus;
            button type="submit" id="verify" { "Verify" }
        }
    }
}

fn email_form(masked: Option<&str>) -> Markup {
    html! {
        @if let Some(m) = masked {
            form method="post" action="/signin/email/send" {
                p { "We can email a one-time code to " strong { (m) } "." }
                button type="submit" id="send-code" { "Email me a code" }
            }
        }
        form method="post" action="/signin/email" {
            label for="email-code" { "8-digit code from the email" }
            input #email-code name="code" inputmode="numeric" autocomplete="one-time-code" required;
            button type="submit" id="verify-email-code" { "Sign in" }
        }
    }
}

fn verify_shell(shared: &Shared, status: StatusCode, body: Markup) -> Response {
    page(status, &shared.name, "2-step verification", None, body)
}

/// `GET /signin/verify`: the second step.
pub(crate) async fn verify_page(
    State(shared): State<Arc<Shared>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Query(q): Query<MethodQuery>,
) -> PageResult {
    let Some((flow, user)) = flow_of(&shared, &headers).await? else {
        return Ok(expired());
    };
    let offer = offer(&shared, &flow, &user).await?;
    let preferred = match user.second_step {
        SecondStep::Approve if offer.approve => "approve",
        SecondStep::Otp if offer.otp => "otp",
        _ if offer.approve => "approve",
        _ if offer.otp => "otp",
        _ if offer.email => "email",
        _ => "",
    };
    let method = match q.method.as_deref() {
        Some("approve") if offer.approve => "approve",
        Some("otp") if offer.otp => "otp",
        Some("email") if offer.email => "email",
        _ => preferred,
    };
    match method {
        "approve" => approve_page(&shared, &headers, &flow, &user, offer, ip).await,
        "otp" => Ok(verify_shell(
            &shared,
            StatusCode::OK,
            html! { (otp_form()) (other_methods(offer, "otp")) },
        )),
        "email" => {
            let masked = user.email.as_deref().map(email::masked);
            Ok(verify_shell(
                &shared,
                StatusCode::OK,
                html! { (email_form(masked.as_deref())) (other_methods(offer, "email")) },
            ))
        }
        _ => Ok(verify_shell(
            &shared,
            StatusCode::CONFLICT,
            error("No second step is set up for this account. Ask an administrator."),
        )),
    }
}

async fn approve_page(
    shared: &Shared,
    headers: &HeaderMap,
    flow: &LoginFlow,
    user: &UserRecord,
    offer: Offer,
    ip: String,
) -> PageResult {
    // Reuse the flow's request while it is pending (a reload must not start
    // a second one); a new request from this flow replaces its old one.
    let mut existing = None;
    if let Some(id) = &flow.request_id {
        if let Some(r) = shared.store.request(id.clone()).await? {
            if r.effective_state(shared.now()) == RequestState::Pending {
                existing = Some((r.number, r.context.expires_at));
            }
        }
    }
    let (number, expires_at) = match existing {
        Some(x) => x,
        None => {
            let known = browser::known_for(shared, headers, &user.username).await?;
            let start = ApproveStart {
                account: &user.username,
                ip,
                client: user_agent(headers),
                flow_hash: Some(flow.token_hash),
                known_browser: known.as_deref(),
                new_device: None,
            };
            match start_approve(shared, start).await {
                Ok(started) => {
                    shared
                        .store
                        .set_flow_request(flow.token_hash, started.request_id.clone())
                        .await?;
                    (started.number, started.expires_at)
                }
                Err(e) => {
                    return Ok(verify_shell(
                        shared,
                        e.status(),
                        html! { (error(&sentence(e.message()))) (other_methods(offer, "")) },
                    ))
                }
            }
        }
    };
    let seconds = (expires_at - shared.now()).max(0);
    Ok(verify_shell(
        shared,
        StatusCode::OK,
        html! {
            section.approve {
                p { "Open Countersign on your phone and type this number:" }
                p.number id="number" { (format!("{number:02}")) }
                p id="approve-status" data-poll="/signin/status" role="status" {
                    "Waiting for your phone (" (seconds) " s)…"
                }
                form method="post" action="/signin/finish" id="finish-form" {
                    button type="submit" id="continue" { "Continue" }
                }
            }
            (other_methods(offer, "approve"))
        },
    ))
}

/// An API message as a sentence for a page ("too many …" → "Too many ….").
fn sentence(message: &str) -> String {
    let mut out: String = message
        .chars()
        .take(1)
        .flat_map(char::to_uppercase)
        .chain(message.chars().skip(1))
        .collect();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// `GET /signin/status` answer.
#[derive(Debug, Serialize)]
pub(crate) struct FlowStatus {
    state: &'static str,
}

/// `?wait=N`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct WaitQuery {
    wait: Option<u64>,
}

/// `GET /signin/status`: the flow's Approve request state (long-poll).
pub(crate) async fn status(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<WaitQuery>,
) -> Result<Json<FlowStatus>, PageError> {
    let none = Json(FlowStatus { state: "none" });
    let Some((flow, _)) = flow_of(&shared, &headers).await? else {
        return Ok(none);
    };
    let Some(id) = flow.request_id else {
        return Ok(none);
    };
    let found = crate::api::await_request::<PageError>(&shared, &id, q.wait, |_| Ok(())).await?;
    Ok(match found {
        Some((_, state)) => Json(FlowStatus {
            state: state.as_str(),
        }),
        None => none,
    })
}

/// `POST /signin/finish`: completes an approved flow.
pub(crate) async fn finish(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> PageResult {
    let Some((flow, user)) = flow_of(&shared, &headers).await? else {
        return Ok(expired());
    };
    let Some(id) = flow.request_id.clone() else {
        return Ok(Redirect::to("/signin/verify?method=approve").into_response());
    };
    let Some(record) = shared.store.request(id.clone()).await? else {
        return Ok(expired());
    };
    let offer = offer(&shared, &flow, &user).await?;
    let message = match record.effective_state(shared.now()) {
        RequestState::Pending => {
            return Ok(Redirect::to("/signin/verify?method=approve").into_response())
        }
        RequestState::Approved if record.account == flow.account => {
            return complete(
                &shared,
                &headers,
                &flow,
                Passed::SecondFactor("approve"),
                Some(&id),
            )
            .await
        }
        RequestState::Approved => "This approval is not for this sign-in. Start again.",
        RequestState::Denied => "The sign-in was denied on your phone.",
        RequestState::Reported => {
            "The sign-in was reported as not you. New requests are paused for a while."
        }
        RequestState::Expired => "The request expired before it was approved.",
    };
    Ok(verify_shell(
        &shared,
        StatusCode::UNAUTHORIZED,
        html! {
            (error(message))
            p { a href="/signin/verify?method=approve" id="retry" { "Send a new request" } }
            (other_methods(offer, ""))
        },
    ))
}

/// A code form.
#[derive(Debug, Deserialize)]
pub(crate) struct CodeForm {
    code: String,
}

/// A failed second step (already counted by its reservation): the page
/// again with `message`, or the blocked page.
fn second_step_failed(shared: &Shared, blocked: bool, message: &str, body: Markup) -> PageResult {
    if blocked {
        return Ok(blocked_page(&shared.name));
    }
    Ok(verify_shell(
        shared,
        StatusCode::UNAUTHORIZED,
        html! { (error(message)) (body) },
    ))
}

/// The answer to a second-step guess refused before it was checked.
fn refused_page(shared: &Shared, r: Refusal, body: Markup) -> Response {
    match r {
        Refusal::Blocked => blocked_page(&shared.name),
        Refusal::Wait(s) => verify_shell(
            shared,
            StatusCode::TOO_MANY_REQUESTS,
            html! {
                (error(&format!("Too many wrong codes. Try again in {}.", guard::wait_words(s))))
                (body)
            },
        ),
    }
}

/// `POST /signin/otp`.
pub(crate) async fn otp(
    State(shared): State<Arc<Shared>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> PageResult {
    let Some((flow, user)) = flow_of(&shared, &headers).await? else {
        return Ok(expired());
    };
    let offer = offer(&shared, &flow, &user).await?;
    let again = html! { (otp_form()) (other_methods(offer, "otp")) };
    let (Some(secret), true) = (&user.otp_secret, offer.otp) else {
        return Ok(Redirect::to("/signin/verify").into_response());
    };
    let known = browser::known_for(&shared, &headers, &user.username).await?;
    let who = Attempter {
        account: &user.username,
        ip: &ip,
        known_browser: known.as_deref(),
    };
    let ticket = match guard::reserve(&shared, Attempt::Otp, &who).await? {
        Ok(t) => t,
        Err(r) => return Ok(refused_page(&shared, r, again)),
    };
    let secret = shared.seed_key.open(&user.username, secret)?;
    let step = otp::matching_step(&secret, &form.code, shared.now())?;
    let fresh = match step {
        Some(step) => {
            shared
                .store
                .use_otp_step(user.username.clone(), step)
                .await?
        }
        None => false,
    };
    if fresh {
        ticket.succeeded(&shared).await?;
        return complete(&shared, &headers, &flow, Passed::SecondFactor("otp"), None).await;
    }
    let blocked = ticket.failed(&shared).await?;
    let message = if step.is_some() {
        "That code was already used. Wait for the next code and enter it."
    } else {
        "Wrong code. Check the time on your phone and try again."
    };
    second_step_failed(&shared, blocked, message, again)
}

/// `POST /signin/email/send`: mails an emergency code.
pub(crate) async fn email_send(
    State(shared): State<Arc<Shared>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> PageResult {
    let Some((flow, user)) = flow_of(&shared, &headers).await? else {
        return Ok(expired());
    };
    let offer = offer(&shared, &flow, &user).await?;
    let (Some(mailer), Some(address), true) = (&shared.mailer, &user.email, offer.email) else {
        return Ok(Redirect::to("/signin/verify").into_response());
    };
    let who = Attempter {
        account: &user.username,
        ip: &ip,
        known_browser: None,
    };
    let masked = email::masked(address);
    if let Err(r) = guard::reserve(&shared, Attempt::EmailSend, &who)
        .await?
        .map(guard::Ticket::spent)
    {
        let wait = match r {
            Refusal::Wait(s) => guard::wait_words(s),
            Refusal::Blocked => "a while".to_owned(),
        };
        return Ok(verify_shell(
            &shared,
            StatusCode::TOO_MANY_REQUESTS,
            html! {
                (error(&format!("We already sent several codes. Use the latest one, or ask for a new one in {wait}.")))
                (email_form(None))
                (other_methods(offer, "email"))
            },
        ));
    }
    let code = email::new_code()?;
    let now = shared.now();
    let outcome = shared
        .store
        .create_email_code(
            user.username.clone(),
            NewEmailToken {
                token_hash: shared.seed_key.emergency_code_digest(&user.username, &code),
                email: address.clone(),
                created_at: now,
                expires_at: now + shared.limits.email_code_ttl_s,
            },
        )
        .await?;
    let body = match outcome {
        EmailCodeOutcome::Created => {
            let minutes = shared.limits.email_code_ttl_s / 60;
            mailer
                .send(
                    address,
                    &format!("Your {} sign-in code", shared.name),
                    format!(
                        "Someone (hopefully you) asked to sign in to {} as {} with a backup code.\n\n\
                         Your one-time code: {}\n\n\
                         It works once and expires in {minutes} minutes. If this was not you, \
                         change your password: your password was entered correctly.\n",
                        shared.name,
                        user.username,
                        code.as_str()
                    ),
                )
                .await?;
            shared.log(format_args!("emergency code mailed"));
            html! { (info(&format!("We sent a code to {masked}. It expires in {minutes} minutes."))) (email_form(None)) }
        }
        EmailCodeOutcome::NoVerifiedEmail => {
            html! { (error("This account has no verified backup email.")) }
        }
    };
    Ok(verify_shell(
        &shared,
        StatusCode::OK,
        html! { (body) (other_methods(offer, "email")) },
    ))
}

/// `POST /signin/email`: signs in with an emergency code (after the
/// password, for accounts with a verified backup address).
pub(crate) async fn email_code(
    State(shared): State<Arc<Shared>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> PageResult {
    let Some((flow, user)) = flow_of(&shared, &headers).await? else {
        return Ok(expired());
    };
    let offer = offer(&shared, &flow, &user).await?;
    if !offer.email {
        return Ok(Redirect::to("/signin/verify").into_response());
    }
    let again = html! { (email_form(None)) (other_methods(offer, "email")) };
    let known = browser::known_for(&shared, &headers, &user.username).await?;
    let who = Attempter {
        account: &user.username,
        ip: &ip,
        known_browser: known.as_deref(),
    };
    let ticket = match guard::reserve(&shared, Attempt::EmailCode, &who).await? {
        Ok(t) => t,
        Err(r) => return Ok(refused_page(&shared, r, again)),
    };
    let code = email::normalise_code(&form.code);
    let ok = code.len() == email::CODE_DIGITS
        && shared
            .store
            .use_email_code(
                user.username.clone(),
                shared.seed_key.emergency_code_digest(&user.username, &code),
                shared.now(),
            )
            .await?;
    if !ok {
        let blocked = ticket.failed(&shared).await?;
        return second_step_failed(&shared, blocked, "Wrong or expired code.", again);
    }
    ticket.succeeded(&shared).await?;
    shared
        .store
        .add_event(NewEvent {
            time: shared.now(),
            kind: "email_code_used",
            account: Some(user.username.clone()),
            device_id: None,
            request_id: None,
            detail: String::new(),
        })
        .await?;
    complete(&shared, &headers, &flow, Passed::Recovery, None).await
}

/// `POST /signout`.
pub(crate) async fn signout(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> PageResult {
    if let Some(u) = current(&shared, &headers).await? {
        shared.store.delete_session(u.token_hash).await?;
    }
    let mut response = redirect_with("/signin?m=signed_out", vec![clear_cookie(SESSION_COOKIE)]);
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_cookie(FLOW_COOKIE));
    Ok(response)
}
