//! The bake lock: one writer per library. An advisory lock (`flock`) on `bake.lock`, which
//! the system releases when its process ends, however it ends: a killed bake never blocks
//! the next one. While held, the file names its holder's process, for the message a second
//! bake gets; a clean end empties it, so a name found there by the next holder is a bake
//! that was killed, and the new bake says it takes over.

use super::{io_err, Result, StoreError, LOCK_FILE};
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt as _;
use std::path::Path;

/// The lock on a library, held while this value lives.
pub(super) struct BakeLock {
    file: File,
}

impl BakeLock {
    /// Takes the lock of the library in `dir` (which exists), or says which process holds it.
    pub(super) fn take(dir: &Path) -> Result<BakeLock> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        // A lock just released can stay held for a moment by a child process forked in
        // between (it shares the descriptor until it execs): try again briefly before
        // calling the library busy.
        let mut tries = 0;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if tries < 25 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(StoreError::Locked {
                        path: dir.to_path_buf(),
                        holder: holder(&path),
                    })
                }
                Err(fs::TryLockError::Error(e)) => return Err(io_err(&path)(e)),
            }
        }
        if let Some(pid) = holder(&path) {
            tracing::warn!(
                "{}: the bake of process {pid} ended without finishing; taking over its lock \
                 (what it committed or journaled is kept)",
                dir.display()
            );
        }
        let mut lock = BakeLock { file };
        lock.name_holder(Some(std::process::id()))
            .map_err(io_err(&path))?;
        Ok(lock)
    }

    fn name_holder(&mut self, pid: Option<u32>) -> std::io::Result<()> {
        self.file.set_len(0)?;
        if let Some(pid) = pid {
            self.file.write_all_at(format!("{pid}\n").as_bytes(), 0)?;
        }
        Ok(())
    }
}

impl Drop for BakeLock {
    fn drop(&mut self) {
        // Emptied before the system releases the lock: the next holder finds no name.
        let _ = self.name_holder(None);
    }
}

/// A reader's hold on a library that no bake may write meanwhile (a shared `flock` on the
/// same file: any number of readers, or one bake). Released when this value is dropped.
pub struct ReadLock {
    _file: Option<File>,
}

impl ReadLock {
    /// Holds the library in `dir` against bakes, or says which bake is writing it. A
    /// library with no lock file was never written by a bake that is still running; one
    /// on a read-only volume cannot be written by anybody.
    pub fn take(dir: &Path) -> Result<ReadLock> {
        let path = dir.join(LOCK_FILE);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(ReadLock { _file: None })
            }
            Err(e) => return Err(io_err(&path)(e)),
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(ReadLock { _file: Some(file) }),
            Err(fs::TryLockError::WouldBlock) => Err(StoreError::Locked {
                path: dir.to_path_buf(),
                holder: holder(&path),
            }),
            Err(fs::TryLockError::Error(e)) => Err(io_err(&path)(e)),
        }
    }
}

/// The process named in the lock file at `path`, if any.
fn holder(path: &Path) -> Option<u32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}
