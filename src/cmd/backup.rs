//! `observatory backup FILE`: a consistent copy of the database (SQLite's
//! VACUUM INTO), taken while other commands read and write it.

use std::fs::OpenOptions;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::cli::BackupArgs;
use crate::config::Settings;
use crate::outln;
use crate::output::{self, human_bytes};

pub fn run(args: &BackupArgs, settings: &Settings) -> Result<ExitCode> {
    let started = Instant::now();
    let dest = &args.file;
    // (a first load under way dropped indexes it builds at its end: the
    // store waits for it, so that a copy never lacks them)
    let store = super::export::open_existing(settings)?;
    if dest.is_dir() {
        // (a dated name: `observatory.db` there may be the database itself)
        bail!(
            "{} is a folder; give the backup a file name (e.g. {})",
            dest.display(),
            dest.join(format!(
                "observatory-{}.db",
                chrono::Local::now().format("%Y-%m-%d")
            ))
            .display()
        );
    }
    // (the database, or one of the files SQLite and observatory keep
    // beside it: replacing its WAL would lose what was committed in it)
    if let Ok(a) = std::fs::canonicalize(dest) {
        for suffix in [
            "",
            "-wal",
            "-shm",
            "-journal",
            ".lock",
            ".watch",
            ".first-load",
        ] {
            let mut beside = settings.db.as_os_str().to_owned();
            beside.push(suffix);
            if std::fs::canonicalize(&beside).is_ok_and(|b| a == b) {
                let what = match suffix {
                    "" => "the database itself".to_owned(),
                    _ => format!("the database's own {suffix} file"),
                };
                bail!("{} is {what}; give the backup another name", dest.display());
            }
        }
    }
    refuse_dest(dest, args.force)?;
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    // (made as export makes its folders: private, a backup holds secrets;
    // the ones made here go again if the copy fails, deepest first)
    let made: Vec<PathBuf> = dir
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && a.symlink_metadata().is_err())
        .map(Path::to_owned)
        .collect();
    let remove_made = || {
        for d in &made {
            // (only while empty: never what another process put there)
            let _ = std::fs::remove_dir(d);
        }
    };
    if let Err(e) = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
    {
        // (a folder deeper down that cannot be made: those above it go)
        remove_made();
        return Err(e).with_context(|| format!("cannot create the folder {}", dir.display()));
    }
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "observatory.db".into());
    remove_stale_parts(&dir, &name, settings.quiet);
    let tmp = dir.join(format!(".{name}.{}.part", std::process::id()));
    // Ctrl-C or SIGTERM stops the copy (SQLite interrupted), and the
    // partial file goes with it.
    let interrupt = store.conn.get_interrupt_handle();
    let stopped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let stopped = stopped.clone();
        ctrlc::set_handler(move || {
            stopped.store(true, std::sync::atomic::Ordering::SeqCst);
            interrupt.interrupt();
        })
        .context("cannot install the Ctrl-C handler")?;
    }
    let result = copy(&store.conn, &tmp, dest, args.force);
    if result.is_err() {
        remove_part(&tmp);
        remove_made();
    }
    if stopped.load(std::sync::atomic::Ordering::SeqCst) && result.is_err() {
        bail!(
            "backup stopped (Ctrl-C or SIGTERM); the partial copy was removed and {} was not written",
            dest.display()
        );
    }
    result?;
    let bytes = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
    let schema_version = store.user_version()?;
    if settings.json {
        output::print_json(&json!({
            "file": dest.to_string_lossy(),
            "database": settings.db.to_string_lossy(),
            "bytes": bytes,
            "schema_version": schema_version,
            "elapsed_ms": started.elapsed().as_millis() as u64,
        }))?;
    } else if !settings.quiet {
        outln!(
            "Backed up {} to {} ({}).",
            settings.db.display(),
            dest.display(),
            human_bytes(bytes)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A partial copy and the journal SQLite keeps beside it.
fn remove_part(tmp: &Path) {
    let _ = std::fs::remove_file(tmp);
    let mut journal = tmp.as_os_str().to_owned();
    journal.push("-journal");
    let _ = std::fs::remove_file(journal);
}

/// Partial copies that backups into `dir` named `name` left when they were
/// killed (`.NAME.PID.part` and its journal, of a process no longer
/// running): each is a copy of transcript content, up to the database's
/// size, that nothing else would remove (nor `forget`).
fn remove_stale_parts(dir: &Path, name: &str, quiet: bool) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.");
    let mut removed = 0;
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|f| f.strip_suffix(".part"))
            .and_then(|pid| pid.parse::<i32>().ok())
            .filter(|pid| *pid > 0)
        else {
            continue;
        };
        // (signal 0: is it running? EPERM says it is, another user's)
        // SAFETY: kill with signal 0 sends nothing.
        let running = unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if !running {
            remove_part(&e.path());
            removed += 1;
        }
    }
    if removed > 0 && !quiet {
        crate::errln!(
            "removed {} left in {} by backups that were killed",
            super::count(removed, "partial copy", "partial copies"),
            dir.display()
        );
    }
}

/// Refuse `dest` when it is there and not a regular file (--force replaces
/// a backup written before, never a device, a FIFO or a socket, nor a link
/// with the file it points to left as it was), or is there at all without
/// `force`.
fn refuse_dest(dest: &Path, force: bool) -> Result<()> {
    let Ok(m) = dest.symlink_metadata() else {
        return Ok(());
    };
    if !m.is_file() {
        let t = m.file_type();
        let what = if t.is_symlink() {
            "a symbolic link"
        } else if t.is_fifo() {
            "a FIFO"
        } else if t.is_socket() {
            "a socket"
        } else if t.is_char_device() || t.is_block_device() {
            "a device"
        } else {
            "not a regular file"
        };
        bail!(
            "{} is {what}; a backup is written only as a regular file, and --force replaces only one: give another path (nothing was written)",
            dest.display()
        );
    }
    if !force {
        bail!(
            "{} already exists; pass --force to replace it (nothing was written)",
            dest.display()
        );
    }
    Ok(())
}

/// VACUUM INTO an empty 0600 file `tmp`, then rename it to `dest` (looked
/// at again first: the copy may have taken minutes).
fn copy(conn: &rusqlite::Connection, tmp: &Path, dest: &Path, force: bool) -> Result<()> {
    // VACUUM INTO accepts an empty file: creating it first sets its mode.
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    let Some(target) = tmp.to_str() else {
        bail!(
            "{} is not a UTF-8 path; SQLite cannot write there",
            tmp.display()
        );
    };
    // (a database read read-only has `query_only` on, which refuses VACUUM
    // INTO too; it is opened read-only all the same)
    conn.pragma_update(None, "query_only", false)?;
    conn.execute("VACUUM INTO ?1", [target])
        .with_context(|| format!("copying the database into {}", tmp.display()))?;
    std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot chmod 600 {}", tmp.display()))?;
    std::fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot flush {} to disk", tmp.display()))?;
    refuse_dest(dest, force)?;
    std::fs::rename(tmp, dest)
        .with_context(|| format!("cannot move {} to {}", tmp.display(), dest.display()))?;
    Ok(())
}
