//! Exact nearest-neighbour search over tile signatures: a k-d tree with bucketed leaves.
//!
//! Ties resolve to the lowest tile id, the same as a brute-force scan in id order, so the
//! index and brute force agree exactly. An optional exclusion list (tiles used nearby)
//! is honoured inside the search, so the result is still the exact nearest allowed tile.

const LEAF_SIZE: usize = 8;

#[derive(Clone, Copy, Debug)]
enum Node {
    Leaf { start: u32, end: u32 },
    Split { dim: u32, value: f32, right: u32 },
}

/// A k-d tree over `n` points of `dims` floats. Points are stored in leaf order so a leaf
/// is one contiguous scan.
pub struct KdIndex {
    dims: usize,
    points: Vec<f32>,
    ids: Vec<u32>,
    nodes: Vec<Node>,
}

impl KdIndex {
    /// Builds the tree over `points` (`n × dims`, point i has id i).
    pub fn build(points: &[f32], dims: usize) -> KdIndex {
        assert!(dims > 0 && points.len().is_multiple_of(dims));
        let n = points.len() / dims;
        let mut order: Vec<u32> = (0..n as u32).collect();
        let mut nodes = Vec::with_capacity(2 * n / LEAF_SIZE + 1);
        build_node(points, dims, &mut order, 0, &mut nodes);
        let mut reordered = Vec::with_capacity(points.len());
        for &i in &order {
            reordered.extend_from_slice(&points[i as usize * dims..(i as usize + 1) * dims]);
        }
        KdIndex {
            dims,
            points: reordered,
            ids: order,
            nodes,
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The nearest point to `query` (squared Euclidean distance), skipping ids in
    /// `excluded`; `None` only when every point is excluded.
    pub fn nearest(&self, query: &[f32], excluded: &[u32]) -> Option<(u32, f32)> {
        debug_assert_eq!(query.len(), self.dims);
        let mut best = (u32::MAX, f32::INFINITY);
        let mut stack: [(u32, f32); 64] = [(0, 0.0); 64];
        let mut top = 1;
        while top > 0 {
            top -= 1;
            let (node, bound) = stack[top];
            if bound > best.1 {
                continue;
            }
            match self.nodes[node as usize] {
                Node::Leaf { start, end } => {
                    for i in start as usize..end as usize {
                        let p = &self.points[i * self.dims..(i + 1) * self.dims];
                        let mut d = 0.0f32;
                        for (a, b) in p.iter().zip(query) {
                            d += (a - b) * (a - b);
                        }
                        let id = self.ids[i];
                        if (d < best.1 || (d == best.1 && id < best.0)) && !excluded.contains(&id) {
                            best = (id, d);
                        }
                    }
                }
                Node::Split { dim, value, right } => {
                    let diff = query[dim as usize] - value;
                    let (near, far) = if diff < 0.0 {
                        (node + 1, right)
                    } else {
                        (right, node + 1)
                    };
                    // Push far first so near is searched first.
                    stack[top] = (far, diff * diff);
                    stack[top + 1] = (near, bound);
                    top += 2;
                }
            }
        }
        (best.0 != u32::MAX).then_some(best)
    }
}

fn build_node(
    points: &[f32],
    dims: usize,
    order: &mut [u32],
    offset: usize,
    nodes: &mut Vec<Node>,
) {
    let at = |i: u32, d: usize| points[i as usize * dims + d];
    if order.len() <= LEAF_SIZE {
        nodes.push(Node::Leaf {
            start: offset as u32,
            end: (offset + order.len()) as u32,
        });
        return;
    }
    // Split the dimension of widest spread at its median.
    let dim = (0..dims)
        .max_by(|&a, &b| {
            let spread = |d| {
                let (lo, hi) = order
                    .iter()
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &i| {
                        (lo.min(at(i, d)), hi.max(at(i, d)))
                    });
                hi - lo
            };
            spread(a).total_cmp(&spread(b))
        })
        .unwrap();
    let mid = order.len() / 2;
    order.select_nth_unstable_by(mid, |&a, &b| at(a, dim).total_cmp(&at(b, dim)));
    let value = at(order[mid], dim);
    let me = nodes.len();
    nodes.push(Node::Leaf { start: 0, end: 0 }); // placeholder
    let (left, right) = order.split_at_mut(mid);
    build_node(points, dims, left, offset, nodes);
    let right_index = nodes.len() as u32;
    build_node(points, dims, right, offset + mid, nodes);
    nodes[me] = Node::Split {
        dim: dim as u32,
        value,
        right: right_index,
    };
}

/// Brute force, for tests and as the definition the index must reproduce.
pub fn brute_force_nearest(
    points: &[f32],
    dims: usize,
    query: &[f32],
    excluded: &[u32],
) -> Option<(u32, f32)> {
    let mut best = (u32::MAX, f32::INFINITY);
    for (id, p) in points.chunks_exact(dims).enumerate() {
        let id = id as u32;
        let d: f32 = p.iter().zip(query).map(|(a, b)| (a - b) * (a - b)).sum();
        if d < best.1 && !excluded.contains(&id) {
            best = (id, d);
        }
    }
    (best.0 != u32::MAX).then_some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32) / (1u64 << 24) as f32
    }

    #[test]
    fn index_returns_what_brute_force_returns() {
        let mut seed = 7;
        for dims in [3, 12] {
            for n in [1, 5, 100, 2000] {
                let points: Vec<f32> = (0..n * dims).map(|_| lcg(&mut seed) * 100.0).collect();
                let index = KdIndex::build(&points, dims);
                for _ in 0..300 {
                    let q: Vec<f32> = (0..dims).map(|_| lcg(&mut seed) * 120.0 - 10.0).collect();
                    let excluded: Vec<u32> =
                        (0..3).map(|_| (lcg(&mut seed) * n as f32) as u32).collect();
                    for ex in [&[][..], &excluded[..]] {
                        assert_eq!(
                            index.nearest(&q, ex),
                            brute_force_nearest(&points, dims, &q, ex),
                            "dims {dims} n {n}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn ties_resolve_to_the_lowest_id_and_full_exclusion_gives_none() {
        let points = vec![1.0, 1.0, 1.0, 1.0, 1.0, 1.0]; // two identical 3-D points
        let index = KdIndex::build(&points, 3);
        assert_eq!(index.nearest(&[0.0; 3], &[]), Some((0, 3.0)));
        assert_eq!(index.nearest(&[0.0; 3], &[0]), Some((1, 3.0)));
        assert_eq!(index.nearest(&[0.0; 3], &[0, 1]), None);
    }
}
