//! Backup email: verification links and one-time emergency codes, sent over
//! SMTP with `lettre`.
//!
//! A user sets an address; the server mails a link carrying a random token
//! (only its SHA-256 is stored, valid for a day). Once verified, a user who
//! lost the phone can ask for an emergency code: 8 random digits, stored
//! hashed, single use, valid for a few minutes, at most a few per hour, and
//! wrong guesses count towards the account's second-step limit and the
//! address's auto-block. Mail bodies never go to the log.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use zeroize::Zeroizing;

use crate::config::{SmtpConfig, SmtpSecurity};
use crate::crypto::random_bytes;
use crate::error::ServerError;

/// Digits in an emergency code.
pub(crate) const CODE_DIGITS: usize = 8;

/// Longest backup address accepted (RFC 5321 path limit).
const MAX_EMAIL_BYTES: usize = 254;

/// Sends the server's mail.
pub(crate) struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// A mailer for `config` (no connection is made until the first send).
    pub(crate) fn new(config: &SmtpConfig) -> Result<Self, ServerError> {
        let builder = match config.security {
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            }
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                    .map_err(|e| ServerError::invalid(format!("SMTP relay: {e}")))?
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)
                .map_err(|e| ServerError::invalid(format!("SMTP relay: {e}")))?,
        };
        let mut builder = builder
            .port(config.port)
            .timeout(Some(Duration::from_secs(15)));
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.to_string()));
        }
        let from = config
            .from
            .parse::<Mailbox>()
            .map_err(|_| ServerError::invalid("SMTP sender address is not valid"))?;
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    /// Sends a plain-text message.
    pub(crate) async fn send(
        &self,
        to: &str,
        subject: &str,
        body: String,
    ) -> Result<(), ServerError> {
        let to = to
            .parse::<Mailbox>()
            .map_err(|_| ServerError::invalid("not a valid email address"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| ServerError::Internal(format!("building mail: {e}")))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| ServerError::Mail(e.to_string()))
    }
}

/// Checks a backup address: one `@`, something either side, no spaces or
/// control characters, at most 254 bytes (the SMTP server has the last word).
pub(crate) fn check_email(email: &str) -> Result<(), ServerError> {
    let bad = || ServerError::invalid("enter an email address like name@example.com");
    if email.is_empty() || email.len() > MAX_EMAIL_BYTES {
        return Err(bad());
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    if local.is_empty() || domain.is_empty() || domain.contains('@') || !domain.contains('.') {
        return Err(bad());
    }
    email.parse::<Mailbox>().map_err(|_| bad())?;
    Ok(())
}

/// A fresh emergency code: [`CODE_DIGITS`] uniformly random digits.
pub(crate) fn new_code() -> Result<Zeroizing<String>, ServerError> {
    let mut out = Zeroizing::new(String::with_capacity(CODE_DIGITS));
    while out.len() < CODE_DIGITS {
        let [b] = random_bytes::<1>()?;
        // 250 = 25 * 10: reject 250..=255 so every digit is equally likely.
        if b < 250 {
            out.push(char::from(b'0' + b % 10));
        }
    }
    Ok(out)
}

/// The typed code normalised (spaces and dashes dropped).
pub(crate) fn normalise_code(code: &str) -> String {
    code.chars().filter(char::is_ascii_digit).collect()
}

/// `a***@example.com`: enough to recognise the address, not to harvest it.
pub(crate) fn masked(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_codes_masking() {
        assert!(check_email("alice@example.com").is_ok());
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "a b@example.com",
            "a@b@c.d",
            "a@localhost",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert!(check_email(&format!("{}@example.com", "a".repeat(250))).is_err());
        let code = new_code().unwrap();
        assert_eq!(code.len(), CODE_DIGITS);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(normalise_code(" 1234-5678 "), "12345678");
        assert_eq!(masked("alice@example.com"), "a***@example.com");
    }
}
