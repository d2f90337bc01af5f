//! `countersign export`: every profile out of the vault, through the core's
//! public API only.
//!
//! * `otpauth`: one `otpauth://` URI per line on stdout.
//! * `google-qr`: Google Authenticator migration QR codes
//!   (`otpauth-migration://`, ten accounts per code, shared batch id), shown
//!   in the terminal or written as `countersign-export-N.png|svg` into a
//!   directory. The format has no Steam type, no period other than 30 s and
//!   only 6 or 8 digits: those profiles are left out and listed on stderr
//!   with the reason, the rest are exported (`countersign_core::export`,
//!   the same call the phone makes).
//! * `backup`: our encrypted backup file, exactly as `backup create`.
//!
//! Everything written holds secrets; image files are created readable by
//! the owner only (on Unix).

use crate::args::{ExportArgs, ExportFormat, QrImageFormat};
use crate::session::PasscodeSource;
use crate::Failure;
use countersign_core::Vault;
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Runs `export` on an unlocked vault.
pub fn run(
    vault: &Vault,
    args: ExportArgs,
    src: &mut PasscodeSource,
    out: &mut impl Write,
) -> Result<(), Failure> {
    validate(&args)?;
    match args.format {
        ExportFormat::Otpauth => {
            for uri in vault.export_uris()? {
                writeln!(out, "{}", &*uri)?;
            }
            Ok(())
        }
        ExportFormat::GoogleQr => google_qr(vault, args.out.as_deref(), args.image, out),
        ExportFormat::Backup => {
            let file = args
                .out
                .ok_or_else(|| Failure::new("export --format backup needs --out FILE"))?;
            crate::backup_cmd::create_file(
                vault,
                &file,
                args.password_stdin,
                false,
                false,
                src,
                out,
            )
        }
    }
}

/// Rejects options that do not apply to the chosen format, before anything
/// is read or written.
fn validate(args: &ExportArgs) -> Result<(), Failure> {
    let name = match args.format {
        ExportFormat::Otpauth => "otpauth",
        ExportFormat::GoogleQr => "google-qr",
        ExportFormat::Backup => "backup",
    };
    if args.out.is_some() && args.format == ExportFormat::Otpauth {
        return Err(Failure::new(
            "--out does not apply to --format otpauth (it prints to stdout)",
        ));
    }
    if args.out.is_none() && args.format == ExportFormat::Backup {
        return Err(Failure::new("export --format backup needs --out FILE"));
    }
    if args.image != QrImageFormat::Png && args.format != ExportFormat::GoogleQr {
        return Err(Failure::new(format!(
            "--image applies only to --format google-qr, not {name}"
        )));
    }
    if args.image != QrImageFormat::Png && args.out.is_none() {
        return Err(Failure::new(
            "--image needs --out DIR (without it the QR codes are shown in the terminal)",
        ));
    }
    if args.password_stdin && args.format != ExportFormat::Backup {
        return Err(Failure::new(format!(
            "--password-stdin applies only to --format backup, not {name}"
        )));
    }
    Ok(())
}

fn google_qr(
    vault: &Vault,
    dir: Option<&Path>,
    image: QrImageFormat,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let export = countersign_core::export::google_migration(vault)?;
    for left in &export.left_out {
        eprintln!(
            "countersign: skipped {} ({}): {}",
            left.display_name,
            left.profile_id.get(..8).unwrap_or(&left.profile_id),
            left.reason
        );
    }
    if let Some(why) = export.nothing_exported() {
        return Err(Failure::new(why));
    }
    let uris = export.uris;
    let n = uris.len();
    match dir {
        None => {
            for (i, uri) in uris.iter().enumerate() {
                let art = terminal_qr(uri.as_bytes())?;
                writeln!(out, "{art}\nQR {} of {n}\n", i + 1)?;
            }
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| Failure::new(format!("cannot create {}: {e}", dir.display())))?;
            for (i, uri) in uris.iter().enumerate() {
                let path = dir.join(format!(
                    "countersign-export-{}.{}",
                    i + 1,
                    image.extension()
                ));
                let bytes = render_file(uri.as_bytes(), image)?;
                write_private(&path, &bytes)?;
                writeln!(out, "{}", path.display())?;
            }
        }
    }
    writeln!(
        out,
        "exported {} profile(s) in {n} QR code(s){}",
        export.exported,
        if export.left_out.is_empty() {
            String::new()
        } else {
            format!("; skipped {}", export.left_out.len())
        }
    )?;
    Ok(())
}

fn make_qr(data: &[u8]) -> Result<qrcode::QrCode, Failure> {
    qrcode::QrCode::with_error_correction_level(data, qrcode::EcLevel::M)
        .map_err(|e| Failure::new(format!("cannot make a QR code: {e}")))
}

/// A QR code as Unicode half blocks, drawn for a dark-background terminal.
pub fn terminal_qr(data: &[u8]) -> Result<String, Failure> {
    use qrcode::render::unicode::Dense1x2;
    Ok(make_qr(data)?
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

/// A QR code as the bytes of a PNG or SVG file.
fn render_file(data: &[u8], kind: QrImageFormat) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let qr = make_qr(data)?;
    match kind {
        QrImageFormat::Png => {
            let img = qr
                .render::<image::Luma<u8>>()
                .quiet_zone(true)
                .module_dimensions(6, 6)
                .build();
            let mut bytes = Zeroizing::new(Vec::new());
            img.write_to(
                &mut std::io::Cursor::new(&mut *bytes),
                image::ImageFormat::Png,
            )
            .map_err(|e| Failure::new(format!("cannot encode PNG: {e}")))?;
            Ok(bytes)
        }
        QrImageFormat::Svg => {
            let svg = qr
                .render::<qrcode::render::svg::Color<'_>>()
                .quiet_zone(true)
                .min_dimensions(300, 300)
                .build();
            Ok(Zeroizing::new(svg.into_bytes()))
        }
    }
}

/// Writes a new file (replacing one of the same name) readable by the owner
/// only.
fn write_private(path: &PathBuf, bytes: &[u8]) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::new(format!("cannot write {}: {e}", path.display()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(fail)?;
    f.write_all(bytes).map_err(fail)?;
    f.sync_all().map_err(fail)
}
