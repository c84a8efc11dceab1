//! Matching benchmark: 1920×1080 cells against 18,000 tiles, with the k-d tree and (on a
//! sample of cells) brute force for comparison, and the colour table video targets use
//! (per frame, with its accuracy against exact matching). Run: `cargo bench --bench matching`.
//! Prints medians of several runs; the machine's other load shows up as spread, so
//! compare rows from the same run.

use std::time::Instant;
use tessera::library::{signature_len, tile_signature};
use tessera::matching::brute_force_nearest;
use tessera::matching::{match_cells, target_signatures, KdIndex, MatchOptions};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut out = None;
    let times = (0..runs)
        .map(|_| {
            let t = Instant::now();
            out = Some(f());
            t.elapsed().as_secs_f64()
        })
        .collect();
    (median(times), out.unwrap())
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this binary without it.
    if !std::env::args().any(|a| a == "--bench") {
        println!("matching benchmark: run it with `cargo bench --bench matching`");
        return;
    }
    let (tiles, cols, rows) = (18_000u32, 1920u32, 1080u32);
    println!(
        "matching {cols}×{rows} cells against {tiles} tiles on {} threads (median of 5 runs)",
        rayon::current_num_threads()
    );
    println!("| grid | signatures of the target | index build | match (k-d tree) | brute force, extrapolated |");
    println!("|---|---:|---:|---:|---:|");
    for grid in [1u32, 2, 3] {
        let dims = signature_len(grid) as usize;
        let sigs: Vec<f32> = (0..tiles)
            .flat_map(|i| tile_signature(&tessera::library::synth_tile(i, 16), grid))
            .collect();
        // A photograph-like target: smooth fields with detail, as a real target has.
        let target = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(
            cols * grid,
            rows * grid,
            |x, y| {
                let (u, v) = (
                    x as f32 / (cols * grid) as f32,
                    y as f32 / (rows * grid) as f32,
                );
                let d = ((x * 31 + y * 17) % 23) as f32;
                image::Rgb([
                    (128.0 + 100.0 * (u * 9.0).sin() + d) as u8,
                    (128.0 + 90.0 * (v * 7.0 + u * 3.0).cos()) as u8,
                    (120.0 + 80.0 * ((u - v) * 5.0).sin() + d) as u8,
                ])
            },
        ));
        let (t_sig, cells) = time(5, || target_signatures(&target, cols, rows, grid));
        let (t_build, index) = time(5, || KdIndex::build(&sigs, dims));
        let (t_match, grid_ids) = time(5, || {
            match_cells(&cells, cols, &index, dims, MatchOptions::default())
        });
        // Brute force on every 1000th cell, checked against the index and extrapolated.
        let sample: Vec<usize> = (0..(cols * rows) as usize).step_by(1000).collect();
        let t = Instant::now();
        for &c in &sample {
            let (id, _) =
                brute_force_nearest(&sigs, dims, &cells[c * dims..(c + 1) * dims], &[]).unwrap();
            assert_eq!(
                id, grid_ids[c],
                "index and brute force disagree at cell {c}"
            );
        }
        let t_brute = t.elapsed().as_secs_f64() * (cols * rows) as f64
            / sample.len() as f64
            / rayon::current_num_threads() as f64;
        println!(
            "| {grid}×{grid} | {:.0} ms | {:.1} ms | {:.0} ms | {:.0} s |",
            t_sig * 1e3,
            t_build * 1e3,
            t_match * 1e3,
            t_brute
        );
    }
    // The constrained matches: one by one in a shuffled order (grid 1).
    let sigs: Vec<f32> = (0..tiles)
        .flat_map(|i| tile_signature(&tessera::library::synth_tile(i, 16), 1))
        .collect();
    let index = KdIndex::build(&sigs, 3);
    let cells: Vec<f32> = (0..cols * rows)
        .flat_map(|i| {
            [
                50.0 + (i % 97) as f32 * 0.3,
                ((i / 1920) % 50) as f32 - 25.0,
                (i % 61) as f32 - 30.0,
            ]
        })
        .collect();
    for (name, opts) in [
        (
            "--repeat-radius 2",
            MatchOptions {
                repeat_radius: 2,
                ..Default::default()
            },
        ),
        (
            "--max-uses 200",
            MatchOptions {
                max_uses: 200,
                ..Default::default()
            },
        ),
        (
            "--use-all",
            MatchOptions {
                use_all: true,
                ..Default::default()
            },
        ),
    ] {
        let (t, _) = time(3, || match_cells(&cells, cols, &index, 3, opts));
        println!("with {name} (grid 1): {:.0} ms", t * 1e3);
    }
    video_table(tiles, cols, rows);
}

/// The colour table video frames are matched with: its build, a frame of 1920×1080 cells,
/// and how often it picks the exact nearest tile.
fn video_table(tiles: u32, cols: u32, rows: u32) {
    use tessera::matching::{ColourTable, FrameMatchOptions, FrameMatcher};
    let sigs: Vec<f32> = (0..tiles)
        .flat_map(|i| tile_signature(&tessera::library::synth_tile(i, 16), 1))
        .collect();
    let (t_build, table) = time(3, || ColourTable::build((0..tiles).collect(), &sigs, 3));
    let table = std::sync::Arc::new(table);
    // Two frames of a moving photograph-like field, one sRGB colour per cell.
    let frame = |shift: u32| -> Vec<[u8; 3]> {
        (0..cols * rows)
            .map(|i| {
                let (x, y) = ((i % cols + shift) as f32, (i / cols) as f32);
                let (u, v) = (x / cols as f32, y / rows as f32);
                let d = ((i * 31 + shift * 7) % 23) as f32;
                [
                    (128.0 + 100.0 * (u * 9.0).sin() + d) as u8,
                    (128.0 + 90.0 * (v * 7.0 + u * 3.0).cos()) as u8,
                    (120.0 + 80.0 * ((u - v) * 5.0).sin() + d) as u8,
                ]
            })
            .collect()
    };
    let frames = [frame(0), frame(3)];
    let mut matcher = FrameMatcher::new(
        table.clone(),
        FrameMatchOptions {
            repeat_radius: 0,
            stickiness: tessera::matching::DEFAULT_STICKINESS,
        },
    );
    let mut n = 0;
    let (t_frame, _) = time(9, || {
        n += 1;
        matcher.match_frame(&frames[n % 2], cols)
    });
    let accuracy = table.accuracy(&frames[0]);
    println!(
        "\nvideo frames, colour table ({} bits a channel): built in {:.0} ms; a frame of {cols}×{rows} cells in {:.1} ms ({:.0} fps, --stickiness {}); exact nearest tile for {:.1} % of cells, mean ΔE given up {:.2}",
        tessera::matching::TABLE_BITS,
        t_build * 1e3,
        t_frame * 1e3,
        1.0 / t_frame,
        tessera::matching::DEFAULT_STICKINESS,
        accuracy.exact_share * 100.0,
        accuracy.mean_excess_de
    );
}
