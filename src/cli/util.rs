//! Small helpers shared by the commands: parsers for sizes, byte counts and points, and
//! human-readable byte counts.

/// "1920x1080" → (1920, 1080).
pub fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("`{s}`: expected WIDTHxHEIGHT, e.g. 1920x1080"))?;
    let p = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("`{s}`: `{v}` is not a positive whole number"))
    };
    Ok((p(w)?, p(h)?))
}

/// "512MiB", "2GiB", "300MB", "4096" → bytes.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}`: expected a size such as 512MiB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "kb" => 1000,
        "m" | "mib" => 1 << 20,
        "mb" => 1_000_000,
        "g" | "gib" => 1 << 30,
        "gb" => 1_000_000_000,
        other => return Err(format!("`{s}`: unknown unit `{other}` (use KiB, MiB, GiB)")),
    };
    Ok((n * mult as f64) as u64)
}

/// "960,540.5" → (960.0, 540.5); both finite.
pub fn parse_point(s: &str) -> Result<(f64, f64), String> {
    let (x, y) = s
        .split_once(',')
        .ok_or_else(|| format!("`{s}`: expected X,Y in cells, e.g. 96,54"))?;
    let p = |v: &str| {
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or_else(|| format!("`{s}`: `{v}` is not a finite number"))
    };
    Ok((p(x)?, p(y)?))
}

/// Screen pixels per cell: a finite number within the zoom limits.
pub fn parse_cell_px(s: &str) -> Result<f64, String> {
    use tessera::camera::{MAX_CELL_PX, MIN_CELL_PX};
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| (MIN_CELL_PX..=MAX_CELL_PX).contains(v))
        .ok_or_else(|| {
            format!("`{s}`: pixels per cell must be a number from {MIN_CELL_PX} (1/64) to {MAX_CELL_PX}")
        })
}

/// `text` quoted for a POSIX shell, for commands printed to be pasted: `'it'\''s'`.
pub fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c))
    {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// 1536 → "1.5 KiB".
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Bytes free to an unprivileged writer on the file system holding `dir`, if it can be asked.
pub fn free_bytes(dir: &std::path::Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a statvfs the call fills.
    (unsafe { libc::statvfs(path.as_ptr(), &mut stat) } == 0)
        .then(|| stat.f_bavail as u64 * stat.f_frsize as u64)
}

static INTERRUPTED: std::sync::OnceLock<std::sync::Arc<std::sync::atomic::AtomicBool>> =
    std::sync::OnceLock::new();

/// A flag Ctrl-C (SIGINT or SIGTERM) sets, so a long render stops between frames and cleans
/// up (no partial file under the asked name); a second Ctrl-C quits at once.
pub fn interrupt_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    use std::sync::atomic::{AtomicBool, Ordering};
    INTERRUPTED
        .get_or_init(|| {
            let flag = std::sync::Arc::new(AtomicBool::new(false));
            let seen = flag.clone();
            let installed = ctrlc::set_handler(move || {
                if seen.swap(true, Ordering::Relaxed) {
                    std::process::exit(130);
                }
                eprintln!("interrupted: stopping after this frame (Ctrl-C again to quit at once)");
            });
            if let Err(e) = installed {
                tracing::debug!("no Ctrl-C handler: {e}");
            }
            flag
        })
        .clone()
}

/// Whether Ctrl-C stopped the work (the command then exits 130, as shells expect).
pub fn was_interrupted() -> bool {
    INTERRUPTED
        .get()
        .is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes_bytes_points() {
        assert_eq!(parse_size("1001x333"), Ok((1001, 333)));
        assert!(parse_size("10x0").is_err());
        assert_eq!(parse_bytes("512MiB"), Ok(512 << 20));
        assert_eq!(parse_bytes("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_bytes("100"), Ok(100));
        assert!(parse_bytes("5 parsecs").is_err());
        assert_eq!(parse_point("1.5, -2"), Ok((1.5, -2.0)));
        for bad in ["NaN,NaN", "inf,2", "1,-inf", "1"] {
            assert!(parse_point(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_cell_px("64"), Ok(64.0));
        for bad in ["0", "-3", "1e-9", "NaN", "inf", "5000", "x"] {
            assert!(parse_cell_px(bad).is_err(), "{bad}");
        }
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(shell_quote("web/out"), "web/out");
        assert_eq!(shell_quote("my web/l'été"), "'my web/l'\\''été'");
    }
}
