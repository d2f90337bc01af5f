//! The sign-in pages: username → password → second step → session.
//!
//! After the password (or, for a passwordless account, the username) a
//! login flow is stored and named by the `cs_flow` cookie for a few
//! minutes; the second step then runs against it:
//! - approve: an Approve request is started (the same code path as the JSON
//!   API, so every push-bombing limit applies) and the page shows the number
//!   to pick; the script long-polls `/signin/status` and submits "Continue"
//!   when the phone approves (without the script the user presses it);
//! - TOTP: a 6-digit code, ±1 step, replay refused, guesses limited;
//! - backup email: an 8-digit emergency code mailed on request.
//!
//! Users for whom 2-step verification is enforced or chosen but not set up
//! get a setup-only session and land on `/setup`. Every failure counts
//! towards the client address's auto-block; a blocked address sees the
//! same page whatever username it typed.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use countersign_core::approve::protocol::RequestState;
use maud::{html, Markup};
use serde::{Deserialize, Serialize};

use super::layout::{error, flash, info, page};
use super::session::{
    clear_cookie, cookie, current, redirect_with, set_cookie, start_session, FLOW_COOKIE,
    SESSION_COOKIE,
};
use crate::accounts::{check_username, SignInMethod};
use crate::api::extract::{user_agent, ClientIp};
use crate::api::pairing::verify_user_password;
use crate::api::signin::start_approve;
use crate::api::{enabled, wait_duration, wait_for};
use crate::crypto::{random_token, sha256};
use crate::error::ServerError;
use crate::state::Shared;
use crate::store::{
    EmailCodeOutcome, LoginFlow, NewEmailToken, NewEvent, SecondStep, SessionScope, UserRecord,
};
use crate::twostep::status::{is_enforced, Factors};
use crate::twostep::{email, guard, otp};

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

/// `POST /signin`: the password page, or the phone for passwordless users.
pub(crate) async fn username(
    State(shared): State<Arc<Shared>>,
    ClientIp(ip): ClientIp,
    Form(form): Form<UsernameForm>,
) -> PageResult {
    if guard::check_ip(&shared, &ip).await?.is_err() {
        return Ok(blocked_page(&shared.name));
    }
    let username = form.username.trim();
    if check_username(username).is_err() {
        return Ok(username_form(
            &shared.name,
            "",
            error("Enter your username."),
            StatusCode::BAD_REQUEST,
        ));
    }
    if let Some(user) = shared.store.user(username.to_owned()).await? {
        if user.method == SignInMethod::Approve {
            return start_flow(&shared, &user.username, Some(SecondStep::Approve)).await;
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
    Form(form): Form<PasswordForm>,
) -> PageResult {
    let username = form.username.trim().to_owned();
    if check_username(&username).is_err() {
        return Ok(Redirect::to("/signin").into_response());
    }
    let user = shared.store.user(username.clone()).await?;
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    if let Err(e) = verify_user_password(&shared, &username, &form.password, &ip, hash).await {
        return Ok(match e.code() {
            "ip_blocked" => blocked_page(&shared.name),
            "invalid_credentials" => password_form(
                &shared.name,
                &username,
                error("Wrong username or password."),
                StatusCode::UNAUTHORIZED,
            ),
            _ => password_form(&shared.name, &username, error(e.message()), e.status()),
        });
    }
    let Some(user) = user else {
        return Ok(Redirect::to("/signin").into_response());
    };
    after_first_factor(&shared, &user).await
}

/// What happens once the first factor passed.
async fn after_first_factor(shared: &Shared, user: &UserRecord) -> PageResult {
    let groups = shared.store.enforced_groups().await?;
    let factors = factors_of(shared, user).await?;
    let wants_second = user.method != SignInMethod::Password;
    if wants_second && factors.any_second_step() {
        return start_flow(shared, &user.username, None).await;
    }
    if wants_second || is_enforced(user, &groups) {
        let cookie = start_session(shared, &user.username, SessionScope::Setup).await?;
        shared.log(format_args!("sign-in needs 2-step setup"));
        return Ok(redirect_with("/setup", vec![cookie]));
    }
    let cookie = start_session(shared, &user.username, SessionScope::Full).await?;
    shared.log(format_args!("web password sign-in"));
    Ok(redirect_with("/account", vec![cookie]))
}

/// The second steps `user` has set up.
pub(crate) async fn factors_of(shared: &Shared, user: &UserRecord) -> Result<Factors, ServerError> {
    let devices = shared.store.devices(user.username.clone()).await?;
    let active = devices.iter().filter(|d| d.revoked_at.is_none()).count();
    Ok(Factors::of(user, u32::try_from(active).unwrap_or(u32::MAX)))
}

async fn start_flow(shared: &Shared, account: &str, method: Option<SecondStep>) -> PageResult {
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
        })
        .await?;
    let to = match method {
        Some(m) => format!("/signin/verify?method={}", m.as_str()),
        None => "/signin/verify".to_owned(),
    };
    Ok(redirect_with(
        &to,
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

/// Ends the flow and signs in fully.
async fn complete(shared: &Shared, flow: &LoginFlow, how: &str) -> PageResult {
    shared.store.delete_flow(flow.token_hash).await?;
    let cookie = start_session(shared, &flow.account, SessionScope::Full).await?;
    shared.log(format_args!("web sign-in with {how}"));
    Ok(redirect_with(
        "/account",
        vec![cookie, clear_cookie(FLOW_COOKIE)],
    ))
}

/// Which second steps a flow may use.
#[derive(Clone, Copy)]
struct Offer {
    approve: bool,
    otp: bool,
    email: bool,
}

async fn offer(shared: &Shared, user: &UserRecord) -> Result<Offer, ServerError> {
    let f = factors_of(shared, user).await?;
    if user.method == SignInMethod::Approve {
        return Ok(Offer {
            approve: f.approve,
            otp: false,
            email: f.email && shared.mailer.is_some(),
        });
    }
    Ok(Offer {
        approve: f.approve,
        otp: f.otp,
        email: f.email && shared.mailer.is_some(),
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
    let offer = offer(&shared, &user).await?;
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
        "approve" => approve_page(&shared, &flow, &user, offer, ip, user_agent(&headers)).await,
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
    flow: &LoginFlow,
    user: &UserRecord,
    offer: Offer,
    ip: String,
    ua: String,
) -> PageResult {
    // Reuse the flow's request while it is pending (a reload must not start
    // a second one, which the one-pending rule would refuse anyway).
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
        None => match start_approve(shared, &user.username, ip, ua).await {
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
                    html! { (error(e.message())) (other_methods(offer, "")) },
                ))
            }
        },
    };
    let seconds = (expires_at - shared.now()).max(0);
    Ok(verify_shell(
        shared,
        StatusCode::OK,
        html! {
            section.approve {
                p { "Approve on your phone — pick" }
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
    let until = tokio::time::Instant::now() + wait_duration(q.wait);
    let notify = shared.hub.request(&id);
    loop {
        let notified = enabled(&notify);
        let Some(record) = shared.store.request(id.clone()).await? else {
            return Ok(none);
        };
        let state = record.effective_state(shared.now());
        let real_now = tokio::time::Instant::now();
        if state != RequestState::Pending || real_now >= until || *shared.shutdown.borrow() {
            return Ok(Json(FlowStatus {
                state: state.as_str(),
            }));
        }
        let to_expiry = std::time::Duration::from_secs(
            u64::try_from(record.context.expires_at - shared.now()).unwrap_or(0),
        );
        let mut notified = notified;
        wait_for(&shared, notified.as_mut(), until.min(real_now + to_expiry)).await;
    }
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
    let offer = offer(&shared, &user).await?;
    let message = match record.effective_state(shared.now()) {
        RequestState::Pending => {
            return Ok(Redirect::to("/signin/verify?method=approve").into_response())
        }
        RequestState::Approved => {
            let token = random_token()?;
            let now = shared.now();
            let session = crate::store::NewSession {
                token_hash: sha256(token.as_bytes()),
                account: flow.account.clone(),
                created_at: now,
                expires_at: now + shared.limits.session_ttl_s,
                scope: SessionScope::Full,
            };
            if shared.store.issue_session(id, session).await? {
                shared.store.delete_flow(flow.token_hash).await?;
                shared.log(format_args!("web sign-in with approve"));
                return Ok(redirect_with(
                    "/account",
                    vec![
                        set_cookie(SESSION_COOKIE, &token, shared.limits.session_ttl_s),
                        clear_cookie(FLOW_COOKIE),
                    ],
                ));
            }
            "This approval was already used. Start again."
        }
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

/// A failed second step: counts towards the address block and the
/// account's limit; shows `message` with `form`.
async fn second_step_failed(
    shared: &Shared,
    ip: &str,
    key: String,
    message: &str,
    body: Markup,
) -> PageResult {
    if guard::fail(shared, ip, Some(key)).await? {
        return Ok(blocked_page(&shared.name));
    }
    Ok(verify_shell(
        shared,
        StatusCode::UNAUTHORIZED,
        html! { (error(message)) (body) },
    ))
}

fn too_many(shared: &Shared, body: Markup) -> Response {
    verify_shell(
        shared,
        StatusCode::TOO_MANY_REQUESTS,
        html! { (error("Too many wrong codes. Wait a few minutes, then try again.")) (body) },
    )
}

/// `POST /signin/otp`.
pub(crate) async fn otp(
    State(shared): State<Arc<Shared>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> PageResult {
    if guard::check_ip(&shared, &ip).await?.is_err() {
        return Ok(blocked_page(&shared.name));
    }
    let Some((flow, user)) = flow_of(&shared, &headers).await? else {
        return Ok(expired());
    };
    let offer = offer(&shared, &user).await?;
    let again = html! { (otp_form()) (other_methods(offer, "otp")) };
    let (Some(secret), true) = (&user.otp_secret, offer.otp) else {
        return Ok(Redirect::to("/signin/verify").into_response());
    };
    let key = guard::otp_key(&user.username);
    if guard::over_limit(
        &shared,
        key.clone(),
        shared.limits.second_step_failures_per_user,
    )
    .await?
    {
        return Ok(too_many(&shared, again));
    }
    let secret = shared.seed_key.open(&user.username, secret)?;
    match otp::matching_step(&secret, &form.code, shared.now())? {
        None => {
            second_step_failed(
                &shared,
                &ip,
                key,
                "Wrong code. Check the time on your phone and try again.",
                again,
            )
            .await
        }
        Some(step) => {
            if shared
                .store
                .use_otp_step(user.username.clone(), step)
                .await?
            {
                complete(&shared, &flow, "otp").await
            } else {
                second_step_failed(
                    &shared,
                    &ip,
                    key,
                    "That code was already used. Wait for the next code and enter it.",
                    again,
                )
                .await
            }
        }
    }
}

/// `POST /signin/email/send`: mails an emergency code.
pub(crate) async fn email_send(
    State(shared): State<Arc<Shared>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> PageResult {
    if guard::check_ip(&shared, &ip).await?.is_err() {
        return Ok(blocked_page(&shared.name));
    }
    let Some((_flow, user)) = flow_of(&shared, &headers).await? else {
        return Ok(expired());
    };
    let offer = offer(&shared, &user).await?;
    let (Some(mailer), Some(address), true) = (&shared.mailer, &user.email, offer.email) else {
        return Ok(Redirect::to("/signin/verify").into_response());
    };
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
            shared.limits.email_codes_per_hour,
            3600,
        )
        .await?;
    let masked = email::masked(address);
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
        EmailCodeOutcome::RateLimited => html! {
            (error("We already sent several codes in the last hour. Use the latest one or wait."))
            (email_form(None))
        },
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

/// `POST /signin/email`: signs in with an emergency code.
pub(crate) async fn email_code(
    State(shared): State<Arc<Shared>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> PageResult {
    if guard::check_ip(&shared, &ip).await?.is_err() {
        return Ok(blocked_page(&shared.name));
    }
    let Some((flow, user)) = flow_of(&shared, &headers).await? else {
        return Ok(expired());
    };
    let offer = offer(&shared, &user).await?;
    let again = html! { (email_form(None)) (other_methods(offer, "email")) };
    let key = guard::email_key(&user.username);
    if guard::over_limit(
        &shared,
        key.clone(),
        shared.limits.second_step_failures_per_user,
    )
    .await?
    {
        return Ok(too_many(&shared, again));
    }
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
        return second_step_failed(&shared, &ip, key, "Wrong or expired code.", again).await;
    }
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
    complete(&shared, &flow, "backup email code").await
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
