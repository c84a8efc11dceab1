//! The bake and the store: round trips, resume, reuse, and every kind of bad input.

mod common;

use std::fs;
use std::path::Path;
use tessera::library::{self, page_bytes, BakeOptions, Library, StoreError, StoreParams};
use tessera::library::{ClipFrame, SourceKey, StoreWriter};

const PARAMS: StoreParams = StoreParams::new(32, 2);

fn bake(tiles: &Path, out: &Path) -> Result<library::BakeReport, library::BakeError> {
    library::bake(&BakeOptions {
        tiles_dir: tiles.into(),
        out: out.into(),
        params: PARAMS,
        rebuild: false,
        shard: None,
        progress: None,
        shots: Default::default(),
    })
}

fn tiles_dir(n: u32) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let tiles = dir.path().join("tiles");
    fs::create_dir_all(tiles.join("nested")).unwrap();
    for i in 0..n {
        let sub = if i % 3 == 0 { "nested/" } else { "" };
        common::picture(i as u64 + 10, 50 + i, 40 + 2 * i)
            .save(tiles.join(format!("{sub}p{i:02}.png")))
            .unwrap();
    }
    (dir, tiles)
}

#[test]
fn store_round_trip_returns_the_baked_pages() {
    let (dir, tiles) = tiles_dir(6);
    let out = dir.path().join("lib.tlib");
    let report = bake(&tiles, &out).unwrap();
    assert_eq!((report.tiles, report.baked, report.reused), (6, 6, 0));
    let lib = Library::open(&out).unwrap();
    assert_eq!(lib.tile_count(), 6);
    assert_eq!(lib.levels(), 6);
    // Tile ids follow sorted source paths, recursively.
    assert_eq!(lib.manifest.tiles[0].source.path, "nested/p00.png");
    // Every page equals a fresh bake of its picture, and level 0 is its average colour.
    for (tile, entry) in lib.manifest.tiles.iter().enumerate() {
        let img = library::decode_image(&tiles.join(&entry.source.path)).unwrap();
        let (levels, signature) = library::bake_tile(&img, PARAMS);
        for (level, want) in levels.iter().enumerate() {
            let mut page = vec![0; page_bytes(level)];
            lib.read_page(tile as u32, level, &mut page).unwrap();
            assert_eq!(&page, want, "tile {tile} level {level}");
        }
        assert_eq!(
            &lib.signatures()[tile * 12..(tile + 1) * 12],
            &signature[..]
        );
    }
}

#[test]
fn bad_files_are_named_skipped_and_counted() {
    let (dir, tiles) = tiles_dir(3);
    fs::write(tiles.join("empty.jpg"), b"").unwrap();
    fs::write(tiles.join("notes.txt"), b"not a picture at all").unwrap();
    let mut png = fs::read(tiles.join("p01.png")).unwrap();
    png.truncate(png.len() / 2);
    fs::write(tiles.join("truncated.png"), &png).unwrap();
    // A decompression bomb: a valid PNG header claiming 100000×100000 pixels.
    let mut bomb = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    bomb.extend_from_slice(&100_000u32.to_be_bytes());
    bomb.extend_from_slice(&100_000u32.to_be_bytes());
    bomb.extend_from_slice(&[8, 2, 0, 0, 0]);
    let crc = crc32fast::hash(&bomb[12..]);
    bomb.extend_from_slice(&crc.to_be_bytes());
    fs::write(tiles.join("bomb.png"), &bomb).unwrap();

    let out = dir.path().join("lib.tlib");
    let report = bake(&tiles, &out).unwrap();
    assert_eq!(report.tiles, 3);
    let mut skipped: Vec<_> = report.skipped.iter().map(|s| s.path.as_str()).collect();
    skipped.sort();
    assert_eq!(
        skipped,
        ["bomb.png", "empty.jpg", "notes.txt", "truncated.png"]
    );
    let bomb_reason = &report
        .skipped
        .iter()
        .find(|s| s.path == "bomb.png")
        .unwrap()
        .reason;
    assert!(
        bomb_reason.to_lowercase().contains("limit"),
        "{bomb_reason}"
    );
    // The summary survives in the library for `info`.
    assert_eq!(Library::open(&out).unwrap().manifest.skipped.len(), 4);
}

#[test]
fn no_usable_picture_is_an_error_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let tiles = dir.path().join("tiles");
    fs::create_dir_all(&tiles).unwrap();
    fs::write(tiles.join("a.txt"), b"hello").unwrap();
    let out = dir.path().join("lib.tlib");
    let err = bake(&tiles, &out).unwrap_err().to_string();
    assert!(err.contains("no usable picture"), "{err}");
    assert!(
        !out.exists(),
        "a failed first bake must leave no library behind"
    );
    let err = bake(&dir.path().join("missing"), &out)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("missing") && err.contains("not found"),
        "{err}"
    );
}

#[test]
fn refuses_an_output_that_is_not_ours() {
    let (dir, tiles) = tiles_dir(2);
    let out = dir.path().join("precious");
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("thesis.tex"), b"years of work").unwrap();
    let err = bake(&tiles, &out).unwrap_err();
    assert!(
        matches!(err, library::BakeError::Store(StoreError::NotOurs { .. })),
        "{err}"
    );
    assert_eq!(fs::read(out.join("thesis.tex")).unwrap(), b"years of work");
}

#[test]
fn rebake_keeps_ids_appends_new_pictures_and_retires_removed_ones() {
    let (dir, tiles) = tiles_dir(5);
    let out = dir.path().join("lib.tlib");
    bake(&tiles, &out).unwrap();
    let first = Library::open(&out).unwrap().manifest;
    common::picture(77, 60, 60)
        .save(tiles.join("new.png"))
        .unwrap();
    let p01_bytes = fs::read(tiles.join("p01.png")).unwrap();
    let p01_mtime = fs::metadata(tiles.join("p01.png"))
        .unwrap()
        .modified()
        .unwrap();
    fs::remove_file(tiles.join("p01.png")).unwrap();
    let report = bake(&tiles, &out).unwrap();
    assert_eq!(
        (report.tiles, report.baked, report.reused, report.retired),
        (5, 1, 4, 1)
    );
    let lib = Library::open(&out).unwrap();
    assert_eq!(
        lib.manifest.library_id, first.library_id,
        "a re-bake keeps the library's id space"
    );
    assert_eq!(lib.tile_count(), 6);
    for (old, now) in first.tiles.iter().zip(&lib.manifest.tiles) {
        assert_eq!(old.source, now.source, "ids keep their pictures");
        assert_eq!(now.retired, old.source.path == "p01.png");
    }
    assert_eq!(lib.manifest.tiles[5].source.path, "new.png");
    assert_eq!(lib.active_tiles().len(), 5);
    // A retired tile's pages are still readable (a mosaic could still name it).
    let p01 = first
        .tiles
        .iter()
        .position(|t| t.source.path == "p01.png")
        .unwrap() as u32;
    let mut page = vec![0; page_bytes(3)];
    lib.read_page(p01, 3, &mut page).unwrap();
    // Nothing changed: nothing is baked or written.
    let report = bake(&tiles, &out).unwrap();
    assert!(report.unchanged);
    assert_eq!((report.baked, report.reused), (0, 5));
    // The picture comes back as it was: its tile comes back with it, same id.
    fs::write(tiles.join("p01.png"), &p01_bytes).unwrap();
    fs::File::options()
        .write(true)
        .open(tiles.join("p01.png"))
        .unwrap()
        .set_modified(p01_mtime)
        .unwrap();
    let report = bake(&tiles, &out).unwrap();
    assert_eq!((report.tiles, report.baked, report.retired), (6, 0, 0));
    let lib = Library::open(&out).unwrap();
    assert!(!lib.is_retired(p01));
    assert_eq!(lib.tile_count(), 6);
    // Changed (same path, new bytes): the old tile is retired, the new picture appended.
    common::picture(5, 70, 70)
        .save(tiles.join("p01.png"))
        .unwrap();
    let report = bake(&tiles, &out).unwrap();
    assert_eq!((report.baked, report.retired), (1, 1));
    let lib = Library::open(&out).unwrap();
    assert!(lib.is_retired(p01));
    assert_eq!(lib.tile_count(), 7);
}

/// Appends `n` records the way a bake does, then "dies" (drops the writer without commit).
fn interrupted_bake(out: &Path, n: u32) {
    let mut w = StoreWriter::open(out, PARAMS, false).unwrap();
    for i in 0..n {
        let img =
            image::DynamicImage::ImageRgb8(common::picture(i as u64 + 10, 50 + i, 40 + 2 * i));
        let (levels, sig) = library::bake_tile(&img, PARAMS);
        let key = SourceKey {
            path: format!("p{i:02}.png"),
            size: 0,
            mtime_ns: 0,
        };
        w.append_still(key, &levels, sig).unwrap();
    }
    w.checkpoint().unwrap();
}

#[test]
fn an_interrupted_first_bake_never_opens_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lib.tlib");
    interrupted_bake(&out, 3);
    let err = Library::open(&out).err().expect("must not open");
    assert!(matches!(err, StoreError::Incomplete(_)), "{err}");
    assert!(err.to_string().contains("resume"), "{err}");
    // A torn last journal line (the moment of the crash) is ignored.
    let journal = out.join("bake.journal");
    let mut text = fs::read(&journal).unwrap();
    text.extend_from_slice(b"{\"record\": 3, \"sou");
    fs::write(&journal, text).unwrap();
    let w = StoreWriter::open(&out, PARAMS, false).unwrap();
    assert_eq!(w.appended_count(), 3);
    drop(w);
    // Damage the last record's pages: resume keeps only the intact prefix.
    let level = out.join("frames-05.bin");
    let len = fs::metadata(&level).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&level)
        .unwrap()
        .set_len(len - 10)
        .unwrap();
    let w = StoreWriter::open(&out, PARAMS, false).unwrap();
    assert_eq!(w.appended_count(), 2);
}

#[test]
fn an_interrupted_rebake_leaves_the_old_library_valid() {
    let (dir, tiles) = tiles_dir(3);
    let out = dir.path().join("lib.tlib");
    bake(&tiles, &out).unwrap();
    interrupted_bake(&out, 2);
    let lib = Library::open(&out).unwrap();
    assert_eq!(lib.tile_count(), 3);
    let mut page = vec![0; page_bytes(5)];
    lib.read_page(2, 5, &mut page).unwrap();
}

#[test]
fn damaged_or_foreign_stores_are_refused_with_the_fix() {
    let (dir, tiles) = tiles_dir(3);
    let out = dir.path().join("lib.tlib");
    bake(&tiles, &out).unwrap();
    let manifest = out.join("manifest.json");
    let original = fs::read_to_string(&manifest).unwrap();

    // Edited manifest: checksum mismatch.
    fs::write(
        &manifest,
        original.replacen("\"max_tile\": 32", "\"max_tile\": 64", 1),
    )
    .unwrap();
    let err = Library::open(&out).err().unwrap().to_string();
    assert!(
        err.contains("checksum") && err.contains("--rebuild"),
        "{err}"
    );

    // Future version.
    fs::write(
        &manifest,
        original.replacen("\"version\": 3", "\"version\": 99", 1),
    )
    .unwrap();
    let err = Library::open(&out).err().unwrap().to_string();
    assert!(err.contains("version 99"), "{err}");
    // Version 2 with square tiles is read as the current format (its pages are the same):
    // this edit fails only the checksum.
    fs::write(
        &manifest,
        original.replacen("\"version\": 3", "\"version\": 2", 1),
    )
    .unwrap();
    let err = Library::open(&out).err().unwrap().to_string();
    assert!(err.contains("checksum"), "{err}");

    // Signatures table damaged.
    fs::write(&manifest, &original).unwrap();
    let records = fs::read_dir(&out)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("signatures-"))
        .unwrap()
        .path();
    let mut bytes = fs::read(&records).unwrap();
    bytes[5] ^= 0xff;
    fs::write(&records, &bytes).unwrap();
    assert!(Library::open(&out)
        .err()
        .unwrap()
        .to_string()
        .contains("signatures table checksum"));
    bytes[5] ^= 0xff;
    fs::write(&records, &bytes).unwrap();

    // A flipped texel is caught when its page is read.
    let lib = Library::open(&out).unwrap();
    let level = out.join("frames-03.bin");
    let mut texels = fs::read(&level).unwrap();
    texels[7] ^= 0x55;
    fs::write(&level, &texels).unwrap();
    let mut page = vec![0; page_bytes(3)];
    let err = lib.read_page(0, 3, &mut page).unwrap_err().to_string();
    assert!(err.contains("checksum"), "{err}");

    // Not a library at all.
    let err = Library::open(dir.path()).err().unwrap().to_string();
    assert!(err.contains("not a tessera library"), "{err}");
}

/// Copies a folder tree (the checked-in fixtures are read-only inputs).
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            fs::copy(e.path(), &dest).unwrap();
        }
    }
}

#[test]
fn a_library_and_mosaic_made_by_the_first_release_still_open_and_grow() {
    // tests/data/v1: three tiles baked at 4 px and a 4×3 mosaic, written by tessera before
    // tile ids were made stable (format version 1, no `generation`, no `retired`).
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/v1"),
        dir.path(),
    );
    let lib_path = dir.path().join("lib.tlib");
    let lib = Library::open(&lib_path).unwrap();
    // A checkout gives the pictures new times: give them back the ones the bake recorded.
    for t in &lib.manifest.tiles {
        let mtime =
            std::time::UNIX_EPOCH + std::time::Duration::from_nanos(t.source.mtime_ns as u64);
        fs::File::options()
            .write(true)
            .open(dir.path().join("tiles").join(&t.source.path))
            .unwrap()
            .set_modified(mtime)
            .unwrap();
    }
    let mosaic = dir.path().join("m.mosaic");
    let scene = tessera::Scene::open(&mosaic).unwrap();
    assert!(
        scene.colours.is_none(),
        "version 1 recorded no target colours"
    );
    // So it draws, but a tint is refused with the fix.
    let png = dir.path().join("t.png");
    let (code, _, err) = common::tessera(&[
        "render",
        mosaic.to_str().unwrap(),
        "-o",
        png.to_str().unwrap(),
        "--size",
        "40x30",
        "--renderer",
        "cpu",
        "--tint",
        "0.5",
    ]);
    assert!(code != 0 && err.contains("tessera match"), "{err}");
    assert!(!png.exists());
    let rebake = |tiles: &Path| {
        library::bake(&BakeOptions {
            tiles_dir: tiles.into(),
            out: lib_path.clone(),
            params: StoreParams::new(4, 1),
            rebuild: false,
            shard: None,
            progress: None,
            shots: Default::default(),
        })
        .unwrap()
    };
    let tiles = dir.path().join("tiles");
    // The first bake upgrades it to the current format, keeping every id; the mosaic opens.
    let report = rebake(&tiles);
    assert!(report.upgraded && report.unchanged);
    assert_eq!(Library::open(&lib_path).unwrap().manifest.version, 3);
    tessera::Scene::open(&mosaic).expect("the old mosaic opens on the upgraded library");
    assert!(!lib_path.join("level-00.bin").exists());
    let manifest = fs::read(lib_path.join("manifest.json")).unwrap();
    assert!(rebake(&tiles).unchanged);
    assert_eq!(fs::read(lib_path.join("manifest.json")).unwrap(), manifest);
    common::picture(5, 12, 12)
        .save(tiles.join("yellow.png"))
        .unwrap();
    let report = rebake(&tiles);
    assert_eq!((report.tiles, report.baked, report.reused), (4, 1, 3));
    let grown = Library::open(&lib_path).unwrap();
    assert_eq!(grown.manifest.library_id, lib.manifest.library_id);
    assert_eq!(grown.manifest.tiles[3].source.path, "yellow.png");
    tessera::Scene::open(&mosaic).expect("the old mosaic opens on the grown library");
}

#[test]
fn clips_round_trip_and_an_interrupted_bake_keeps_only_intact_clips() {
    use tessera::library::build_pyramid;
    use tessera::library::synth_frame;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("clips.tlib");
    // 64 px tiles; clips raw up to 16 px, JPEG at 32 and 64.
    let params = StoreParams {
        raw_max: 16,
        ..StoreParams::new(64, 1)
    };
    let clip = |i: u32| -> Vec<Vec<Vec<u8>>> {
        (0..5)
            .map(|f| build_pyramid(&synth_frame(i, f, 5, 64)))
            .collect()
    };
    let key = |name: &str| SourceKey {
        path: name.into(),
        size: 1,
        mtime_ns: 1,
    };
    let encode = |frames: Vec<Vec<Vec<u8>>>| -> Vec<ClipFrame> {
        frames
            .into_iter()
            .map(|f| ClipFrame::new(f, &params))
            .collect()
    };
    let mut w = StoreWriter::open(&out, params, false).unwrap();
    let a = w
        .append_clip(key("a.mp4"), None, &encode(clip(1)), 2, vec![1.0, 2.0, 3.0])
        .unwrap();
    w.append_clip(key("b.mp4"), None, &encode(clip(2)), 0, vec![4.0, 5.0, 6.0])
        .unwrap();
    let img = image::DynamicImage::ImageRgb8(common::picture(3, 70, 70));
    let (levels, sig) = library::bake_tile(&img, params);
    w.append_still(key("c.png"), &levels, sig).unwrap();
    w.checkpoint().unwrap();
    drop(w); // interrupted before its commit
    assert!(matches!(
        Library::open(&out),
        Err(StoreError::Incomplete(_))
    ));
    // The crash tore clip b's largest blob: resuming keeps clip a only.
    let blobs = out.join("clips-06.bin");
    let len = fs::metadata(&blobs).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&blobs)
        .unwrap()
        .set_len(len - 10)
        .unwrap();
    let w = StoreWriter::open(&out, params, false).unwrap();
    assert_eq!(w.appended_count(), 1);
    assert_eq!(w.appended_from(&key("a.mp4")).len(), 1);
    w.commit(vec![a.clone()], Vec::new(), "(test)".into())
        .unwrap();
    let lib = Library::open(&out).unwrap();
    let c = lib.clip(0);
    assert_eq!((c.first, c.frames, c.key), (0, 5, 2));
    assert_eq!(lib.record_count(), 5);
    assert_eq!(lib.signatures(), &[1.0, 2.0, 3.0]);
    let frames = clip(1);
    for level in 0..=6 {
        let mut got = vec![0u8; 5 * page_bytes(level)];
        lib.read_frames(0, 0, 5, level, &mut got).unwrap();
        for (f, (page, frame)) in got.chunks_exact(page_bytes(level)).zip(&frames).enumerate() {
            let want = &frame[level];
            let worst = page
                .iter()
                .zip(want)
                .map(|(x, y)| x.abs_diff(*y))
                .max()
                .unwrap();
            // Raw levels are exact; the JPEG ones (quality 90) close.
            let allowed = if level <= 4 { 0 } else { 40 };
            assert!(worst <= allowed, "level {level} frame {f}: off by {worst}");
        }
    }
    // A flipped byte in a JPEG frame is caught, named, when it is read.
    let mut bytes = fs::read(&blobs).unwrap();
    let mid = bytes.len() - 200;
    bytes[mid] ^= 0x5a;
    fs::write(&blobs, &bytes).unwrap();
    let mut page = vec![0u8; page_bytes(6)];
    let err = lib
        .read_frames(0, 4, 1, 6, &mut page)
        .unwrap_err()
        .to_string();
    assert!(err.contains("a.mp4") && err.contains("checksum"), "{err}");
}
