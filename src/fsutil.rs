//! Files that are either whole or absent: written under a hidden temporary name beside the
//! destination and renamed over it only once complete, so a full disk or an interruption
//! never leaves a truncated file under the name asked for.
//!
//! The temporary's name is unique to the process and the write (`.NAME.PID-N.partial`):
//! two commands writing one output at once each finish a whole file of their own, and the
//! last rename wins, instead of both writing into one temporary. A temporary whose process
//! is gone (a kill, a power cut) is removed by the next write of the same output.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh temporary name for writing `path`: `.NAME.PID-N.partial` in the same folder (so
/// the final rename never crosses file systems), never the same twice in one process.
pub fn partial_path(path: &Path) -> PathBuf {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(
        "{}{}-{n}.partial",
        partial_prefix(path),
        std::process::id()
    ))
}

/// `.NAME.`: what every temporary of `path` starts with.
fn partial_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    format!(".{name}.")
}

/// Removes the temporaries of `path` left by processes that no longer run (killed while
/// writing it). Those of running processes, this one's included, are left alone.
pub fn remove_stale_partials(path: &Path) {
    let prefix = partial_prefix(path);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let legacy = format!("{prefix}partial");
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        // An older tessera wrote `.NAME.partial`, with no owner; ours are `.NAME.PID-N.partial`
        // (anything else, such as `.NAME.x.PID-N.partial` of an output `NAME.x`, is not ours).
        let owner = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".partial"))
            .and_then(|owner| owner.split_once('-'))
            .filter(|(_, n)| n.parse::<u64>().is_ok())
            .and_then(|(pid, _)| pid.parse::<u32>().ok());
        let stale = match owner {
            Some(pid) => !process_exists(pid),
            None => name == legacy,
        };
        if stale {
            let stale = entry.path();
            // A folder written whole and moved into place (an export's pyramid), or a file.
            let removed = if stale.is_dir() {
                std::fs::remove_dir_all(&stale)
            } else {
                std::fs::remove_file(&stale)
            };
            if removed.is_ok() {
                tracing::info!("removed {}, left by an interrupted write", stale.display());
            }
        }
    }
}

/// Whether a process with this id runs (or may: when in doubt, yes).
fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    alive || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Moves the complete folder `staged` (a `partial_path` of `path`) to `path`, replacing the
/// folder there: the old one is moved aside first and removed after, so `path` names the
/// old folder or the new one, never a mix of both.
pub fn replace_dir(staged: &Path, path: &Path) -> std::io::Result<()> {
    let old = partial_path(path);
    let had_old = match std::fs::rename(path, &old) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(e),
    };
    if let Err(e) = std::fs::rename(staged, path) {
        if had_old {
            let _ = std::fs::rename(&old, path);
        }
        return Err(e);
    }
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(())
}

/// Writes `path` through `write`, atomically: on any error the temporary is removed and
/// `path` is left as it was.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    remove_stale_partials(path);
    let partial = partial_path(path);
    let result = (|| {
        let mut out = BufWriter::new(File::create_new(&partial)?);
        write(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&partial, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Whether `a` and `b` name one file on disk (through links, `..` or another spelling).
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Whether `path` (which need not exist) is `dir` or lies inside it.
pub fn is_within(path: &Path, dir: &Path) -> bool {
    let Ok(dir) = dir.canonicalize() else {
        return false;
    };
    // The deepest part of `path` that exists, resolved, and the rest as written.
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = path.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name);
                existing = parent;
            }
            _ => return false,
        }
    }
    let Ok(mut resolved) = existing.canonicalize() else {
        return false;
    };
    resolved.extend(rest.iter().rev());
    resolved.starts_with(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_failed_write_leaves_neither_file_nor_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        std::fs::write(&path, b"old").unwrap();
        let err = write_atomically(&path, |f| {
            f.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        write_atomically(&path, |f| f.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "a temporary was left: {names:?}");
    }

    /// Two writers of one output, their writes interleaved: each finishes a whole file and
    /// succeeds, and what is left is one of them whole (one shared temporary made this a
    /// mix of both, and failed the second rename).
    #[test]
    fn two_writers_of_one_output_each_write_a_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("same.png");
        let both_open = std::sync::Barrier::new(2);
        let first_written = std::sync::Barrier::new(2);
        let contents = [vec![b'a'; 100_000], vec![b'b'; 1_000]];
        std::thread::scope(|s| {
            let writers: Vec<_> = contents
                .iter()
                .enumerate()
                .map(|(i, bytes)| {
                    let (path, both_open, first_written) = (&path, &both_open, &first_written);
                    s.spawn(move || {
                        write_atomically(path, |f| {
                            both_open.wait();
                            if i == 1 {
                                first_written.wait();
                            }
                            f.write_all(bytes)?;
                            f.flush()?;
                            if i == 0 {
                                first_written.wait();
                            }
                            Ok(())
                        })
                    })
                })
                .collect();
            for w in writers {
                w.join().unwrap().expect("each writer succeeds");
            }
        });
        let left = std::fs::read(&path).unwrap();
        assert!(
            contents.contains(&left),
            "a mix of both: {} bytes",
            left.len()
        );
    }

    #[test]
    fn temporaries_of_gone_processes_are_removed_by_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("poster.tif");
        // A process that has ended: a child reaped.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        let stale = dir.path().join(format!(".poster.tif.{gone}-0.partial"));
        let older = dir.path().join(".poster.tif.partial");
        let running = partial_path(&path);
        let other_output = dir.path().join(format!(".other.tif.{gone}-0.partial"));
        // The temporary of an output `poster.tif.png`, which starts like ours.
        let longer_name = dir.path().join(format!(".poster.tif.png.{gone}-0.partial"));
        for p in [&stale, &older, &running, &other_output, &longer_name] {
            std::fs::write(p, b"junk").unwrap();
        }
        write_atomically(&path, |f| f.write_all(b"whole")).unwrap();
        assert!(!stale.exists() && !older.exists());
        assert!(
            running.exists(),
            "a running process's temporary was removed"
        );
        assert!(
            other_output.exists() && longer_name.exists(),
            "another output's temporary was removed"
        );
    }

    #[test]
    fn a_path_within_a_folder_is_found_however_it_is_spelled() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("lib.tlib");
        std::fs::create_dir_all(lib.join("pages")).unwrap();
        assert!(is_within(&lib.join("pages/x.png"), &lib));
        assert!(is_within(&lib.join("new/deeper/x.png"), &lib));
        assert!(is_within(
            &dir.path().join("lib.tlib/../lib.tlib/y.png"),
            &lib
        ));
        assert!(is_within(&lib, &lib));
        assert!(!is_within(&dir.path().join("lib.tlib.png"), &lib));
        assert!(!is_within(&dir.path().join("x.png"), &lib));
        std::fs::write(lib.join("m"), b"").unwrap();
        assert!(same_file(
            &lib.join("m"),
            &dir.path().join("lib.tlib/pages/../m")
        ));
        assert!(!same_file(&lib.join("m"), &lib.join("missing")));
    }
}
