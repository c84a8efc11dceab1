//! The commands of the `tessera` binary, one file each, and what they share.

pub mod args;
pub mod bake;
pub mod bench;
pub mod demo;
pub mod export;
pub mod fidelity;
pub mod info;
pub mod live;
pub mod matching;
pub mod merge;
pub mod overlay;
pub mod progress;
pub mod render;
pub mod synth;
pub mod util;
pub mod view;
pub mod web;

/// Hands memory freed during set-up (file buffers, the overview's build, the pinned levels'
/// reads) back to the OS. glibc keeps freed heap pages mapped unless they sit at the very
/// top, so without this they would count against the RSS bound for as long as the process runs.
/// A process-wide act, so the binary does it (after building a renderer), not the library.
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages; no allocation is touched.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Vulkan's window-system code complains when XDG_RUNTIME_DIR is unset (headless servers,
/// CI); a private 0700 folder silences it, removed again when this is dropped (every run
/// once left an empty `tessera-xdg-PID` folder behind in the temporary folder).
pub struct RuntimeDir(Option<std::path::PathBuf>);

impl RuntimeDir {
    /// Sets XDG_RUNTIME_DIR to a folder of this process's own where it is unset. Call once
    /// at start, before any thread exists.
    pub fn quiet() -> RuntimeDir {
        if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
            return RuntimeDir(None);
        }
        use std::os::unix::fs::DirBuilderExt;
        let dir = std::env::temp_dir().join(format!("tessera-xdg-{}", std::process::id()));
        if std::fs::DirBuilder::new().mode(0o700).create(&dir).is_err() {
            return RuntimeDir(None);
        }
        // SAFETY: called from `main` before any other thread is started.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
        RuntimeDir(Some(dir))
    }
}

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
