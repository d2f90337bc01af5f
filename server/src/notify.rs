//! Announcements: every change to how an account signs in is told to its
//! owner where an attacker who changed it cannot hide it.
//!
//! A new pairing, a removed phone, a changed backup email and every 2-step
//! change ([`announce`]) becomes a *notice* for the account's other phones
//! (`GET /v1/device/requests` returns it, long-polls are woken and push
//! services are asked to wake the phones; a notice is shown, not answered)
//! and a mail to the account's verified backup address — and to the old
//! address when the address itself changed, so someone who replaced it
//! cannot silence the warning. Mail failures are logged, never fatal: the
//! change has already happened.

use crate::state::Shared;
use crate::store::NewNotice;

/// What changed (the notice's `kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// A device was paired with the account.
    DevicePaired,
    /// A device was removed (by the user, an admin, or itself).
    DeviceRemoved,
    /// The backup email address changed or was removed.
    EmailChanged,
    /// The sign-in method or a second step changed.
    TwoStepChanged,
}

impl Change {
    fn kind(self) -> &'static str {
        match self {
            Change::DevicePaired => "device_paired",
            Change::DeviceRemoved => "device_removed",
            Change::EmailChanged => "email_changed",
            Change::TwoStepChanged => "two_step_changed",
        }
    }

    fn subject(self) -> &'static str {
        match self {
            Change::DevicePaired => "A new phone was paired with your account",
            Change::DeviceRemoved => "A phone was removed from your account",
            Change::EmailChanged => "Your backup email was changed",
            Change::TwoStepChanged => "Your 2-step verification settings changed",
        }
    }
}

/// Tells `account`'s phones (except `about_device`, the one the change is
/// about) and its verified backup address — plus `old_address`, when the
/// address changed — that `text` happened.
pub(crate) async fn announce(
    shared: &Shared,
    account: &str,
    change: Change,
    text: &str,
    about_device: Option<&str>,
    old_address: Option<&str>,
) {
    let now = shared.now();
    let stored = shared
        .store
        .add_notice(NewNotice {
            account: account.to_owned(),
            time: now,
            kind: change.kind(),
            text: text.to_owned(),
            device_id: about_device.map(str::to_owned),
        })
        .await;
    if let Err(e) = stored {
        shared.log(format_args!("storing a notice failed: {e}"));
    }
    shared.hub.notify_account(account);
    match shared.store.push_targets(account.to_owned()).await {
        Ok(targets) => {
            let targets = targets
                .into_iter()
                .filter(|t| Some(t.device_id.as_str()) != about_device)
                .collect();
            shared
                .push
                .wake_all(std::sync::Arc::clone(&shared.store), targets, "notice");
        }
        Err(e) => shared.log(format_args!("push targets for a notice: {e}")),
    }
    let Some(mailer) = &shared.mailer else {
        return;
    };
    let mut to: Vec<String> = Vec::new();
    match shared.store.user(account.to_owned()).await {
        Ok(Some(u)) if u.email_verified => to.extend(u.email),
        Ok(_) => {}
        Err(e) => shared.log(format_args!("reading the backup address: {e}")),
    }
    if let Some(old) = old_address {
        if !to.iter().any(|a| a.eq_ignore_ascii_case(old)) {
            to.push(old.to_owned());
        }
    }
    for address in to {
        let body = format!(
            "Hello {account},\n\n{text}\n\nWhen: {} UTC\nServer: {}\n\n\
             If this was you, there is nothing to do. If it was not, someone knows your \
             password: sign in, remove what you do not recognise and change your password, \
             or ask your administrator for help.\n",
            crate::web::fmt_time(now),
            shared.name
        );
        if let Err(e) = mailer
            .send(
                &address,
                &format!("{}: {}", shared.name, change.subject()),
                body,
            )
            .await
        {
            shared.log(format_args!("announcement mail failed: {e}"));
        }
    }
}
