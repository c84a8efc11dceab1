//! Exact matching of sub-cell signatures (`--grid 2` and up) by way of their mean colours.
//!
//! A `k × k` signature holds `k²` CIELAB triples. For two signatures `a`, `b` with mean
//! triples `ā`, `b̄`, the squared distance splits as
//! `Σ|aᵢ − bᵢ|² = k²·|ā − b̄|² + Σ|(aᵢ − ā) − (bᵢ − b̄)|²`, so `k²·|ā − b̄|²` is a lower bound:
//! a tile whose mean is far from the cell's mean cannot be the nearest. Cells are put in
//! bins of mean colour; each bin gets the `SHORTLIST` tiles whose means are nearest its
//! centre, once, nearest first; a cell scans its bin's list by the full signature and
//! stops at the first tile the bound puts beyond the best found (every later tile, on the
//! list or off it, is farther still): that answer is proven exact. Cells
//! where it is not proven are searched in a k-d tree over the signatures turned to their
//! principal axes. The answer is the exact nearest tile (to float rounding in the turned
//! axes, which can only swap two tiles within ~1e-5 of each other); a 27-dimensional k-d
//! tree alone prunes too little to be fast (docs/performance.md, "Matching speed").

use super::KdIndex;
use rayon::prelude::*;
use std::collections::HashMap;

/// Tiles kept per bin: most cells stop after a few of them (the bound rules out the rest),
/// so a long list costs little and leaves few cells unproven.
const SHORTLIST: usize = 256;
/// Bin side in CIELAB units.
const BIN: f32 = 4.0;

/// What a shortlist match did, for the log and the benchmark.
#[derive(Clone, Copy, Debug, Default)]
pub struct ShortlistStats {
    /// Cells whose shortlist answer could not be proven and went to the turned tree.
    pub fallbacks: usize,
}

/// The tiles' signatures, and per bin of mean colour the tiles whose means are nearest
/// its centre: the cells of one target, ready to be matched one by one or all at once.
pub struct Shortlist<'a> {
    cells: &'a [f32],
    dims: usize,
    signatures: Vec<f32>,
    cell_means: Vec<f32>,
    keys: Vec<u64>,
    /// Per bin: (tile, distance of its mean from the bin centre) nearest first, and the
    /// distance beyond which tiles are off the list.
    lists: HashMap<u64, (Vec<(u32, f32)>, f32)>,
}

impl<'a> Shortlist<'a> {
    /// Bins `cells` (signatures of `dims` floats) and lists each bin's tiles from `tree`.
    pub fn build(cells: &'a [f32], dims: usize, tree: &KdIndex) -> Shortlist<'a> {
        let subcells = dims / 3;
        let signatures: Vec<f32> = (0..tree.len() as u32)
            .flat_map(|t| tree.point(t).iter().copied())
            .collect();
        let means_of = |sigs: &[f32]| -> Vec<f32> {
            sigs.par_chunks_exact(dims)
                .flat_map_iter(|s| mean_triple(s, subcells))
                .collect()
        };
        let tile_means = means_of(&signatures);
        let cell_means = means_of(cells);
        let mean_tree = KdIndex::build(&tile_means, 3);
        let keys: Vec<u64> = cell_means.par_chunks_exact(3).map(bin_key).collect();
        let mut unique = keys.clone();
        unique.par_sort_unstable();
        unique.dedup();
        let lists = unique
            .par_iter()
            .map(|&key| {
                let near = mean_tree.k_nearest(&bin_centre(key), SHORTLIST);
                let reach = if near.len() < mean_tree.len() {
                    near.last().map_or(0.0, |&(_, d2)| d2.sqrt())
                } else {
                    f32::INFINITY // every tile is on the list
                };
                let list = near.into_iter().map(|(id, d2)| (id, d2.sqrt())).collect();
                (key, (list, reach))
            })
            .collect();
        Shortlist {
            cells,
            dims,
            signatures,
            cell_means,
            keys,
            lists,
        }
    }

    /// The nearest tile to `cell` among those `skip` does not rule out, with its squared
    /// distance, and whether the list proves it (else it is only the best on the list,
    /// or `u32::MAX` when the list had none allowed).
    pub fn nearest(&self, cell: usize, skip: impl Fn(u32) -> bool) -> ((u32, f32), bool) {
        self.nearest_within(cell, skip, f32::INFINITY)
    }

    /// `nearest` among the tiles closer than `bound` (squared): `u32::MAX` with `bound` when
    /// the list has none, proven when no tile off it could be.
    pub fn nearest_within(
        &self,
        cell: usize,
        skip: impl Fn(u32) -> bool,
        bound: f32,
    ) -> ((u32, f32), bool) {
        let dims = self.dims;
        let k2 = (dims / 3) as f32;
        let q = &self.cells[cell * dims..(cell + 1) * dims];
        let (list, reach) = &self.lists[&self.keys[cell]];
        // A tile whose mean is `dc` from the bin centre is at least `dc - offset` from this
        // cell's mean: its signature at least k²·(dc − offset)² away.
        let centre = bin_centre(self.keys[cell]);
        let m = &self.cell_means[cell * 3..cell * 3 + 3];
        let offset = (0..3)
            .map(|i| (m[i] - centre[i]).powi(2))
            .sum::<f32>()
            .sqrt();
        // A margin for rounding: the bound is exact in real numbers, not in floats.
        let beyond = |dc: f32, best: f32| {
            let gap = (dc - offset).max(0.0);
            k2 * gap * gap > best * (1.0 + 1e-5) + 1e-6
        };
        let mut best = (u32::MAX, bound);
        for &(t, dc) in list {
            if beyond(dc, best.1) {
                // This tile and every one after it, on the list or off it, is farther.
                return (best, true);
            }
            if skip(t) {
                continue;
            }
            let s = &self.signatures[t as usize * dims..(t as usize + 1) * dims];
            let d: f32 = s.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum();
            if d < best.1 || (d == best.1 && t < best.0) {
                best = (t, d);
            }
        }
        // Off the list, means are at least `reach` from the bin centre.
        (best, beyond(*reach, best.1))
    }
}

/// The nearest tile (its id in `tree`, a k-d tree over the tiles' signatures of `dims`
/// floats) for every cell, as `tree` would find it (see the module's note on rounding).
pub fn match_exact(cells: &[f32], dims: usize, tree: &KdIndex) -> (Vec<u32>, ShortlistStats) {
    let shortlist = Shortlist::build(cells, dims, tree);
    let signatures = &shortlist.signatures;
    let mut grid = vec![UNPROVEN; cells.len() / dims];
    grid.par_iter_mut().enumerate().for_each(|(cell, out)| {
        let ((tile, _), proven) = shortlist.nearest(cell, |_| false);
        // Unproven: remember the best found as the search's first guess.
        *out = if proven { tile } else { UNPROVEN | tile };
    });

    // The rest: a k-d tree over the signatures rotated to their principal axes (the same
    // distances; splits along the directions tiles differ in most: 2× fewer nodes entered
    // than in the original axes at 3×3).
    let unproven: Vec<usize> = (0..grid.len())
        .filter(|&c| grid[c] & UNPROVEN != 0)
        .collect();
    if !unproven.is_empty() {
        let basis = principal_axes(signatures, dims);
        let rotated_tree = KdIndex::build(&rotate(signatures, &basis, dims), dims);
        let answers: Vec<(usize, u32)> = unproven
            .par_iter()
            .map(|&cell| {
                let q = rotate(&cells[cell * dims..(cell + 1) * dims], &basis, dims);
                let guess = grid[cell] & !UNPROVEN;
                let found = rotated_tree.nearest_from(&q, &[], Some(guess));
                (cell, found.map_or(guess, |(id, _)| id))
            })
            .collect();
        for (cell, tile) in answers {
            grid[cell] = tile;
        }
    }
    (
        grid,
        ShortlistStats {
            fallbacks: unproven.len(),
        },
    )
}

/// Marks a cell whose shortlist answer is not proven (tile ids stay below 2³¹).
const UNPROVEN: u32 = 1 << 31;

/// The mean of a signature's `n` Lab triples.
fn mean_triple(sig: &[f32], n: usize) -> [f32; 3] {
    let mut m = [0f32; 3];
    for t in sig.chunks_exact(3) {
        (0..3).for_each(|i| m[i] += t[i]);
    }
    m.map(|v| v / n as f32)
}

/// The bin of a mean colour: 21 bits per axis of `floor(v / BIN)`, offset to be positive.
fn bin_key(m: &[f32]) -> u64 {
    let axis = |v: f32| ((v / BIN).floor() as i64 + (1 << 20)).clamp(0, (1 << 21) - 1) as u64;
    axis(m[0]) << 42 | axis(m[1]) << 21 | axis(m[2])
}

fn bin_centre(key: u64) -> [f32; 3] {
    let axis = |shift: u32| {
        let i = ((key >> shift) & ((1 << 21) - 1)) as i64 - (1 << 20);
        (i as f32 + 0.5) * BIN
    };
    [axis(42), axis(21), axis(0)]
}

/// An orthonormal basis of signature space, principal axes first: the tiles' covariance,
/// diagonalised. Rotating tiles and cells into it keeps every distance, and a k-d tree
/// there splits along the directions tiles actually differ in.
fn principal_axes(points: &[f32], dims: usize) -> Vec<f64> {
    let n = (points.len() / dims).max(1) as f64;
    let mut mean = vec![0f64; dims];
    for p in points.chunks_exact(dims) {
        (0..dims).for_each(|i| mean[i] += p[i] as f64 / n);
    }
    let mut cov = vec![0f64; dims * dims];
    for p in points.chunks_exact(dims) {
        for i in 0..dims {
            let di = p[i] as f64 - mean[i];
            for j in i..dims {
                cov[i * dims + j] += di * (p[j] as f64 - mean[j]) / n;
            }
        }
    }
    for i in 0..dims {
        for j in 0..i {
            cov[i * dims + j] = cov[j * dims + i];
        }
    }
    let (values, vectors) = jacobi_eigen(cov, dims);
    let mut order: Vec<usize> = (0..dims).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    // Row r of the basis: the r-th principal axis.
    let vectors = &vectors;
    order
        .iter()
        .flat_map(|&c| (0..dims).map(move |r| vectors[r * dims + c]))
        .collect()
}

/// `points` in `basis` (rows are axes).
fn rotate(points: &[f32], basis: &[f64], dims: usize) -> Vec<f32> {
    points
        .par_chunks_exact(dims)
        .flat_map_iter(|p| {
            (0..dims).map(move |r| {
                let axis = &basis[r * dims..(r + 1) * dims];
                axis.iter().zip(p).map(|(a, &v)| a * v as f64).sum::<f64>() as f32
            })
        })
        .collect()
}

/// Eigenvalues and eigenvectors (columns) of a symmetric matrix, cyclic Jacobi.
fn jacobi_eigen(mut a: Vec<f64>, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0f64; n * n];
    (0..n).for_each(|i| v[i * n + i] = 1.0);
    for _sweep in 0..50 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j] * a[i * n + j])
            .sum();
        if off < 1e-18 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() < 1e-30 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let (c, s) = (1.0 / (t * t + 1.0).sqrt(), 0.0);
                let s = s + t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::index::tests::lcg;

    #[test]
    fn bins_round_trip_their_centres() {
        for m in [[0.0, 0.0, 0.0], [55.3, -20.1, 99.9], [100.0, -128.0, 127.0]] {
            let c = bin_centre(bin_key(&m));
            assert!(
                (0..3).all(|i| (c[i] - m[i]).abs() <= BIN / 2.0),
                "{m:?} {c:?}"
            );
        }
    }

    #[test]
    fn the_shortlist_answer_is_the_exact_one() {
        let mut seed = 3;
        for (grid, tiles) in [(2usize, 30usize), (3, 500), (3, 5000)] {
            let dims = grid * grid * 3;
            // Tiles and cells with a shared mean and random detail, in Lab-like ranges.
            let make = |n: usize, seed: &mut u64| -> Vec<f32> {
                (0..n)
                    .flat_map(|_| {
                        let base = [
                            lcg(seed) * 100.0,
                            lcg(seed) * 60.0 - 30.0,
                            lcg(seed) * 60.0 - 30.0,
                        ];
                        (0..dims)
                            .map(|d| base[d % 3] + (lcg(seed) - 0.5) * 20.0)
                            .collect::<Vec<_>>()
                    })
                    .collect()
            };
            let sigs = make(tiles, &mut seed);
            let cells = make(3000, &mut seed);
            let tree = KdIndex::build(&sigs, dims);
            let (grid_ids, stats) = match_exact(&cells, dims, &tree);
            eprintln!("grid {grid}, {tiles} tiles: {stats:?}");
            let distance = |c: usize, t: u32| -> f32 {
                let q = &cells[c * dims..(c + 1) * dims];
                let s = &sigs[t as usize * dims..(t as usize + 1) * dims];
                q.iter().zip(s).map(|(a, b)| (a - b) * (a - b)).sum()
            };
            let mut same = 0;
            for (c, &got) in grid_ids.iter().enumerate() {
                let q = &cells[c * dims..(c + 1) * dims];
                let (want, best) =
                    super::super::index::brute_force_nearest(&sigs, dims, q, &[]).unwrap();
                same += (got == want) as usize;
                let d = distance(c, got);
                assert!(
                    d <= best * (1.0 + 1e-5),
                    "cell {c}, grid {grid}: {d} > {best}"
                );
            }
            assert!(same >= 2995, "{same} of 3000 the very same tile");
            assert!(stats.fallbacks < 3000, "{stats:?}");
        }
    }

    #[test]
    fn turning_to_principal_axes_keeps_distances_and_orders_by_spread() {
        let mut seed = 9;
        // Points spread 10× more along (1, 1, 0)/√2 than elsewhere.
        let points: Vec<f32> = (0..2000)
            .flat_map(|_| {
                let (big, small) = (
                    (lcg(&mut seed) - 0.5) * 100.0,
                    (lcg(&mut seed) - 0.5) * 10.0,
                );
                [big + small, big - small, (lcg(&mut seed) - 0.5) * 10.0]
            })
            .collect();
        let basis = principal_axes(&points, 3);
        let first = &basis[..3];
        let diagonal = std::f64::consts::FRAC_1_SQRT_2;
        assert!(
            (first[0].abs() - diagonal).abs() < 0.01 && first[2].abs() < 0.01,
            "{first:?}"
        );
        let turned = rotate(&points, &basis, 3);
        let d = |p: &[f32], i: usize, j: usize| -> f32 {
            (0..3).map(|k| (p[i * 3 + k] - p[j * 3 + k]).powi(2)).sum()
        };
        for (i, j) in [(0, 1), (5, 900), (1999, 3)] {
            let (a, b) = (d(&points, i, j), d(&turned, i, j));
            assert!((a - b).abs() <= a * 1e-5 + 1e-3, "{a} {b}");
        }
    }
}
