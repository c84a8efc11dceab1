//! Deep Zoom export: the pyramid's structure, and its tiles stitched back equal a single
//! render of the same level.

mod common;

use common::tessera;
use tessera::export::DziLayout;
use tessera::render::StreamConfig;
use tessera::{Backend, Camera};

#[test]
fn a_dzi_pyramid_has_every_level_and_stitches_back_to_one_render() {
    let fx = common::fixture(16, 32, (24, 16));
    let dir = fx.dir.path().join("dzi");
    let (code, out, err) = tessera(&[
        "export",
        fx.mosaic.to_str().unwrap(),
        "--dzi",
        dir.to_str().unwrap(),
        "--name",
        "m",
        "--cell-px",
        "8",
        "--tile-size",
        "64",
        "--format",
        "png",
        "--renderer",
        "cpu",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("192×128 px"), "{out}");
    let descriptor = std::fs::read_to_string(dir.join("m.dzi")).unwrap();
    assert!(
        descriptor.contains(r#"Format="png" Overlap="1" TileSize="64""#),
        "{descriptor}"
    );
    assert!(
        descriptor.contains(r#"<Size Width="192" Height="128"/>"#),
        "{descriptor}"
    );
    // The page names the pyramid's tiles and size itself, and carries its viewer.
    let page = std::fs::read_to_string(dir.join("m.html")).unwrap();
    assert!(
        page.contains(r#"var name = "m";"#) && page.contains(r#"Width: "192", Height: "128""#),
        "{page}"
    );
    assert!(dir.join("openseadragon/openseadragon.min.js").is_file());

    // Every level 0..=8 (2^8 = 256 ≥ 192), every tile, each of the size its rectangle says.
    let layout = DziLayout::new(192, 128, 64, 1);
    assert_eq!(layout.max_level(), 8);
    for level in 0..=layout.max_level() {
        let (cols, rows) = layout.tiles(level);
        let files = std::fs::read_dir(dir.join(format!("m_files/{level}")))
            .unwrap()
            .count();
        assert_eq!(files as u32, cols * rows, "level {level}");
        for row in 0..rows {
            for col in 0..cols {
                let [x0, y0, x1, y1] = layout.tile_rect(level, col, row);
                let tile = image::open(dir.join(format!("m_files/{level}/{col}_{row}.png")))
                    .unwrap()
                    .to_rgba8();
                assert_eq!(
                    tile.dimensions(),
                    (x1 - x0, y1 - y0),
                    "level {level} tile {col},{row}"
                );
            }
        }
    }

    // The finest level stitched from its tiles (overlaps dropped) is the mosaic rendered
    // once at 8 px per cell.
    let max = layout.max_level();
    let (cols, rows) = layout.tiles(max);
    let mut stitched = image::RgbaImage::new(192, 128);
    for row in 0..rows {
        for col in 0..cols {
            let [x0, y0, ..] = layout.tile_rect(max, col, row);
            let tile = image::open(dir.join(format!("m_files/{max}/{col}_{row}.png")))
                .unwrap()
                .to_rgba8();
            let (ox, oy) = (col * 64 - x0, row * 64 - y0);
            let inner = image::imageops::crop_imm(&tile, ox, oy, 64, 64).to_image();
            image::imageops::replace(&mut stitched, &inner, (col * 64) as i64, (row * 64) as i64);
        }
    }
    // The mosaic fills the frame, so the background (the tests' own) never shows.
    let sync = StreamConfig {
        synchronous: true,
        ..Default::default()
    };
    let mut once = common::renderer(&fx, Backend::Cpu, 192, 128, sync);
    let camera = Camera {
        center: glam::DVec2::new(12.0, 8.0),
        cell_px: 8.0,
    };
    let (expected, _) = once.render(&camera).unwrap();
    let (mean, max_diff) = common::compare(stitched.as_raw(), expected.as_raw());
    assert!(
        max_diff <= 1,
        "stitched vs one render: mean {mean}, max {max_diff}"
    );

    // The 1×1 level is the mosaic's average colour: not the background.
    let top = image::open(dir.join("m_files/0/0_0.png"))
        .unwrap()
        .to_rgba8();
    assert_eq!(top.dimensions(), (1, 1));
    assert_ne!(&top.get_pixel(0, 0).0[..3], &common::BACKGROUND);
}

#[test]
fn a_picture_rendered_in_bands_equals_one_render() {
    let fx = common::fixture(16, 32, (24, 16));
    let sync = StreamConfig {
        synchronous: true,
        ..Default::default()
    };
    // Off-centre, at a zoom that blends two levels and leaves the mosaic's edge in view.
    let camera = Camera {
        center: glam::DVec2::new(9.3, 6.1),
        cell_px: 23.7,
    };
    let (w, h) = (480, 330);
    let (expected, _) = common::renderer(&fx, Backend::Cpu, w, h, sync)
        .render(&camera)
        .unwrap();
    // Tiles that do not divide the picture: the last column and band are partial.
    let mut bands = common::renderer(&fx, Backend::Cpu, 128, 64, sync);
    let mut picture = Vec::new();
    let mut heights = Vec::new();
    tessera::export::render_bands(
        &mut bands,
        &camera,
        (w, h),
        |rows, n| {
            assert_eq!(rows.len(), (w * n * 4) as usize);
            picture.extend_from_slice(rows);
            heights.push(n);
            Ok(())
        },
        |_, _| {},
    )
    .unwrap();
    assert_eq!(heights, vec![64, 64, 64, 64, 64, 10]);
    let (mean, max) = common::compare(&picture, expected.as_raw());
    assert!(max <= 1, "bands vs one render: mean {mean}, max {max}");
}

#[test]
fn a_poster_streams_into_a_png_is_gathered_into_a_jpeg_and_refuses_formats_that_cannot() {
    let fx = common::fixture(16, 32, (24, 16));
    let poster = |name: &str, size: &str| {
        let path = fx.dir.path().join(name);
        let args = [
            "render",
            fx.mosaic.to_str().unwrap(),
            "-o",
            path.to_str().unwrap(),
        ];
        let (code, out, err) =
            tessera(&[&args[..], &["--size", size, "--renderer", "cpu"]].concat());
        (path, code, out, err)
    };
    // BMP needs the whole picture, and a JPEG past 65,535 px a side cannot be: refused, no file.
    for (name, size, says) in [
        ("poster.bmp", "4200x4100", "name it .png or .tif"),
        ("wide.jpg", "70000x300", "JPEG posters may take"),
    ] {
        let (path, code, _, err) = poster(name, size);
        assert_ne!(code, 0, "{name}");
        assert!(err.contains(says), "{err}");
        assert!(!path.exists());
    }
    let (png, code, out, err) = poster("poster.png", "4200x4100");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("poster"), "{out}");
    assert_eq!(image::image_dimensions(&png).unwrap(), (4200, 4100));
    // The same poster as a JPEG: the same picture, but for JPEG's loss.
    let (jpeg, code, out, err) = poster("poster.jpg", "4200x4100");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("poster"), "{out}");
    let jpeg = image::open(&jpeg).unwrap().to_rgba8();
    let png = image::open(&png).unwrap().to_rgba8();
    assert_eq!(jpeg.dimensions(), (4200, 4100));
    let (mean, _) = common::compare(jpeg.as_raw(), png.as_raw());
    assert!(mean < 4.0, "JPEG poster vs PNG poster: mean {mean}");
}

/// An export into a folder that holds an earlier, deeper one of the same name replaces it:
/// no level folder of the old pyramid is left beside the new one.
#[test]
fn a_second_export_replaces_the_first_whole() {
    let fx = common::fixture(8, 32, (12, 8));
    let dir = fx.dir.path().join("dzi");
    let export = |cell_px: &str, format: &str| {
        let (code, _, err) = tessera(&[
            "export",
            fx.mosaic.to_str().unwrap(),
            "--dzi",
            dir.to_str().unwrap(),
            "--name",
            "m",
            "--cell-px",
            cell_px,
            "--tile-size",
            "64",
            "--format",
            format,
            "--renderer",
            "cpu",
        ]);
        assert_eq!(code, 0, "{err}");
    };
    export("16", "png");
    let deep = DziLayout::new(192, 128, 64, 1).max_level();
    assert!(dir.join(format!("m_files/{deep}")).is_dir());
    export("2", "jpg");
    let shallow = DziLayout::new(24, 16, 64, 1).max_level();
    let mut levels: Vec<u32> = std::fs::read_dir(dir.join("m_files"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_str().unwrap().parse().unwrap())
        .collect();
    levels.sort_unstable();
    assert_eq!(levels, (0..=shallow).collect::<Vec<_>>());
    for level in 0..=shallow {
        for tile in std::fs::read_dir(dir.join(format!("m_files/{level}"))).unwrap() {
            let name = tile.unwrap().file_name();
            assert!(
                name.to_str().unwrap().ends_with(".jpg"),
                "{name:?} left over"
            );
        }
    }
}

/// An export never writes into a folder of the user's: one holding other files is refused
/// with them untouched; an earlier export's folder is replaced.
#[test]
fn an_export_into_a_folder_of_other_files_is_refused() {
    let fx = common::fixture(6, 16, (4, 3));
    let web = fx.dir.path().join("web");
    std::fs::create_dir_all(&web).unwrap();
    std::fs::write(web.join("notes.txt"), "mine").unwrap();
    let args = |dir: &std::path::Path| {
        [
            "export".to_string(),
            fx.mosaic.display().to_string(),
            "--dzi".into(),
            dir.display().to_string(),
            "--renderer".into(),
            "cpu".into(),
        ]
    };
    let run = |dir: &std::path::Path| {
        let args = args(dir);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        common::tessera(&args)
    };
    let (code, _, err) = run(&web);
    assert!(code != 0 && err.contains("notes.txt"), "{err}");
    assert_eq!(std::fs::read_dir(&web).unwrap().count(), 1);
    // A fresh folder, then the same export again over it.
    let fresh = fx.dir.path().join("fresh");
    for _ in 0..2 {
        let (code, _, err) = run(&fresh);
        assert_eq!(code, 0, "{err}");
    }
    assert!(fresh.join("m.html").is_file() && fresh.join("openseadragon").is_dir());
}
