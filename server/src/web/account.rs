//! The account security page and the forced-setup page.
//!
//! Security page (full session): the sign-in method (off, password +
//! approve/TOTP, passwordless approve), the authenticator app (enroll with a
//! QR code and the text secret, confirmed by a code before it counts), the
//! paired phones (pair with a QR invitation, revoke), and the backup email
//! (verified by a mailed link). Changing the sign-in method signs the user
//! out everywhere. A change that would leave 2-step verification on with
//! nothing to verify with is refused, as is turning it off when an admin
//! enforces it.
//!
//! Setup page (setup-only session): a user who must use 2-step verification
//! and has none set up can only enroll an authenticator app or pair a
//! phone, then "Finish setup", which turns it on and signs out everywhere.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use base64::Engine as _;
use maud::{html, Markup};
use serde::Deserialize;

use super::browser;
use super::layout::{error, flash, info, page};
use super::session::{current, WebUser};
use super::signin::{factors_of, safe_next, start_flow, Flash, PageError};
use crate::accounts::{pairing_invite, SignInMethod};
use crate::api::extract::ClientIp;
use crate::api::pairing::check_password;
use crate::crypto::{random_token, sha256};
use crate::error::ServerError;
use crate::notify::{announce, Change};
use crate::state::Shared;
use crate::store::{NewEmailToken, SecondStep, SessionScope, UserRecord};
use crate::twostep::guard::Attempter;
use crate::twostep::status::{is_enforced, status, Factors, TwoStepStatus};
use crate::twostep::{email, otp};

type PageResult = Result<Response, PageError>;

/// The signed-in user, or where to send the browser instead. `setup_ok`:
/// a setup-only session is enough.
async fn require(
    shared: &Shared,
    headers: &HeaderMap,
    setup_ok: bool,
) -> Result<Result<WebUser, Response>, ServerError> {
    Ok(match current(shared, headers).await? {
        None => Err(Redirect::to("/signin").into_response()),
        Some(u) if u.session.scope == SessionScope::Setup && !setup_ok => {
            Err(Redirect::to("/setup").into_response())
        }
        Some(u) => Ok(u),
    })
}

/// Whether `u` may change sign-in security now: a full session whose
/// sign-in (password and second step) was checked in the last few minutes,
/// or a setup session while the account has no second step at all (first
/// enrollment). Otherwise the answer is where to confirm it first.
async fn require_recent(
    shared: &Shared,
    u: &WebUser,
    back_to: &str,
) -> Result<Result<(), Response>, ServerError> {
    match u.session.scope {
        SessionScope::Setup => {
            let f = factors_of(shared, &u.user).await?;
            if f.any_second_step() {
                Ok(Err(Redirect::to("/setup?m=finish_first").into_response()))
            } else {
                Ok(Ok(()))
            }
        }
        SessionScope::Full if u.recently_verified(shared) => Ok(Ok(())),
        SessionScope::Full => Ok(Err(Redirect::to(&format!(
            "/account/reauth?next={}",
            percent_encoding::utf8_percent_encode(back_to, percent_encoding::NON_ALPHANUMERIC)
        ))
        .into_response())),
    }
}

/// `require` + `require_recent` for a form handler.
macro_rules! recent_user {
    ($shared:expr, $headers:expr, $setup_ok:expr, $back:expr) => {{
        let u = match require(&$shared, &$headers, $setup_ok).await? {
            Ok(u) => u,
            Err(r) => return Ok(r),
        };
        if let Err(r) = require_recent(&$shared, &u, $back).await? {
            return Ok(r);
        }
        u
    }};
}

/// Where a form handler returns to.
fn home_of(u: &WebUser) -> &'static str {
    match u.session.scope {
        SessionScope::Setup => "/setup",
        SessionScope::Full => "/account",
    }
}

fn qr_img(data: &str, id: &str) -> Result<Markup, ServerError> {
    let svg = otp::qr_svg(data)?;
    let src = format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    );
    Ok(html! { img.qr id=(id) alt="QR code" src=(src) width="220" height="220"; })
}

/// What the page shows besides the stored state.
#[derive(Default)]
struct Extras {
    notice: Option<Markup>,
    pair: Option<(String, i64)>,
}

fn method_label(user: &UserRecord) -> &'static str {
    match (user.method, user.second_step) {
        (SignInMethod::Password, _) => "Password only",
        (SignInMethod::PasswordApprove, SecondStep::Approve) => {
            "Password, then approve on my phone"
        }
        (SignInMethod::PasswordApprove, SecondStep::Otp) => {
            "Password, then a code from my authenticator app"
        }
        (SignInMethod::Approve, _) => "Passwordless: approve on my phone",
    }
}

async fn otp_section(shared: &Shared, user: &UserRecord) -> Result<Markup, ServerError> {
    let pending = user
        .otp_pending
        .as_ref()
        .map(|p| shared.seed_key.open(&user.username, p))
        .transpose()?;
    Ok(html! {
        section #otp {
            h2 { "Authenticator app" }
            @if user.otp_secret.is_some() {
                p #otp-state { "Set up. Codes from your authenticator app work as a second step." }
                form method="post" action="/account/otp/remove" {
                    button.secondary type="submit" id="otp-remove" { "Remove authenticator app" }
                }
            } @else if let Some(pending) = &pending {
                @let uri = otp::enrollment_uri(&shared.name, &user.username, pending);
                p { "Scan this QR code with Countersign or any authenticator app, then enter the code it shows." }
                (qr_img(&uri, "otp-qr")?)
                p { "Can't scan? Enter this key by hand (time-based, 6 digits, 30 seconds):" }
                p { code #otp-secret { (otp::secret_for_display(pending).as_str()) } }
                form method="post" action="/account/otp/confirm" {
                    label for="otp-code" { "Code from the app" }
                    input #otp-code name="code" inputmode="numeric" autocomplete="one-time-code" required;
                    button type="submit" id="otp-confirm" { "Confirm" }
                }
            } @else {
                p #otp-state { "Not set up." }
                form method="post" action="/account/otp/start" {
                    button type="submit" id="otp-start" { "Set up authenticator app" }
                }
            }
        }
    })
}

async fn phones_section(
    shared: &Shared,
    user: &UserRecord,
    pair: Option<&(String, i64)>,
) -> Result<Markup, ServerError> {
    let devices = shared.store.devices(user.username.clone()).await?;
    let active: Vec<_> = devices
        .into_iter()
        .filter(|d| d.revoked_at.is_none())
        .collect();
    Ok(html! {
        section #phones {
            h2 { "Phones for Approve sign-in" }
            @if active.is_empty() {
                p #no-devices { "No phone is paired." }
            } @else {
                ul #devices {
                    @for d in &active {
                        li {
                            span.device-name { (d.name) } " (" (d.platform) ")"
                            @if d.paired_via == "password" {
                                " — " span.warning { "paired with the password alone" }
                            }
                            form.inline method="post" action="/account/devices/revoke" {
                                input type="hidden" name="device_id" value=(d.id);
                                button.secondary type="submit" { "Remove" }
                            }
                        }
                    }
                }
            }
            @if active.iter().any(|d| d.paired_via == "password") {
                p.hint #password-pairing { "A phone paired with the password alone (before this account had a second step) is marked. If you don't recognise it, remove it and change your password." }
            }
            @if let Some((uri, expires_at)) = pair {
                p { "Scan this with Countersign on your phone (Add → Approve sign-in). It works once, for "
                    ((expires_at - shared.now()) / 60) " minutes." }
                (qr_img(uri, "pair-qr")?)
                p { "Or paste it into the app: " code #pair-uri { (uri) } }
            }
            form method="post" action="/account/pair" {
                button type="submit" id="pair" { "Pair a phone" }
            }
        }
    })
}

fn method_section(user: &UserRecord, factors: Factors, enforced: bool) -> Markup {
    let current = match (user.method, user.second_step) {
        (SignInMethod::Password, _) => "off",
        (SignInMethod::PasswordApprove, SecondStep::Approve) => "approve",
        (SignInMethod::PasswordApprove, SecondStep::Otp) => "otp",
        (SignInMethod::Approve, _) => "passwordless",
    };
    let options = [
        ("off", "Off: password only", !enforced),
        (
            "approve",
            "Password, then approve on my phone",
            factors.approve,
        ),
        (
            "otp",
            "Password, then a code from my authenticator app",
            factors.otp,
        ),
        (
            "passwordless",
            "Passwordless: approve on my phone",
            factors.approve,
        ),
    ];
    html! {
        section #method {
            h2 { "Sign-in method" }
            p { "Now: " strong #method-now { (method_label(user)) } }
            @if enforced { p { "Your administrator requires 2-step verification for this account." } }
            form method="post" action="/account/method" {
                @for (key, label, available) in options {
                    label.choice {
                        input type="radio" name="method" value=(key) id={ "method-" (key) }
                            checked[key == current] disabled[!available];
                        " " (label)
                    }
                }
                p.hint { "Changing it signs you out on every browser and app session." }
                button type="submit" id="method-save" { "Save sign-in method" }
            }
        }
    }
}

fn email_section(shared: &Shared, user: &UserRecord) -> Markup {
    html! {
        section #backup-email {
            h2 { "Backup email" }
            @if shared.mailer.is_none() {
                p { "This server is not set up to send mail." }
            } @else {
                @match (&user.email, user.email_verified) {
                    (Some(e), true) => p #email-state { "Verified: " strong { (e) } ". If you lose your phone you can sign in with a code sent there." },
                    (Some(e), false) => p #email-state { "Waiting for verification: " strong { (e) } ". Open the link we sent." },
                    (None, _) => p #email-state { "Not set. Add one so a lost phone does not lock you out." },
                }
                form method="post" action="/account/email" {
                    label for="email" { "Email address" }
                    input #email type="email" name="email" autocomplete="email" value=(user.email.clone().unwrap_or_default());
                    button type="submit" id="email-save" { "Save and send verification link" }
                }
            }
        }
    }
}

async fn render(
    shared: &Shared,
    u: &WebUser,
    extras: Extras,
    status_code: StatusCode,
) -> PageResult {
    let user = &u.user;
    let groups = shared.store.enforced_groups().await?;
    let factors = factors_of(shared, user).await?;
    let enforced = is_enforced(user, &groups);
    let st = status(user, factors, &groups);
    let notice = extras.notice.unwrap_or_default();
    if u.session.scope == SessionScope::Setup {
        let body = html! {
            (notice)
            p { "2-step verification is required for your account. Set up at least one second step, then finish setup. Until then you cannot do anything else here." }
            (otp_section(shared, user).await?)
            (phones_section(shared, user, extras.pair.as_ref()).await?)
            form method="post" action="/setup/finish" {
                button type="submit" id="setup-finish" disabled[!factors.any_second_step()] { "Finish setup" }
            }
        };
        return Ok(page(
            status_code,
            &shared.name,
            "Set up 2-step verification",
            Some((&user.username, false)),
            body,
        ));
    }
    let body = html! {
        (notice)
        p { "2-step verification: " strong #two-step-status { (st.as_str()) } }
        (method_section(user, factors, enforced))
        (otp_section(shared, user).await?)
        (phones_section(shared, user, extras.pair.as_ref()).await?)
        (email_section(shared, user))
    };
    Ok(page(
        status_code,
        &shared.name,
        "Account security",
        Some((&user.username, user.is_admin)),
        body,
    ))
}

/// `GET /account`.
pub(crate) async fn account_page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(f): Query<Flash>,
) -> PageResult {
    let u = match require(&shared, &headers, false).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let extras = Extras {
        notice: Some(flash(f.m.as_deref())),
        ..Extras::default()
    };
    render(&shared, &u, extras, StatusCode::OK).await
}

/// `GET /setup`.
pub(crate) async fn setup_page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(f): Query<Flash>,
) -> PageResult {
    let u = match require(&shared, &headers, true).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    if u.session.scope == SessionScope::Full {
        return Ok(Redirect::to("/account").into_response());
    }
    let extras = Extras {
        notice: Some(flash(f.m.as_deref())),
        ..Extras::default()
    };
    render(&shared, &u, extras, StatusCode::OK).await
}

/// Re-renders the user's page with an error.
async fn with_error(shared: &Shared, u: &WebUser, text: &str, code: StatusCode) -> PageResult {
    render(
        shared,
        u,
        Extras {
            notice: Some(error(text)),
            ..Extras::default()
        },
        code,
    )
    .await
}

/// `POST /account/otp/start`: a fresh pending seed.
pub(crate) async fn otp_start(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> PageResult {
    let u = recent_user!(shared, headers, true, "/account");
    shared
        .store
        .set_otp_pending(
            u.user.username.clone(),
            Some(
                shared
                    .seed_key
                    .seal(&u.user.username, &otp::new_secret()?)?,
            ),
        )
        .await?;
    Ok(Redirect::to(&format!("{}#otp", home_of(&u))).into_response())
}

/// A code form.
#[derive(Debug, Deserialize)]
pub(crate) struct CodeForm {
    code: String,
}

/// `POST /account/otp/confirm`: the pending seed counts once a code matches.
pub(crate) async fn otp_confirm(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> PageResult {
    let u = recent_user!(shared, headers, true, "/account");
    let Some(pending) = &u.user.otp_pending else {
        return Ok(Redirect::to(home_of(&u)).into_response());
    };
    let pending = shared.seed_key.open(&u.user.username, pending)?;
    match otp::matching_step(&pending, &form.code, shared.now())? {
        Some(step)
            if shared
                .store
                .confirm_otp(u.user.username.clone(), step)
                .await? =>
        {
            shared.log(format_args!("authenticator app enrolled"));
            announce(
                &shared,
                &u.user.username,
                Change::TwoStepChanged,
                "An authenticator app was added to your account as a second step.",
                None,
                None,
            )
            .await;
            Ok(Redirect::to(&format!("{}?m=otp_on", home_of(&u))).into_response())
        }
        _ => with_error(
            &shared,
            &u,
            "That code does not match. Check the time on your phone and enter the current code.",
            StatusCode::BAD_REQUEST,
        )
        .await,
    }
}

/// Whether the user would still have a second step without `removing`.
fn still_covered(user: &UserRecord, factors: Factors) -> bool {
    match user.method {
        SignInMethod::Password => true,
        SignInMethod::PasswordApprove => factors.any_second_step(),
        SignInMethod::Approve => factors.approve,
    }
}

/// `POST /account/otp/remove`.
pub(crate) async fn otp_remove(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> PageResult {
    let u = recent_user!(shared, headers, false, "/account");
    let mut factors = factors_of(&shared, &u.user).await?;
    factors.otp = false;
    let uses_otp =
        u.user.method == SignInMethod::PasswordApprove && u.user.second_step == SecondStep::Otp;
    if !still_covered(&u.user, factors) || uses_otp {
        return with_error(&shared, &u, "Your sign-in method uses the authenticator app. Choose another method (or pair a phone) first.", StatusCode::CONFLICT).await;
    }
    shared.store.remove_otp(u.user.username.clone()).await?;
    announce(
        &shared,
        &u.user.username,
        Change::TwoStepChanged,
        "The authenticator app was removed from your account.",
        None,
        None,
    )
    .await;
    Ok(Redirect::to("/account?m=otp_removed").into_response())
}

/// `POST /account/pair`: shows a one-time pairing QR code.
pub(crate) async fn pair(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> PageResult {
    let u = recent_user!(shared, headers, true, "/account");
    let (uri, expires_at) = pairing_invite(&shared, &u.user.username).await?;
    render(
        &shared,
        &u,
        Extras {
            notice: Some(info("Pairing code ready: scan it with your phone.")),
            pair: Some((uri, expires_at)),
        },
        StatusCode::OK,
    )
    .await
}

/// Device form.
#[derive(Debug, Deserialize)]
pub(crate) struct DeviceForm {
    device_id: String,
}

/// `POST /account/devices/revoke`.
pub(crate) async fn revoke_device(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<DeviceForm>,
) -> PageResult {
    let u = recent_user!(shared, headers, false, "/account");
    let devices = shared.store.devices(u.user.username.clone()).await?;
    let active: Vec<_> = devices.iter().filter(|d| d.revoked_at.is_none()).collect();
    if !active.iter().any(|d| d.id == form.device_id) {
        return with_error(&shared, &u, "No such device.", StatusCode::NOT_FOUND).await;
    }
    let mut factors = factors_of(&shared, &u.user).await?;
    factors.approve = active.len() > 1;
    if !still_covered(&u.user, factors) {
        return with_error(
            &shared,
            &u,
            "This is the phone your sign-in method relies on. Choose another method first.",
            StatusCode::CONFLICT,
        )
        .await;
    }
    shared
        .store
        .revoke_device(form.device_id.clone(), shared.now(), "device_revoked")
        .await?;
    if let Some(d) = active.iter().find(|d| d.id == form.device_id) {
        let text = format!(
            "The phone \u{201c}{}\u{201d} ({}) was removed from your account.",
            d.name, d.platform
        );
        announce(
            &shared,
            &u.user.username,
            Change::DeviceRemoved,
            &text,
            Some(&d.id),
            None,
        )
        .await;
    }
    Ok(Redirect::to("/account?m=device_revoked").into_response())
}

/// `POST /account/method` form.
#[derive(Debug, Deserialize)]
pub(crate) struct MethodForm {
    method: String,
}

/// `POST /account/method`: changes the sign-in method; signs out everywhere.
pub(crate) async fn set_method(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<MethodForm>,
) -> PageResult {
    let u = recent_user!(shared, headers, false, "/account");
    let factors = factors_of(&shared, &u.user).await?;
    let groups = shared.store.enforced_groups().await?;
    let (method, second, ready) = match form.method.as_str() {
        "off" => (
            SignInMethod::Password,
            u.user.second_step,
            !is_enforced(&u.user, &groups),
        ),
        "approve" => (
            SignInMethod::PasswordApprove,
            SecondStep::Approve,
            factors.approve,
        ),
        "otp" => (SignInMethod::PasswordApprove, SecondStep::Otp, factors.otp),
        "passwordless" => (SignInMethod::Approve, SecondStep::Approve, factors.approve),
        _ => {
            return with_error(
                &shared,
                &u,
                "Choose a sign-in method.",
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    };
    if !ready {
        let why = if form.method == "off" {
            "Your administrator requires 2-step verification; it cannot be turned off."
        } else {
            "Set up that second step first (pair a phone or add an authenticator app)."
        };
        return with_error(&shared, &u, why, StatusCode::CONFLICT).await;
    }
    if method == u.user.method && second == u.user.second_step {
        return Ok(Redirect::to("/account").into_response());
    }
    set_sign_in(&shared, &u.user.username, method, second, "by user").await?;
    Ok(Redirect::to("/signin?m=two_step_changed").into_response())
}

/// What the account page calls a method.
pub(crate) fn method_words(method: SignInMethod, second: SecondStep) -> &'static str {
    match (method, second) {
        (SignInMethod::Password, _) => "Password only (2-step verification off)",
        (SignInMethod::PasswordApprove, SecondStep::Approve) => "Password + phone approval",
        (SignInMethod::PasswordApprove, SecondStep::Otp) => "Password + authenticator code",
        (SignInMethod::Approve, _) => "Passwordless: phone approval",
    }
}

/// Changes the sign-in method, signs the user out everywhere and tells
/// their phones and backup address.
pub(crate) async fn set_sign_in(
    shared: &Shared,
    account: &str,
    method: SignInMethod,
    second: SecondStep,
    by: &str,
) -> Result<bool, ServerError> {
    let changed = shared
        .store
        .set_sign_in(
            account.to_owned(),
            method,
            second,
            shared.now(),
            format!(
                "method={} second_step={} {by}",
                method.as_str(),
                second.as_str()
            ),
        )
        .await?;
    shared.log(format_args!(
        "sign-in method changed ({by}); sessions ended"
    ));
    if changed {
        let text = format!(
            "The sign-in method of your account was changed to \u{201c}{}\u{201d} ({by}). Every session was signed out.",
            method_words(method, second)
        );
        announce(shared, account, Change::TwoStepChanged, &text, None, None).await;
    }
    Ok(changed)
}

/// `POST /setup/finish`: turns 2-step verification on once a step exists.
pub(crate) async fn setup_finish(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> PageResult {
    let u = match require(&shared, &headers, true).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let factors = factors_of(&shared, &u.user).await?;
    let second = if factors.approve {
        SecondStep::Approve
    } else if factors.otp {
        SecondStep::Otp
    } else {
        return with_error(
            &shared,
            &u,
            "Set up an authenticator app or pair a phone first.",
            StatusCode::CONFLICT,
        )
        .await;
    };
    let method = if u.user.method == SignInMethod::Approve {
        SignInMethod::Approve
    } else {
        SignInMethod::PasswordApprove
    };
    set_sign_in(&shared, &u.user.username, method, second, "setup finished").await?;
    Ok(Redirect::to("/signin?m=setup_done").into_response())
}

/// `POST /account/email` form.
#[derive(Debug, Deserialize)]
pub(crate) struct EmailForm {
    email: String,
}

/// `POST /account/email`: sets the backup address and mails a link.
pub(crate) async fn set_email(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<EmailForm>,
) -> PageResult {
    let u = recent_user!(shared, headers, false, "/account");
    // Told to the old address (when it was verified): whoever replaces it
    // cannot hide that from the owner.
    let old_verified = u.user.email.clone().filter(|_| u.user.email_verified);
    let address = form.email.trim();
    let Some(mailer) = &shared.mailer else {
        return with_error(
            &shared,
            &u,
            "This server is not set up to send mail.",
            StatusCode::CONFLICT,
        )
        .await;
    };
    if address.is_empty() {
        shared
            .store
            .set_backup_email(u.user.username.clone(), None, None)
            .await?;
        announce(
            &shared,
            &u.user.username,
            Change::EmailChanged,
            "The backup email address of your account was removed.",
            None,
            old_verified.as_deref(),
        )
        .await;
        return Ok(Redirect::to("/account?m=done").into_response());
    }
    if let Err(e) = email::check_email(address) {
        let text = match e {
            ServerError::InvalidInput { reason } => reason,
            _ => "That email address cannot be used.".into(),
        };
        return with_error(&shared, &u, &text, StatusCode::BAD_REQUEST).await;
    }
    let token = random_token()?;
    let now = shared.now();
    shared
        .store
        .set_backup_email(
            u.user.username.clone(),
            Some(address.to_owned()),
            Some(NewEmailToken {
                token_hash: sha256(token.as_bytes()),
                email: address.to_owned(),
                created_at: now,
                expires_at: now + shared.limits.email_verify_ttl_s,
            }),
        )
        .await?;
    let base = shared.public_urls.first().cloned().unwrap_or_default();
    let link = format!("{base}/account/email/verify?token={token}");
    mailer
        .send(
            address,
            &format!("Verify your backup email for {}", shared.name),
            format!(
                "Hello {},\n\nConfirm that this address may receive emergency sign-in codes for {}:\n\n{link}\n\n\
                 The link works once, for 24 hours. If you did not ask for this, ignore this message.\n",
                u.user.username, shared.name
            ),
        )
        .await?;
    shared.log(format_args!("backup email verification sent"));
    let text = format!(
        "The backup email address of your account was changed to {}.",
        email::masked(address)
    );
    announce(
        &shared,
        &u.user.username,
        Change::EmailChanged,
        &text,
        None,
        old_verified.as_deref(),
    )
    .await;
    Ok(Redirect::to("/account?m=email_sent").into_response())
}

/// `?token=…` / token form.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    token: String,
}

/// `GET /account/email/verify?token=…`: a confirm button (mail scanners
/// that fetch links must not verify on their own).
pub(crate) async fn verify_email_page(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<TokenForm>,
) -> Response {
    super::layout::page(
        StatusCode::OK,
        &shared.name,
        "Verify backup email",
        None,
        html! {
            form method="post" action="/account/email/verify" {
                input type="hidden" name="token" value=(q.token);
                button type="submit" id="verify-email" { "Confirm this backup email" }
            }
        },
    )
}

/// `POST /account/email/verify`.
pub(crate) async fn verify_email(
    State(shared): State<Arc<Shared>>,
    Form(form): Form<TokenForm>,
) -> PageResult {
    let ok = shared
        .store
        .verify_email(sha256(form.token.as_bytes()), shared.now())
        .await?
        .is_some();
    let body = if ok {
        shared.log(format_args!("backup email verified"));
        info("Backup email verified. You can close this page.")
    } else {
        error("This link is invalid, already used or expired. Set the address again to get a new one.")
    };
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(super::layout::page(
        code,
        &shared.name,
        "Verify backup email",
        None,
        body,
    ))
}

/// The admin page reuses the status computation.
pub(crate) fn two_step_status(
    user: &UserRecord,
    active_devices: u32,
    groups: &[String],
) -> TwoStepStatus {
    status(user, Factors::of(user, active_devices), groups)
}

/// `?next=…`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

fn next_of(next: Option<&str>) -> String {
    next.filter(|n| safe_next(n))
        .unwrap_or("/account")
        .to_owned()
}

/// `GET /account/reauth?next=…`: "confirm it's you" before a security
/// change — the password (unless the account has none) and then the
/// account's second step, as at sign-in.
pub(crate) async fn reauth_page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> PageResult {
    let u = match require(&shared, &headers, false).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let next = next_of(q.next.as_deref());
    Ok(reauth_form(&shared, &u, &next, html! {}, StatusCode::OK))
}

fn reauth_form(
    shared: &Shared,
    u: &WebUser,
    next: &str,
    notice: Markup,
    code: StatusCode,
) -> Response {
    let window = shared.limits.reauth_window_s;
    let lasts = if window >= 120 {
        format!("{} minutes", window / 60)
    } else {
        format!("{window} seconds")
    };
    page(
        code,
        &shared.name,
        "Confirm it's you",
        Some((&u.user.username, u.user.is_admin)),
        html! {
            (notice)
            p { "Changes to how you sign in need a fresh confirmation: it lasts " (lasts) "." }
            form method="post" action="/account/reauth" {
                input type="hidden" name="next" value=(next);
                @if u.user.method.needs_password() {
                    label for="reauth-password" { "Password" }
                    input #reauth-password type="password" name="password" autocomplete="current-password" required autofocus;
                }
                button type="submit" id="reauth-continue" { "Continue" }
            }
        },
    )
}

/// `POST /account/reauth` form.
#[derive(Debug, Deserialize)]
pub(crate) struct ReauthForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /account/reauth`: checks the password, then runs the account's
/// second step as a login flow that re-verifies this session.
pub(crate) async fn reauth(
    State(shared): State<Arc<Shared>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<ReauthForm>,
) -> PageResult {
    let u = match require(&shared, &headers, false).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let next = next_of(Some(&form.next));
    if u.user.method.needs_password() {
        let known = browser::known_for(&shared, &headers, &u.user.username).await?;
        let who = Attempter {
            account: &u.user.username,
            ip: &ip,
            known_browser: known.as_deref(),
        };
        let hash = u.user.password_hash.clone();
        if let Err(e) = check_password(&shared, &who, &form.password, hash).await {
            let text = match e.code() {
                "invalid_credentials" => "Wrong password.".to_owned(),
                _ => e.message().to_owned(),
            };
            return Ok(reauth_form(&shared, &u, &next, error(&text), e.status()));
        }
    }
    let factors = factors_of(&shared, &u.user).await?;
    if factors.any_second_step() {
        return start_flow(&shared, &u.user.username, Some(u.token_hash), Some(next)).await;
    }
    // No second step exists: the password is the whole sign-in.
    shared
        .store
        .mark_session_verified(u.token_hash, shared.now())
        .await?;
    let sep = if next.contains('?') { '&' } else { '?' };
    Ok(Redirect::to(&format!("{next}{sep}m=verified")).into_response())
}
