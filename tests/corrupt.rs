//! Corrupted bytes: a file of a library or a mosaic damaged at random (a bit flipped, a run
//! of bytes zeroed, the file cut short), then `tessera info`, `render` (the whole mosaic,
//! and close up where the finest pages, raw and JPEG, are read) and `match` run on it.
//! Whatever the damage: never a panic, never a hang; a command either fails naming what is
//! damaged, or gives the very output of the undamaged files, or (a page found damaged while
//! drawing) logs the error and draws a coarser level in its place. Every byte tessera
//! reads is under a checksum, so no damage may pass unseen into a picture.
//!
//! `TESSERA_CORRUPT_TRIALS=2000 cargo test --release --test corrupt` runs the benchmark's
//! thousands of cases (200 by default).

mod common;

use common::Rng;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A command that has not finished in this long is hung (they take well under a second).
const HANG: Duration = Duration::from_secs(30);

/// What a command did.
struct Run {
    code: i32,
    stderr: String,
}

/// Runs `tessera args` in `dir`, killed (and the test failed) if it hangs.
fn run(dir: &Path, args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read stderr on a thread: a chatty child must not block on a full pipe.
    let mut pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut pipe, &mut text).ok();
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > HANG {
            child.kill().ok();
            child.wait().ok();
            panic!("tessera {} hung in {}", args.join(" "), dir.display());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stderr: reader.join().unwrap(),
    }
}

/// The commands of a trial: what each reads, and the output it writes (if any).
const COMMANDS: [(&str, &[&str]); 4] = [
    ("info", &["info", "clips.mosaic"]),
    (
        "whole.png",
        &[
            "render",
            "clips.mosaic",
            "-o",
            "whole.png",
            "--size",
            "96x72",
            "--renderer",
            "cpu",
        ],
    ),
    (
        "close.png",
        &[
            "render",
            "clips.mosaic",
            "-o",
            "close.png",
            "--size",
            "128x96",
            "--renderer",
            "cpu",
            "--center",
            "6.3,4.4",
            "--cell-px",
            "56",
        ],
    ),
    (
        "again.mosaic",
        &[
            "match",
            "--library",
            "clips.tlib",
            "--target",
            "target.png",
            "--cells",
            "12x9",
            "-o",
            "again.mosaic",
        ],
    ),
];

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
}

/// The output a command wrote, in terms that do not depend on where it ran: a picture's
/// pixels, a mosaic's grid.
fn output_of(dir: &Path, name: &str) -> Option<Vec<u8>> {
    let path = dir.join(name);
    if !path.exists() {
        return None;
    }
    if name.ends_with(".png") {
        return Some(image::open(&path).unwrap().to_rgba8().into_raw());
    }
    let grid = tessera::mosaic::Mosaic::load(&path).unwrap().grid;
    Some(grid.iter().flat_map(|t| t.to_le_bytes()).collect())
}

/// One way of damaging a file.
#[derive(Debug, Clone, Copy)]
enum Damage {
    FlipBit { at: u64, bit: u8 },
    Zero { at: u64, len: u64 },
    Truncate { to: u64 },
}

impl Damage {
    fn pick(rng: &mut Rng, len: u64) -> Damage {
        let at = |rng: &mut Rng| (rng.next() as u64) % len.max(1);
        match rng.below(3) {
            0 => Damage::FlipBit {
                at: at(rng),
                bit: rng.below(8) as u8,
            },
            1 => Damage::Zero {
                at: at(rng),
                len: 1 + rng.below(64) as u64,
            },
            _ => Damage::Truncate { to: at(rng) },
        }
    }

    fn apply(self, path: &Path) {
        let mut bytes = std::fs::read(path).unwrap();
        match self {
            Damage::FlipBit { at, bit } => {
                if let Some(b) = bytes.get_mut(at as usize) {
                    *b ^= 1 << bit;
                }
            }
            Damage::Zero { at, len } => {
                let end = (at + len).min(bytes.len() as u64) as usize;
                bytes[(at as usize).min(end)..end].fill(0);
            }
            Damage::Truncate { to } => bytes.truncate(to as usize),
        }
        std::fs::write(path, bytes).unwrap();
    }
}

#[test]
fn damaged_files_are_named_errors_or_logged_fallbacks_never_panics_or_wrong_pictures() {
    let trials: u64 = std::env::var("TESSERA_CORRUPT_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    // Stills and clips at 64 px; clip levels above 16 px are JPEG blobs.
    let fx = common::clip_fixture(12, 6, 5, 64, 16, (12, 9));
    let pristine = fx.dir.path();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&fx.library)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.push(fx.mosaic.clone());
    files.sort();

    let work = tempfile::tempdir().unwrap();
    // What the undamaged files give.
    let reference_dir = work.path().join("reference");
    copy_dir(pristine, &reference_dir);
    let expected: Vec<Option<Vec<u8>>> = COMMANDS
        .iter()
        .map(|(output, args)| {
            let r = run(&reference_dir, args);
            assert_eq!(
                r.code,
                0,
                "undamaged: tessera {}: {}",
                args.join(" "),
                r.stderr
            );
            output_of(&reference_dir, output)
        })
        .collect();

    let mut rng = Rng(0x5eed_c0de);
    let (mut refused, mut fallbacks, mut unharmed) = (0, 0, 0);
    for trial in 0..trials {
        let victim = &files[rng.below(files.len() as u32) as usize];
        let name = victim.file_name().unwrap().to_string_lossy().into_owned();
        let len = std::fs::metadata(victim).unwrap().len();
        let damage = Damage::pick(&mut rng, len);
        let dir = work.path().join(format!("trial-{trial}"));
        copy_dir(pristine, &dir);
        let in_library = victim.parent() == Some(fx.library.as_path());
        let damaged = if in_library {
            dir.join("clips.tlib").join(&name)
        } else {
            dir.join(&name)
        };
        damage.apply(&damaged);
        let what = format!("trial {trial}: {name} {damage:?}");

        for ((output, args), expected) in COMMANDS.iter().zip(&expected) {
            let r = run(&dir, args);
            let command = format!("{what}: tessera {}", args.join(" "));
            assert!(
                r.code != 101 && !r.stderr.contains("panicked"),
                "{command} panicked:\n{}",
                r.stderr
            );
            if r.code != 0 {
                // Refused: the message names the damaged file, or the library or mosaic it
                // belongs to.
                assert!(
                    [name.as_str(), "clips.tlib", "clips.mosaic"]
                        .iter()
                        .any(|n| r.stderr.contains(n)),
                    "{command} failed without naming what is damaged:\n{}",
                    r.stderr
                );
                assert!(
                    output.starts_with("info") || !dir.join(output).exists(),
                    "{command} failed and left {output}"
                );
                refused += 1;
                continue;
            }
            let got = output_of(&dir, output);
            if &got == expected {
                unharmed += 1;
            } else {
                // Found while drawing: logged once, drawn coarser.
                assert!(
                    output.ends_with(".png") && r.stderr.contains("cannot load tile pages"),
                    "{command} gave a different {output} without a word:\n{}",
                    r.stderr
                );
                assert_eq!(
                    r.stderr.matches("cannot load tile pages").count(),
                    1,
                    "{command}: logged more than once:\n{}",
                    r.stderr
                );
                fallbacks += 1;
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    eprintln!(
        "{trials} damaged files: {refused} commands refused, {fallbacks} drew a logged \
         fallback, {unharmed} gave the undamaged output"
    );
    // The trials reached each kind of outcome (a harness that never damages is no test).
    assert!(
        refused > 0 && fallbacks > 0,
        "{refused} refused, {fallbacks} fallbacks"
    );
}
