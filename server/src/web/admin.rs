//! The admin page: users with their 2-step status, enforcement per user and
//! per group, disabling 2-step verification for a locked-out user, revoking
//! a user's phones, creating users under the password policy, and the
//! blocked addresses with "Unblock". Only for signed-in users with the
//! admin flag (`countersign-server user add --admin`).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use super::account::{set_sign_in, two_step_status};
use super::layout::{error, flash, info, page};
use super::session::{current, WebUser};
use super::signin::{Flash, PageError};
use crate::accounts::{check_group, create_user, SignInMethod};
use crate::crypto::password_policy_problems;
use crate::error::ServerError;
use crate::state::Shared;
use crate::store::{SessionScope, UserFlags};

type PageResult = Result<Response, PageError>;

async fn require_admin(
    shared: &Shared,
    headers: &HeaderMap,
) -> Result<Result<WebUser, Response>, ServerError> {
    Ok(match current(shared, headers).await? {
        None => Err(Redirect::to("/signin").into_response()),
        Some(u) if u.session.scope != SessionScope::Full => {
            Err(Redirect::to("/setup").into_response())
        }
        Some(u) if !u.user.is_admin => {
            Err((StatusCode::FORBIDDEN, "administrators only").into_response())
        }
        // The admin flag needs 2-step verification (its setup session is
        // the only one an admin without it gets; this covers a flag given
        // to someone already signed in).
        Some(u) if u.user.method == SignInMethod::Password => Err(page(
            StatusCode::FORBIDDEN,
            &shared.name,
            "Administration",
            Some((&u.user.username, false)),
            error("Administrators must use 2-step verification. Turn it on on your security page, then come back."),
        )),
        Some(u) => Ok(u),
    })
}

/// [`require_admin`] for a change: the admin's sign-in must also have been
/// checked in the last few minutes ("sudo mode").
async fn require_admin_recent(
    shared: &Shared,
    headers: &HeaderMap,
) -> Result<Result<WebUser, Response>, ServerError> {
    Ok(match require_admin(shared, headers).await? {
        Ok(u) if u.recently_verified(shared) => Ok(u),
        Ok(_) => Err(Redirect::to("/account/reauth?next=%2Fadmin").into_response()),
        Err(r) => Err(r),
    })
}

pub(crate) fn fmt_time(t: i64) -> String {
    let u = countersign_core::civil::utc(t);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        u.year, u.month, u.day, u.hour, u.minute
    )
}

async fn render(shared: &Shared, u: &WebUser, notice: Markup, code: StatusCode) -> PageResult {
    let users = shared.store.users().await?;
    let groups = shared.store.enforced_groups().await?;
    let now = shared.now();
    let blocks = shared.store.ip_blocks(now).await?;
    let events = shared.store.events(20).await?;
    let body = html! {
        (notice)
        section #users {
            h2 { "Users" }
            table {
                thead { tr { th { "User" } th { "Groups" } th { "2-step verification" } th { "Method" } th { "Phones" } th { "Enforced" } th { "Actions" } } }
                tbody {
                    @for l in &users {
                        @let st = two_step_status(&l.user, l.active_devices, &groups);
                        tr id={ "user-" (l.user.username) } {
                            td { (l.user.username) @if l.user.is_admin { " (admin)" } }
                            td { (l.user.groups.join(", ")) }
                            td.status { (st.as_str()) }
                            td { (l.user.method.as_str()) @if l.user.method == SignInMethod::PasswordApprove { " / " (l.user.second_step.as_str()) } }
                            td { (l.active_devices) }
                            td { @if l.user.enforce_2sv { "user" } @else if l.user.groups.iter().any(|g| groups.contains(g)) { "group" } @else { "no" } }
                            td {
                                form.inline method="post" action="/admin/users/action" {
                                    input type="hidden" name="username" value=(l.user.username);
                                    @if l.user.enforce_2sv {
                                        button.secondary type="submit" name="action" value="unenforce" { "Stop enforcing" }
                                    } @else {
                                        button.secondary type="submit" name="action" value="enforce" { "Enforce 2-step" }
                                    }
                                    button.secondary type="submit" name="action" value="disable_2sv" { "Disable 2-step" }
                                    button.secondary type="submit" name="action" value="revoke_devices" { "Revoke phones" }
                                }
                            }
                        }
                    }
                }
            }
        }
        section #groups {
            h2 { "Enforce 2-step verification for a group" }
            @if groups.is_empty() { p { "No group is enforced." } } @else {
                ul { @for g in &groups { li { (g) } } }
            }
            form method="post" action="/admin/groups" {
                label for="group" { "Group" }
                input #group name="group" required;
                label.choice { input type="checkbox" name="enforce" value="on" checked; " enforce" }
                button type="submit" id="group-save" { "Save" }
            }
        }
        section #blocked {
            h2 { "Blocked addresses" }
            @if blocks.is_empty() { p #no-blocks { "No address is blocked." } } @else {
                table {
                    thead { tr { th { "Address" } th { "Since" } th { "Until" } th { "Failures" } th {} } }
                    tbody {
                        @for b in &blocks {
                            tr {
                                td.ip { (b.ip) }
                                td { (fmt_time(b.blocked_at)) }
                                td { @if let Some(t) = b.until { (fmt_time(t)) } @else { "until unblocked" } }
                                td { (b.failures) }
                                td {
                                    form.inline method="post" action="/admin/unblock" {
                                        input type="hidden" name="ip" value=(b.ip);
                                        button.secondary type="submit" { "Unblock" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section #create {
            h2 { "Add a user" }
            form method="post" action="/admin/users" {
                label for="new-username" { "Username" }
                input #new-username name="username" required;
                label for="new-password" { "Password" }
                input #new-password type="password" name="password" autocomplete="new-password" required;
                p.hint { "At least 8 characters with an upper-case letter, a lower-case letter and a digit." }
                label for="new-groups" { "Groups (comma-separated)" }
                input #new-groups name="groups";
                label.choice { input type="checkbox" name="admin" value="on"; " administrator" }
                button type="submit" id="create-user" { "Add user" }
            }
        }
        section #events {
            h2 { "Recent events" }
            ul { @for e in events.iter().rev() { li { (fmt_time(e.time)) " " (e.kind) " " (e.account.clone().unwrap_or_default()) " " (e.detail) } } }
        }
    };
    Ok(page(
        code,
        &shared.name,
        "Administration",
        Some((&u.user.username, true)),
        body,
    ))
}

/// `GET /admin`.
pub(crate) async fn admin_page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(f): Query<Flash>,
) -> PageResult {
    let u = match require_admin(&shared, &headers).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    render(&shared, &u, flash(f.m.as_deref()), StatusCode::OK).await
}

/// `POST /admin/users` form.
#[derive(Debug, Deserialize)]
pub(crate) struct NewUserForm {
    username: String,
    password: String,
    #[serde(default)]
    groups: String,
    #[serde(default)]
    admin: Option<String>,
}

fn parse_groups(text: &str) -> Result<Vec<String>, ServerError> {
    let mut out: Vec<String> = Vec::new();
    for g in text.split(',').map(str::trim).filter(|g| !g.is_empty()) {
        check_group(g)?;
        if !out.iter().any(|x| x == g) {
            out.push(g.to_owned());
        }
    }
    Ok(out)
}

/// `POST /admin/users`: creates a user (password policy applies).
pub(crate) async fn create_user_form(
    shared: &Shared,
    u: &WebUser,
    form: NewUserForm,
) -> PageResult {
    let problems = password_policy_problems(&form.password);
    if !problems.is_empty() {
        let notice = html! {
            div.notice.error role="alert" id="error" {
                "The password does not meet the policy:"
                ul { @for p in &problems { li { (p) } } }
            }
        };
        return render(shared, u, notice, StatusCode::BAD_REQUEST).await;
    }
    let groups = match parse_groups(&form.groups) {
        Ok(g) => g,
        Err(e) => return render(shared, u, error(&e.to_string()), StatusCode::BAD_REQUEST).await,
    };
    let username = form.username.trim();
    match create_user(
        shared,
        username,
        Some(&form.password),
        SignInMethod::Password,
    )
    .await
    {
        Ok(()) => {}
        Err(ServerError::UserExists) => {
            return render(
                shared,
                u,
                error("A user with that name exists."),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(ServerError::InvalidInput { reason }) => {
            return render(shared, u, error(&reason), StatusCode::BAD_REQUEST).await
        }
        Err(e) => return Err(e.into()),
    }
    shared
        .store
        .set_user_flags(
            username.to_owned(),
            UserFlags {
                is_admin: Some(form.admin.is_some()),
                enforce_2sv: None,
                groups: Some(groups),
            },
        )
        .await?;
    render(
        shared,
        u,
        info(&format!("User {username} added.")),
        StatusCode::CREATED,
    )
    .await
}

/// `POST /admin/users`.
pub(crate) async fn create_user_handler(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<NewUserForm>,
) -> PageResult {
    let u = match require_admin_recent(&shared, &headers).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    create_user_form(&shared, &u, form).await
}

/// `POST /admin/users/action` form.
#[derive(Debug, Deserialize)]
pub(crate) struct ActionForm {
    username: String,
    action: String,
}

/// `POST /admin/users/action`: enforce, unenforce, disable 2-step, revoke phones.
pub(crate) async fn user_action(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> PageResult {
    let u = match require_admin_recent(&shared, &headers).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let Some(target) = shared.store.user(form.username.clone()).await? else {
        return render(&shared, &u, error("No such user."), StatusCode::NOT_FOUND).await;
    };
    let name = target.username.clone();
    let message = match form.action.as_str() {
        "enforce" | "unenforce" => {
            let on = form.action == "enforce";
            shared
                .store
                .set_user_flags(
                    name.clone(),
                    UserFlags {
                        enforce_2sv: Some(on),
                        ..UserFlags::default()
                    },
                )
                .await?;
            if on {
                format!("2-step verification is now required for {name}.")
            } else {
                format!("2-step verification is no longer required for {name} individually.")
            }
        }
        "disable_2sv" => {
            set_sign_in(
                &shared,
                &name,
                SignInMethod::Password,
                target.second_step,
                &format!("by administrator {}", u.user.username),
            )
            .await?;
            format!("2-step verification disabled for {name}; they were signed out everywhere.")
        }
        "revoke_devices" => {
            let n = shared
                .store
                .revoke_all_devices(name.clone(), shared.now())
                .await?;
            if n > 0 {
                let text = format!(
                    "An administrator ({}) removed every phone ({n}) from your account.",
                    u.user.username
                );
                crate::notify::announce(
                    &shared,
                    &name,
                    crate::notify::Change::DeviceRemoved,
                    &text,
                    None,
                    None,
                )
                .await;
            }
            format!("Revoked {n} phone(s) of {name}.")
        }
        _ => {
            return render(
                &shared,
                &u,
                error("Unknown action."),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    };
    shared.log(format_args!("admin action {}", form.action));
    render(&shared, &u, info(&message), StatusCode::OK).await
}

/// `POST /admin/groups` form.
#[derive(Debug, Deserialize)]
pub(crate) struct GroupForm {
    group: String,
    #[serde(default)]
    enforce: Option<String>,
}

/// `POST /admin/groups`: enforce (or stop enforcing) for a group.
pub(crate) async fn group_enforcement(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<GroupForm>,
) -> PageResult {
    let u = match require_admin_recent(&shared, &headers).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let group = form.group.trim();
    if let Err(e) = check_group(group) {
        return render(&shared, &u, error(&e.to_string()), StatusCode::BAD_REQUEST).await;
    }
    shared
        .store
        .set_group_enforced(group.to_owned(), form.enforce.is_some())
        .await?;
    Ok(Redirect::to("/admin?m=done").into_response())
}

/// `POST /admin/unblock` form.
#[derive(Debug, Deserialize)]
pub(crate) struct UnblockForm {
    ip: String,
}

/// `POST /admin/unblock`.
pub(crate) async fn unblock(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<UnblockForm>,
) -> PageResult {
    let u = match require_admin_recent(&shared, &headers).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let done = shared.store.unblock_ip(form.ip.clone()).await?;
    let notice = if done {
        info(&format!("{} unblocked.", form.ip))
    } else {
        error("That address was not blocked.")
    };
    render(&shared, &u, notice, StatusCode::OK).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_groups() {
        assert_eq!(fmt_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(fmt_time(1_795_000_000), "2026-11-18 11:06 UTC");
        assert_eq!(
            parse_groups(" staff, ops ,staff,").unwrap(),
            ["staff", "ops"]
        );
        assert!(parse_groups("a,b c\u{7}").is_err());
    }
}
