//! Bakes split into shards and merged: `bake --shard K/N` in separate processes, then
//! `tessera merge`, gives the library a whole bake gives (the same tiles, ids, signatures
//! and page files, byte for byte); merging again keeps every id; schedulers' variables pick
//! the shard; and every way a shard or a merge can be wrong is refused by name, with no
//! merged library that opens half-written.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use tessera::library::Library;

/// Page shape of every library here: large levels above 16 px, so stills' raw pages and
/// clips' JPEG blobs are both merged.
const SHAPE: [&str; 4] = ["--max-tile", "64", "--raw-max", "16"];

/// A folder of pictures (in folders named so that path order and name order differ: `a/`,
/// `a-b/`, `a.png`) and a video of six shots.
fn tiles_folder(root: &Path) -> PathBuf {
    let tiles = root.join("tiles");
    for sub in ["a", "a-b", "c/d"] {
        std::fs::create_dir_all(tiles.join(sub)).unwrap();
    }
    for i in 0..36u64 {
        let folder = ["", "a/", "a-b/", "c/d/"][i as usize % 4];
        common::picture(i, 40 + (i as u32 * 11) % 60, 36 + (i as u32 * 7) % 50)
            .save(tiles.join(format!("{folder}p{i:02}.png")))
            .unwrap();
    }
    common::picture(99, 50, 40)
        .save(tiles.join("a.png"))
        .unwrap();
    common::write_shots(&tiles.join("a/shots.mp4"), &[30, 26, 34, 28, 31, 27]);
    tiles
}

fn tessera() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
}

fn bake(tiles: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut cmd = tessera();
    cmd.args([
        "bake",
        "--tiles",
        tiles.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ])
    .args(SHAPE)
    .args(extra);
    cmd
}

fn run(cmd: &mut Command) -> String {
    let (code, out, err) = common::output(cmd);
    assert_eq!(code, 0, "{cmd:?}\n{out}{err}");
    out
}

/// `(exit code, stderr)` of a command that must be refused: not a panic, not a success.
fn refused(cmd: &mut Command) -> String {
    let (code, out, err) = common::output(cmd);
    assert!(
        code != 0 && code != 101 && !err.contains("panicked"),
        "{cmd:?}: code {code}\n{out}{err}"
    );
    err
}

fn merge(inputs: &[&Path], out: &Path) -> Command {
    let mut cmd = tessera();
    cmd.arg("merge").args(inputs).arg("-o").arg(out);
    cmd
}

/// Shards `1..=count` of `tiles`, baked by `count` processes at once.
fn bake_shards(tiles: &Path, root: &Path, count: u32) -> Vec<PathBuf> {
    let outs: Vec<PathBuf> = (1..=count)
        .map(|k| root.join(format!("s{k}.tlib")))
        .collect();
    let children: Vec<_> = outs
        .iter()
        .enumerate()
        .map(|(k, out)| {
            bake(tiles, out, &["--shard", &format!("{}/{count}", k + 1)])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    outs
}

/// A library's files that hold pages, by name, with their bytes.
fn page_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".bin") && !n.starts_with("signatures-"))
        .map(|n| (n.clone(), std::fs::read(dir.join(&n)).unwrap()))
        .collect()
}

/// Every tile's manifest entry, as text (source, shot, records, pages' places, retired).
fn tiles_of(library: &Library) -> Vec<String> {
    library
        .manifest
        .tiles
        .iter()
        .map(|t| format!("{t:?}"))
        .collect()
}

fn ids_by_path(library: &Library) -> BTreeMap<String, Vec<u32>> {
    let mut ids: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for id in library.active_tiles() {
        ids.entry(library.tile(id).source.path.clone())
            .or_default()
            .push(id);
    }
    ids
}

fn render(mosaic: &Path, out: &Path) -> Vec<u8> {
    run(tessera()
        .args([
            "render",
            mosaic.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .args(["--size", "480x320", "--renderer", "cpu", "--cell-px", "40"]));
    std::fs::read(out).unwrap()
}

fn match_mosaic(library: &Path, target: &Path, out: &Path) {
    run(tessera().args([
        "match",
        "--library",
        library.to_str().unwrap(),
        "--target",
        target.to_str().unwrap(),
        "--cells",
        "24x16",
        "-o",
        out.to_str().unwrap(),
    ]));
}

#[test]
fn four_shards_merged_are_the_whole_bake() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let tiles = tiles_folder(root);
    let whole = root.join("whole.tlib");
    run(&mut bake(&tiles, &whole, &[]));
    let shards = bake_shards(&tiles, root, 4);
    let all = root.join("all.tlib");
    let shard_refs: Vec<&Path> = shards.iter().map(PathBuf::as_path).collect();
    run(&mut merge(&shard_refs, &all));

    let (w, m) = (Library::open(&whole).unwrap(), Library::open(&all).unwrap());
    assert!(
        w.has_clips() && w.tile_count() > 40,
        "{} tiles",
        w.tile_count()
    );
    // Every source in exactly one shard, each shard an ordinary library that says which.
    let mut in_shards = 0;
    for (k, shard) in shards.iter().enumerate() {
        let library = Library::open(shard).unwrap();
        in_shards += library.tile_count();
        let info = run(tessera().arg("info").arg(shard));
        assert!(
            info.contains(&format!("shard        {}/4", k + 1)),
            "{info}"
        );
    }
    assert_eq!(in_shards, w.tile_count());
    // The same tiles under the same ids, the same signatures, the same page files.
    assert_eq!(tiles_of(&m), tiles_of(&w));
    assert!(m.signatures() == w.signatures(), "signatures differ");
    let (pw, pm) = (page_files(&whole), page_files(&all));
    assert_eq!(pw.keys().collect::<Vec<_>>(), pm.keys().collect::<Vec<_>>());
    for (name, bytes) in &pw {
        assert!(pm[name] == *bytes, "{name} differs");
    }
    assert!(m.manifest.shard.is_none());

    // A mosaic matched against either renders the same.
    let target = root.join("target.png");
    common::picture(7, 240, 160).save(&target).unwrap();
    let (mw, mm) = (root.join("w.mosaic"), root.join("m.mosaic"));
    // A shard is an ordinary library too.
    let ms = root.join("s.mosaic");
    match_mosaic(&shards[0], &target, &ms);
    assert!(!render(&ms, &root.join("s.png")).is_empty());
    match_mosaic(&whole, &target, &mw);
    match_mosaic(&all, &target, &mm);
    assert!(
        render(&mw, &root.join("w.png")) == render(&mm, &root.join("m.png")),
        "the renders differ"
    );
}

#[test]
fn merging_again_keeps_every_id_and_copies_only_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let tiles = tiles_folder(root);
    let shards = bake_shards(&tiles, root, 3);
    let all = root.join("all.tlib");

    // Two shards first, then the third added: the first merge's ids all stay.
    run(&mut merge(&[&shards[0], &shards[1]], &all));
    let first = tiles_of(&Library::open(&all).unwrap());
    let target = root.join("target.png");
    common::picture(8, 240, 160).save(&target).unwrap();
    let mosaic = root.join("m.mosaic");
    match_mosaic(&all, &target, &mosaic);
    let before = render(&mosaic, &root.join("before.png"));
    let out = run(&mut merge(&[&shards[0], &shards[1], &shards[2]], &all));
    let second = Library::open(&all).unwrap();
    assert_eq!(tiles_of(&second)[..first.len()], first[..], "{out}");
    assert_eq!(
        second.tile_count(),
        shards
            .iter()
            .map(|s| Library::open(s).unwrap().tile_count())
            .sum::<u32>()
    );
    assert!(
        render(&mosaic, &root.join("after.png")) == before,
        "the mosaic changed"
    );

    // The same shards again: nothing to write.
    let manifest = std::fs::read(all.join("manifest.json")).unwrap();
    let out = run(&mut merge(&[&shards[0], &shards[1], &shards[2]], &all));
    assert!(out.contains("unchanged"), "{out}");
    assert_eq!(std::fs::read(all.join("manifest.json")).unwrap(), manifest);

    // One picture changed and one added; only their shards are baked again.
    let ids = ids_by_path(&second);
    let changed = "a/p05.png";
    let shard_of = |path: &str| {
        shards
            .iter()
            .position(|s| ids_by_path(&Library::open(s).unwrap()).contains_key(path))
            .unwrap()
    };
    common::picture(500, 70, 50)
        .save(tiles.join(changed))
        .unwrap();
    common::picture(501, 70, 50)
        .save(tiles.join("c/new.png"))
        .unwrap();
    let mut rebaked = vec![shard_of(changed)];
    let new_shard = (1..=3)
        .find(|&k| {
            let s = tessera::library::Shard::parse(&format!("{k}/3")).unwrap();
            s.takes("c/new.png")
        })
        .unwrap()
        - 1;
    rebaked.push(new_shard);
    rebaked.dedup();
    for &k in &rebaked {
        run(&mut bake(
            &tiles,
            &shards[k],
            &["--shard", &format!("{}/3", k + 1)],
        ));
    }
    let out = run(&mut merge(&[&shards[0], &shards[1], &shards[2]], &all));
    assert!(
        out.contains("2 copied") && out.contains("1 retired"),
        "{out}"
    );
    let third = Library::open(&all).unwrap();
    let now = ids_by_path(&third);
    for (path, old) in &ids {
        if path != changed {
            assert_eq!(&now[path], old, "{path} moved");
        }
    }
    let old_id = ids[changed][0];
    assert!(third.is_retired(old_id));
    assert!(now[changed][0] >= second.tile_count() && now.contains_key("c/new.png"));
}

#[test]
fn schedulers_pick_the_shard() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let tiles = root.join("tiles");
    std::fs::create_dir_all(&tiles).unwrap();
    for i in 0..24u64 {
        common::picture(i, 40, 30)
            .save(tiles.join(format!("p{i:02}.png")))
            .unwrap();
    }
    let paths = |lib: &Path| {
        ids_by_path(&Library::open(lib).unwrap())
            .into_keys()
            .collect::<Vec<_>>()
    };
    let explicit = root.join("explicit.tlib");
    run(&mut bake(&tiles, &explicit, &["--shard", "2/3"]));

    // sbatch --array=1-3, task 2.
    let slurm = root.join("slurm.tlib");
    run(bake(&tiles, &slurm, &["--shard", "auto"])
        .env("SLURM_ARRAY_TASK_ID", "2")
        .env("SLURM_ARRAY_TASK_MIN", "1")
        .env("SLURM_ARRAY_TASK_COUNT", "3"));
    // A Kubernetes Indexed Job of 3 completions, index 1.
    let k8s = root.join("k8s.tlib");
    run(bake(&tiles, &k8s, &["--shards", "3"]).env("JOB_COMPLETION_INDEX", "1"));
    for lib in [&slurm, &k8s] {
        assert_eq!(paths(lib), paths(&explicit), "{}", lib.display());
        let shard = Library::open(lib).unwrap().manifest.shard.unwrap();
        assert_eq!(shard.to_string(), "2/3");
    }
    assert!(!paths(&explicit).is_empty() && paths(&explicit).len() < 24);
}

#[test]
fn bad_shards_and_merges_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let tiles = root.join("tiles");
    std::fs::create_dir_all(&tiles).unwrap();
    for i in 0..16u64 {
        common::picture(i, 40, 30)
            .save(tiles.join(format!("p{i:02}.png")))
            .unwrap();
    }
    let out = root.join("x.tlib");
    let scheduler_free = |cmd: &mut Command| {
        for var in ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"] {
            cmd.env_remove(var);
        }
    };
    for (shard, says) in [
        ("0/4", "K counts from 1 to 4"),
        ("5/4", "K counts from 1 to 4"),
        ("1/0", "shard count 0"),
        ("two/4", "expected K/N"),
        ("auto", "SLURM_ARRAY_TASK_ID"),
    ] {
        let mut cmd = bake(&tiles, &out, &["--shard", shard]);
        scheduler_free(&mut cmd);
        let err = refused(&mut cmd);
        assert!(err.contains(says), "--shard {shard}: {err}");
        assert!(!out.exists(), "--shard {shard} left a library");
    }
    let err = refused(bake(&tiles, &out, &["--shards", "3"]).env("JOB_COMPLETION_INDEX", "3"));
    assert!(err.contains("3/3") || err.contains("4/3"), "{err}");

    let shards = bake_shards(&tiles, root, 2);
    // A shard re-baked as another shard (or whole) would retire the tiles it holds.
    let err = refused(&mut bake(&tiles, &shards[0], &["--shard", "2/2"]));
    assert!(
        err.contains("shard 1/2") && err.contains("--shard 1/2"),
        "{err}"
    );
    let err = refused(&mut bake(&tiles, &shards[0], &[]));
    assert!(err.contains("--shard 1/2"), "{err}");

    let merged = root.join("all.tlib");
    let absent_or_invalid = |what: &str| {
        assert!(
            Library::open(&merged).is_err(),
            "{what}: a merged library opens"
        );
    };
    // Shards of other options.
    let other = root.join("other.tlib");
    run(tessera().args([
        "bake",
        "--tiles",
        tiles.to_str().unwrap(),
        "-o",
        other.to_str().unwrap(),
        "--max-tile",
        "32",
        "--shard",
        "2/2",
    ]));
    let err = refused(&mut merge(&[&shards[0], &other], &merged));
    assert!(
        err.contains("other.tlib")
            && err.contains("--max-tile 32")
            && err.contains("--max-tile 64"),
        "{err}"
    );
    absent_or_invalid("options differ");
    // Shards of another shape or fit: pages cut differently.
    for (name, flag, value, ours) in [
        ("wide.tlib", "--tile-aspect", "16:9", "--tile-aspect 1:1"),
        ("padded.tlib", "--fit", "pad", "--fit crop"),
    ] {
        let other = root.join(name);
        run(tessera()
            .args([
                "bake",
                "--tiles",
                tiles.to_str().unwrap(),
                "-o",
                other.to_str().unwrap(),
                flag,
                value,
                "--shard",
                "2/2",
            ])
            .args(SHAPE));
        let err = refused(&mut merge(&[&shards[0], &other], &merged));
        assert!(
            err.contains(name) && err.contains(&format!("{flag} {value}")) && err.contains(ours),
            "{err}"
        );
        absent_or_invalid("shapes differ");
    }
    // The output among the inputs; an input twice.
    let err = refused(&mut merge(&[&shards[0], &shards[1]], &shards[1]));
    assert!(err.contains("also the merge's output"), "{err}");
    let err = refused(&mut merge(&[&shards[0], &shards[0]], &merged));
    assert!(err.contains("given twice"), "{err}");
    absent_or_invalid("repeated");
    // A shard still being baked: its lock held.
    {
        let lock = std::fs::File::options()
            .read(true)
            .write(true)
            .open(shards[1].join("bake.lock"))
            .unwrap();
        lock.lock().unwrap();
        let err = refused(&mut merge(&[&shards[0], &shards[1]], &merged));
        assert!(
            err.contains("s2.tlib") && err.contains("tessera bake"),
            "{err}"
        );
        absent_or_invalid("locked");
    }
    // A shard missing a file, and one with a damaged page: named, nothing published.
    let missing = root.join("missing.tlib");
    copy_dir(&shards[1], &missing);
    std::fs::remove_file(missing.join("frames-03.bin")).unwrap();
    let err = refused(&mut merge(&[&shards[0], &missing], &merged));
    assert!(err.contains("missing.tlib/frames-03.bin"), "{err}");
    absent_or_invalid("missing file");
    let damaged = root.join("damaged.tlib");
    copy_dir(&shards[1], &damaged);
    let stills = damaged.join("stills-06.bin");
    let mut bytes = std::fs::read(&stills).unwrap();
    let last = bytes.len() - 100;
    bytes[last] ^= 0x40;
    std::fs::write(&stills, bytes).unwrap();
    let err = refused(&mut merge(&[&shards[0], &damaged], &merged));
    assert!(
        err.contains("damaged.tlib/stills-06.bin") && err.contains("checksum"),
        "{err}"
    );
    absent_or_invalid("damaged page");
    // With good shards, the same merge then succeeds (resuming what it had copied).
    run(&mut merge(&[&shards[0], &shards[1]], &merged));
    assert_eq!(Library::open(&merged).unwrap().tile_count(), 16);
    // An output of other options is not overwritten.
    let err = refused(&mut merge(&[&other], &merged));
    assert!(
        err.contains("all.tlib") && err.contains("another library"),
        "{err}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// The recipes of docs/cluster.md, run as written: the Slurm array script once per task
/// (Slurm's variables set as `sbatch --array=1-3` sets them), the Kubernetes Job's command
/// once per index, the GNU parallel script for real; each set of shards merges to the
/// whole bake.
#[test]
fn the_cluster_recipes_run_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let tiles = root.join("tiles");
    std::fs::create_dir_all(&tiles).unwrap();
    for i in 0..20u64 {
        common::picture(i, 40, 30)
            .save(tiles.join(format!("p{i:02}.png")))
            .unwrap();
    }
    // The recipes bake with the default options.
    let whole = root.join("whole.tlib");
    run(tessera()
        .args(["bake", "--tiles"])
        .arg(&tiles)
        .arg("-o")
        .arg(&whole));
    let expected = tiles_of(&Library::open(&whole).unwrap());
    let recipes = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cluster");
    // `tessera` on the PATH, as the set-up leaves it.
    let bin = Path::new(env!("CARGO_BIN_EXE_tessera")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let shell = |program: &str, args: &[&std::ffi::OsStr]| {
        let mut cmd = Command::new(program);
        cmd.args(args).env("PATH", &path).current_dir(root);
        cmd
    };
    let merged_equals_whole = |libraries: &Path, what: &str| {
        let mut shards: Vec<PathBuf> = std::fs::read_dir(libraries)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        shards.sort();
        let refs: Vec<&Path> = shards.iter().map(PathBuf::as_path).collect();
        let out = root.join(format!("{what}.tlib"));
        run(&mut merge(&refs, &out));
        assert_eq!(tiles_of(&Library::open(&out).unwrap()), expected, "{what}");
    };

    // Slurm: one run of the script per array task.
    let slurm = root.join("slurm");
    for task in 1..=3 {
        run(shell(
            "bash",
            &[
                recipes.join("bake-array.sbatch").as_os_str(),
                tiles.as_os_str(),
                slurm.as_os_str(),
            ],
        )
        .env("SLURM_ARRAY_TASK_ID", task.to_string())
        .env("SLURM_ARRAY_TASK_MIN", "1")
        .env("SLURM_ARRAY_TASK_COUNT", "3")
        .env("SLURM_CPUS_PER_TASK", "1"));
    }
    merged_equals_whole(&slurm, "slurm");

    // Kubernetes: the container's command, once per completion index.
    let job = std::fs::read_to_string(recipes.join("bake-job.yaml")).unwrap();
    let completions: u32 = job
        .lines()
        .find_map(|l| l.trim().strip_prefix("completions:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let command = job
        .lines()
        .find_map(|l| l.trim().strip_prefix("- tessera bake"))
        .map(|rest| format!("tessera bake{rest}"))
        .unwrap();
    assert!(
        command.contains(&format!("--shards {completions}")),
        "{command}"
    );
    let k8s = root.join("k8s");
    std::fs::create_dir_all(&k8s).unwrap();
    for index in 0..completions {
        run(shell("sh", &["-c".as_ref(), command.as_ref()])
            .env("TILES", &tiles)
            .env("LIBRARIES", &k8s)
            .env("JOB_COMPLETION_INDEX", index.to_string()));
    }
    merged_equals_whole(&k8s, "k8s");

    // GNU parallel, for real.
    let gnu = root.join("parallel");
    let (code, out, err) = common::output(&mut shell(
        "bash",
        &[
            recipes.join("bake-parallel.sh").as_os_str(),
            tiles.as_os_str(),
            gnu.as_os_str(),
            "3".as_ref(),
        ],
    ));
    assert_eq!(
        code, 0,
        "GNU parallel's recipe failed (is `parallel` installed? apt-get install parallel):\n{out}{err}"
    );
    merged_equals_whole(&gnu, "parallel");
}
