//! Tiles of any aspect, end to end through the command line: a 16:9 picture baked at 16:9
//! is drawn whole in a 16:9 cell (at 1:1 its sides are cropped away, or with `--fit pad`
//! it is whole between black bars); a library keeps its tiles' extents; grids count cells of
//! the library's aspect, for a picture and for a video target; Deep Zoom sizes the mosaic by
//! them; bad aspects, a re-bake at another aspect and a mosaic whose recorded aspect was
//! edited are refused by name. (GPU = CPU on such cells: `tests/golden.rs`.)

mod common;

use std::path::{Path, PathBuf};

const RED: [u8; 3] = [220, 30, 30];
const GREEN: [u8; 3] = [30, 200, 60];
const BLUE: [u8; 3] = [30, 60, 220];

/// A 320×180 picture: red in its left eighth, blue in its right eighth, green between.
fn stripes() -> image::RgbImage {
    image::RgbImage::from_fn(320, 180, |x, _| {
        image::Rgb(match x {
            0..40 => RED,
            280.. => BLUE,
            _ => GREEN,
        })
    })
}

/// A library of the stripes picture alone, baked at `aspect`, and a mosaic of `cells`
/// matched from a 1920×1080 green target.
fn one_tile_mosaic(dir: &Path, aspect: &str, cells: &str) -> (PathBuf, PathBuf) {
    one_tile_mosaic_with(dir, aspect, cells, &[])
}

/// `one_tile_mosaic`, baked with more options (`bake_args`).
fn one_tile_mosaic_with(
    dir: &Path,
    aspect: &str,
    cells: &str,
    bake_args: &[&str],
) -> (PathBuf, PathBuf) {
    let tiles = dir.join(format!("tiles-{}", aspect.replace(':', "x")));
    std::fs::create_dir_all(&tiles).unwrap();
    stripes().save(tiles.join("stripes.png")).unwrap();
    let library = dir.join(format!("{}.tlib", aspect.replace(':', "x")));
    let (code, _, err) = common::tessera(
        &[
            "bake",
            "--tiles",
            tiles.to_str().unwrap(),
            "-o",
            library.to_str().unwrap(),
            "--max-tile",
            "64",
            "--tile-aspect",
            aspect,
        ]
        .into_iter()
        .chain(bake_args.iter().copied())
        .collect::<Vec<_>>(),
    );
    assert_eq!(code, 0, "{err}");
    let target = dir.join("target.png");
    image::RgbImage::from_pixel(1920, 1080, image::Rgb(GREEN))
        .save(&target)
        .unwrap();
    let mosaic = dir.join(format!("{}.mosaic", aspect.replace(':', "x")));
    let (code, _, err) = common::tessera(&[
        "match",
        "--library",
        library.to_str().unwrap(),
        "--target",
        target.to_str().unwrap(),
        "--cells-wide",
        cells,
        "-o",
        mosaic.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    (library, mosaic)
}

/// Renders `mosaic` to `out` on the CPU renderer with `more` arguments; asserts it worked.
fn render(mosaic: &Path, out: &Path, more: &[&str]) {
    let mut args = vec![
        "render",
        mosaic.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--renderer",
        "cpu",
    ];
    args.extend(more);
    let (code, stdout, err) = common::tessera(&args);
    assert_eq!(code, 0, "{stdout}{err}");
}

fn near(p: &image::Rgba<u8>, c: [u8; 3]) -> bool {
    (0..3).all(|i| (p[i] as i32 - c[i] as i32).abs() <= 12)
}

#[test]
fn a_wide_tile_is_drawn_whole_in_a_wide_cell() {
    let dir = tempfile::tempdir().unwrap();
    for (aspect, whole) in [("16:9", true), ("1:1", false)] {
        let (_, mosaic) = one_tile_mosaic(dir.path(), aspect, "4");
        let out = dir.path().join(format!("{}.png", aspect.replace(':', "x")));
        // One cell filling a 16:9 frame: 640 px on its longer side.
        render(
            &mosaic,
            &out,
            &[
                "--size",
                "640x360",
                "--cell-px",
                "640",
                "--center",
                "1.5,1.5",
            ],
        );
        let img = image::open(&out).unwrap().to_rgba8();
        let (left, middle, right) = (
            img.get_pixel(5, 180),
            img.get_pixel(320, 180),
            img.get_pixel(634, 180),
        );
        assert!(near(middle, GREEN), "{aspect}: {middle:?}");
        if whole {
            // The frame's edges are the picture's: red at the left, blue at the right, and
            // the cell's bottom row is still the picture (the cell is 360 px high).
            assert!(near(left, RED) && near(right, BLUE), "{left:?} {right:?}");
            assert!(near(img.get_pixel(5, 355), RED));
        } else {
            // A square crop of the middle: green edge to edge.
            assert!(
                near(left, GREEN) && near(right, GREEN),
                "{left:?} {right:?}"
            );
        }
    }
}

/// `--fit pad`: the 16:9 stripes in a square tile whole, black bars above and below (the
/// tile is 64×36 of picture centred in 64×64); a re-bake asking to crop is refused with the
/// fix, and an unknown fit by name.
#[test]
fn a_padded_tile_shows_the_whole_picture_on_black() {
    let dir = tempfile::tempdir().unwrap();
    let (library, mosaic) = one_tile_mosaic_with(dir.path(), "1:1", "4", &["--fit", "pad"]);
    let out = dir.path().join("padded.png");
    // One cell filling a 640×640 frame.
    render(
        &mosaic,
        &out,
        &[
            "--size",
            "640x640",
            "--cell-px",
            "640",
            "--center",
            "1.5,1.5",
        ],
    );
    let img = image::open(&out).unwrap().to_rgba8();
    let black = [0, 0, 0];
    assert!(
        near(img.get_pixel(320, 60), black),
        "{:?}",
        img.get_pixel(320, 60)
    );
    assert!(
        near(img.get_pixel(320, 580), black),
        "{:?}",
        img.get_pixel(320, 580)
    );
    // The middle band is the whole picture: red at its left edge, blue at its right.
    let (left, middle, right) = (
        img.get_pixel(5, 320),
        img.get_pixel(320, 320),
        img.get_pixel(634, 320),
    );
    assert!(
        near(left, RED) && near(middle, GREEN) && near(right, BLUE),
        "{left:?} {middle:?} {right:?}"
    );
    let (code, stdout, _) = common::tessera(&["info", library.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(stdout.contains("padded"), "{stdout}");
    let tiles = dir.path().join("tiles-1x1");
    let bake = |fit: &str| {
        common::tessera(&[
            "bake",
            "--tiles",
            tiles.to_str().unwrap(),
            "-o",
            library.to_str().unwrap(),
            "--fit",
            fit,
        ])
    };
    let (code, _, err) = bake("crop");
    assert!(
        code != 0 && err.contains("--fit pad") && err.contains("--rebuild"),
        "{err}"
    );
    let (code, _, err) = bake("stretch");
    assert!(
        code != 0 && code != 101 && err.contains("stretch") && err.contains("--fit"),
        "{err}"
    );
}

/// A 16:9 library's raw pages are kept as the tile's extent of each page (64×36 … 1×1) and
/// its CRC, not whole pages (what renders from them: the test above); a manifest edited to
/// say version 2 (which kept whole pages) is refused with the fix.
#[test]
fn a_wide_library_keeps_its_tiles_extents_only() {
    let dir = tempfile::tempdir().unwrap();
    let (library, _) = one_tile_mosaic(dir.path(), "16:9", "4");
    let extents = [(1, 1), (2, 2), (4, 3), (8, 5), (16, 9), (32, 18), (64, 36)];
    for (level, (w, h)) in extents.into_iter().enumerate() {
        let file = library.join(format!("frames-{level:02}.bin"));
        let len = std::fs::metadata(&file).unwrap().len();
        assert_eq!(len, w * h * 4 + 4, "{}", file.display());
    }
    // `info` counts what is kept: 64×36×4 bytes at the top level.
    let (_, stdout, _) = common::tessera(&["info", library.to_str().unwrap()]);
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("64×36 px") && l.contains("9.0 KiB")),
        "{stdout}"
    );
    let manifest = library.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replacen("\"version\": 3", "\"version\": 2", 1),
    )
    .unwrap();
    let (code, _, err) = common::tessera(&["info", library.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(
        err.contains("version 2") && err.contains("--rebuild"),
        "{err}"
    );
    // Re-baked with `--rebuild` alone, it keeps its options (16:9, 64 px).
    let tiles = dir.path().join("tiles-16x9");
    let (code, _, err) = common::tessera(&[
        "bake",
        "--tiles",
        tiles.to_str().unwrap(),
        "-o",
        library.to_str().unwrap(),
        "--rebuild",
    ]);
    assert_eq!(code, 0, "{err}");
    let (_, stdout, _) = common::tessera(&["info", library.to_str().unwrap()]);
    assert!(
        stdout.contains("1..64 px") && stdout.contains("aspect 16:9"),
        "{stdout}"
    );
}

#[test]
fn grids_count_cells_of_the_library_aspect_and_deep_zoom_sizes_by_them() {
    let dir = tempfile::tempdir().unwrap();
    for (aspect, rows) in [("16:9", 32), ("1:1", 18)] {
        let (library, mosaic) = one_tile_mosaic(dir.path(), aspect, "32");
        let (code, stdout, err) = common::tessera(&["info", mosaic.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        assert!(stdout.contains(&format!("32×{rows} (")), "{stdout}");
        let (_, stdout, _) = common::tessera(&["info", library.to_str().unwrap()]);
        assert!(stdout.contains(&format!("aspect {aspect}")), "{stdout}");
        if aspect == "16:9" {
            assert!(stdout.contains("64×36 px"), "each level's extent: {stdout}");
            // 32 cells of 64×36 px at --cell-px 64.
            let web = dir.path().join("web");
            let (code, _, err) = common::tessera(&[
                "export",
                mosaic.to_str().unwrap(),
                "--dzi",
                web.to_str().unwrap(),
                "--cell-px",
                "64",
                "--renderer",
                "cpu",
            ]);
            assert_eq!(code, 0, "{err}");
            let dzi = std::fs::read_to_string(web.join("16x9.dzi")).unwrap();
            assert!(
                dzi.contains(r#"Width="2048""#) && dzi.contains(r#"Height="1152""#),
                "{dzi}"
            );
        }
    }
}

#[test]
fn bad_aspects_and_mixed_aspects_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let (library, mosaic) = one_tile_mosaic(dir.path(), "16:9", "8");
    let tiles = dir.path().join("tiles-16x9");
    let bake = |aspect: &str, out: &Path| {
        common::tessera(&[
            "bake",
            "--tiles",
            tiles.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--tile-aspect",
            aspect,
        ])
    };
    let fresh = dir.path().join("fresh.tlib");
    for bad in ["0:9", "16:0", "abc", "9:1", "1:9"] {
        let (code, _, err) = bake(bad, &fresh);
        assert!(code != 0 && code != 101, "{bad}: {err}");
        assert!(
            err.contains(bad) && err.contains("--tile-aspect"),
            "{bad}: {err}"
        );
        assert!(!fresh.exists());
    }
    // A re-bake at another aspect would change every tile: it says how to start over.
    let (code, _, err) = bake("3:2", &library);
    assert!(code != 0 && err.contains("--rebuild"), "{err}");
    // A mosaic whose recorded aspect was edited by hand (same length, another aspect).
    let edited = dir.path().join("edited.mosaic");
    let mut bytes = std::fs::read(&mosaic).unwrap();
    let at = bytes
        .windows(6)
        .position(|w| w == b"[16,9]")
        .expect("the header records the aspect");
    bytes[at + 1..at + 3].copy_from_slice(b"32");
    std::fs::write(&edited, &bytes).unwrap();
    let (code, _, err) = common::tessera(&[
        "render",
        edited.to_str().unwrap(),
        "-o",
        dir.path().join("x.png").to_str().unwrap(),
    ]);
    assert!(
        code != 0 && err.contains("32:9") && err.contains("16:9"),
        "{err}"
    );
}

#[test]
fn a_video_target_is_matched_into_cells_of_the_aspect() {
    let dir = tempfile::tempdir().unwrap();
    let (library, _) = one_tile_mosaic(dir.path(), "16:9", "8");
    // 160×96 frames in 16:9 cells, 10 across: 11 rows keep the frames' aspect.
    let clip = dir.path().join("clip.mp4");
    common::write_shots(&clip, &[12]);
    let mosaic = dir.path().join("v.mosaic");
    let (code, _, err) = common::tessera(&[
        "match",
        "--library",
        library.to_str().unwrap(),
        "--target",
        clip.to_str().unwrap(),
        "--cells-wide",
        "10",
        "-o",
        mosaic.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (_, stdout, _) = common::tessera(&["info", mosaic.to_str().unwrap()]);
    assert!(stdout.contains("10×11 ("), "{stdout}");
    let out = dir.path().join("v.mp4");
    render(&mosaic, &out, &["--size", "320x198"]);
    let mut reader = tessera::video::VideoReader::open(&out).unwrap();
    assert_eq!(reader.size(), (320, 198));
    let frame = reader.next_frame().unwrap().expect("a frame");
    // The mosaic fills the frame (10 cells of 32×18 across, 11 down): the stripes' red at
    // the left edge of the first cell, not the background.
    assert!(
        near(frame.get_pixel(1, 9), RED),
        "{:?}",
        frame.get_pixel(1, 9)
    );
}
