//! `countersign watch`: a live code list with countdown bars.
//!
//! Redraws once per second on the alternate screen; `q`, Esc or Ctrl-C quit
//! and restore the terminal even on error.

use crate::session::now;
use crate::Failure;
use countersign_core::Vault;
use crossterm::event::{self, Event, KeyCode, KeyModifiers};
use crossterm::{cursor, execute, queue, style, terminal};
use std::io::Write;
use std::time::Duration;

struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = terminal::disable_raw_mode();
        let _ = execute!(
            std::io::stdout(),
            cursor::Show,
            terminal::LeaveAlternateScreen
        );
    }
}

/// Runs until the user quits.
pub fn run(vault: &Vault) -> Result<(), Failure> {
    terminal::enable_raw_mode()
        .map_err(|e| Failure::new(format!("watch needs a terminal ({e})")))?;
    let _restore = Restore;
    let mut out = std::io::stdout();
    execute!(out, terminal::EnterAlternateScreen, cursor::Hide)?;
    loop {
        draw(vault, &mut out)?;
        // Wake at the next second boundary, or on a key.
        let ms = 1000
            - (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_millis())
                .unwrap_or(0));
        if event::poll(Duration::from_millis(u64::from(ms)))? {
            if let Event::Key(k) = event::read()? {
                let ctrl_c =
                    k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
                if matches!(k.code, KeyCode::Char('q') | KeyCode::Esc) || ctrl_c {
                    return Ok(());
                }
            }
        }
    }
}

fn draw(vault: &Vault, out: &mut impl Write) -> Result<(), Failure> {
    let t = now();
    let profiles = vault.list()?;
    let codes = vault.codes_at(t)?;
    queue!(
        out,
        terminal::Clear(terminal::ClearType::All),
        cursor::MoveTo(0, 0)
    )?;
    queue!(out, style::Print("Countersign — q to quit\r\n\r\n"))?;
    if profiles.is_empty() {
        queue!(
            out,
            style::Print("no profiles yet: add one with `countersign add URI`\r\n")
        )?;
    }
    let width = profiles
        .iter()
        .map(|p| p.display_name().chars().count())
        .max()
        .unwrap_or(0)
        .min(40);
    for (p, c) in profiles.iter().zip(codes.iter()) {
        let tail = if p.params.otp_type.is_time_based() {
            let period = p.params.period.max(1) as usize;
            let left = c.code.valid_for_s as usize;
            let filled = (left * 20).div_ceil(period).min(20);
            format!(
                "{}{} {:>3}s",
                "█".repeat(filled),
                "·".repeat(20 - filled),
                left
            )
        } else {
            format!("counter {}", c.code.counter)
        };
        let name: String = p.display_name().chars().take(40).collect();
        queue!(
            out,
            style::Print(format!("{name:<width$}  {:>10}  {tail}\r\n", c.code.code))
        )?;
    }
    out.flush()?;
    Ok(())
}
