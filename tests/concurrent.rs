//! Readers and a writer: a renderer keeps drawing while `tessera bake` changes its library
//! (tiles added and retired, or the whole library rebuilt). It sees the library as it was
//! when it opened it, never a mix: every frame equals the frame drawn before the bake.
//! Opened again, it sees the new library (or, rebuilt, is told to match again). Two bakes
//! of one library at once: the second refuses, naming the first's process.

mod common;

use glam::DVec2;
use tessera::{Backend, Camera, HeadlessRenderer, RenderOptions, Scene, StreamConfig};

/// A CPU renderer whose budgets are so small that it reads pages from disk again and
/// again: the coarse levels stay, the finest hold a view's pages and no more, evicted from
/// view to view.
fn reader(mosaic: &std::path::Path) -> HeadlessRenderer {
    let opts = RenderOptions {
        width: 128,
        height: 96,
        backend: Backend::Cpu,
        stream: StreamConfig {
            gpu_budget: 320 << 10,
            ram_budget: 32 << 10,
            synchronous: true,
            ..Default::default()
        },
        ..Default::default()
    };
    HeadlessRenderer::new(Scene::open(mosaic).unwrap(), &opts).unwrap()
}

/// Views close enough to read the finest pages, all over the mosaic.
fn cameras() -> Vec<Camera> {
    (0..6)
        .map(|i| Camera {
            center: DVec2::new(1.5 + 2.0 * i as f64, 1.5 + 1.2 * i as f64),
            cell_px: 96.0 + 4.0 * i as f64,
        })
        .collect()
}

/// A sharp frame of `camera` (every page it needs read, none drawn coarser).
fn draw(r: &mut HeadlessRenderer, camera: &Camera) -> Vec<u8> {
    let (frame, stats) = r.render(camera).unwrap();
    assert_eq!(stats.missing, 0, "the view must fit the budget: {stats:?}");
    frame.into_raw()
}

fn draw_all(r: &mut HeadlessRenderer) -> Vec<Vec<u8>> {
    cameras().iter().map(|c| draw(r, c)).collect()
}

/// Runs `bake` over `fx`'s tiles (with `extra` arguments) while `r` draws every camera over
/// and over; each frame must be the one in `expected`. Returns the frames drawn meanwhile.
fn draw_during_bake(
    fx: &common::Fixture,
    r: &mut HeadlessRenderer,
    expected: &[Vec<u8>],
    extra: &[&str],
) -> usize {
    let mut bake = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
    bake.args(["bake", "--tiles"])
        .arg(&fx.tiles)
        .arg("-o")
        .arg(&fx.library)
        .args(["--max-tile", "64", "--grid", "2"])
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = bake.spawn().unwrap();
    let mut drawn = 0;
    let cameras = cameras();
    loop {
        let done = child.try_wait().unwrap();
        for (i, camera) in cameras.iter().enumerate() {
            let frame = draw(r, camera);
            assert!(
                frame == expected[i],
                "camera {i} drew something else while the library changed ({extra:?}); {} load errors",
                r.stream().errors_logged()
            );
            drawn += 1;
        }
        if let Some(status) = done {
            let err = child.wait_with_output().unwrap().stderr;
            assert!(status.success(), "{}", String::from_utf8_lossy(&err));
            return drawn;
        }
    }
}

#[test]
fn a_renderer_sees_the_library_it_opened_while_a_bake_changes_it() {
    let fx = common::fixture(24, 64, (12, 9));
    let expected = draw_all(&mut reader(&fx.mosaic));
    let mut r = reader(&fx.mosaic);
    assert_eq!(draw_all(&mut r), expected);

    // Tiles retired (their pictures removed) and added, while the renderer draws.
    for i in [3, 8, 15] {
        std::fs::remove_file(fx.tiles.join(format!("tile{i:03}.png"))).unwrap();
    }
    for i in 0..6 {
        common::picture(700 + i, 80, 60)
            .save(fx.tiles.join(format!("added{i}.png")))
            .unwrap();
    }
    let drawn = draw_during_bake(&fx, &mut r, &expected, &[]);
    assert!(drawn > 0);
    assert_eq!(draw_all(&mut r), expected, "after the bake");
    // Opened again: the new library, where the retired tiles keep their pages for the
    // mosaics that use them.
    let reopened = tessera::library::Library::open(&fx.library).unwrap();
    assert_eq!(reopened.manifest.tiles.len(), 24 + 6);
    assert_eq!(draw_all(&mut reader(&fx.mosaic)), expected, "reopened");

    // The whole library rebuilt under it (every file replaced, tile ids anew).
    draw_during_bake(&fx, &mut r, &expected, &["--rebuild"]);
    assert_eq!(draw_all(&mut r), expected, "after the rebuild");
    assert!(
        r.stream().evictions() > 0,
        "the finest pages were never evicted, so never read again"
    );
    let err = Scene::open(&fx.mosaic)
        .err()
        .expect("a rebuilt library is another library");
    assert!(err.to_string().contains("match"), "{err}");
}

/// `tessera bake` of `fx`'s tiles into its library (32 px tiles, as its fixture was baked).
fn bake_again(fx: &common::Fixture) -> (i32, String, String) {
    common::tessera(&[
        "bake",
        "--tiles",
        fx.tiles.to_str().unwrap(),
        "-o",
        fx.library.to_str().unwrap(),
        "--max-tile",
        "32",
        "--grid",
        "2",
    ])
}

#[test]
fn a_second_bake_of_a_library_refuses_naming_the_first() {
    let fx = common::fixture(6, 32, (4, 3));
    // This process holds the library's lock, as a running bake does.
    let writer = tessera::library::StoreWriter::open(
        &fx.library,
        tessera::library::StoreParams::new(32, 2),
        false,
    )
    .unwrap();
    let (code, _, err) = bake_again(&fx);
    let named = format!("process {}", std::process::id());
    assert!(code != 0 && err.contains(&named), "{err}");
    // Released: the next bake goes ahead, and finds no holder to take over from.
    drop(writer);
    let (code, _, err) = bake_again(&fx);
    assert!(code == 0 && !err.contains("taking over"), "{err}");
}

#[test]
fn a_bake_killed_while_it_held_the_lock_is_taken_over_with_a_note() {
    let fx = common::fixture(6, 32, (4, 3));
    // The lock file of a bake that was killed: it names a process that no longer runs.
    let gone = {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    };
    std::fs::write(fx.library.join("bake.lock"), format!("{gone}\n")).unwrap();
    common::picture(900, 60, 60)
        .save(fx.tiles.join("late.png"))
        .unwrap();
    let (code, _, err) = bake_again(&fx);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!("process {gone}")) && err.contains("taking over"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(fx.library.join("bake.lock")).unwrap(),
        "",
        "a finished bake leaves no holder named"
    );
}
