//! Exact nearest-neighbour search over tile signatures: a k-d tree with bucketed leaves.
//!
//! Ties resolve to the lowest tile id, the same as a brute-force scan in id order, so the
//! index and brute force agree exactly. An optional exclusion list (tiles used nearby)
//! is honoured inside the search, so the result is still the exact nearest allowed tile.
//! Points can also be removed for good (`remove`: a tile used up, a cell taken); a subtree
//! whose points are all removed is skipped whole, so searches stay fast as it empties.

const LEAF_SIZE: usize = 8;

#[derive(Clone, Copy, Debug)]
enum Node {
    Leaf { start: u32, end: u32 },
    Split { dim: u32, value: f32, right: u32 },
}

/// A k-d tree over `n` points of `dims` floats. Points are stored in leaf order so a leaf
/// is one contiguous scan.
#[derive(Clone)]
pub struct KdIndex {
    dims: usize,
    points: Vec<f32>,
    ids: Vec<u32>,
    nodes: Vec<Node>,
    /// Per node, its parent (the root's is itself): to update `live` on removal.
    parents: Vec<u32>,
    /// Per node, the points below it not removed.
    live: Vec<u32>,
    /// Per stored point (leaf order), removed.
    removed: Vec<bool>,
    /// Per id, (its position in leaf order, its leaf node).
    place: Vec<(u32, u32)>,
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
        // Parents and live counts, from the layout: a split's left child follows it.
        let mut parents = vec![0u32; nodes.len()];
        let mut live = vec![0u32; nodes.len()];
        let mut place = vec![(0u32, 0u32); n];
        for (at, node) in nodes.iter().enumerate().rev() {
            match *node {
                Node::Leaf { start, end } => {
                    live[at] = end - start;
                    for pos in start..end {
                        place[order[pos as usize] as usize] = (pos, at as u32);
                    }
                }
                Node::Split { right, .. } => {
                    let left = at + 1;
                    parents[left] = at as u32;
                    parents[right as usize] = at as u32;
                    live[at] = live[left] + live[right as usize];
                }
            }
        }
        KdIndex {
            dims,
            points: reordered,
            ids: order,
            nodes,
            parents,
            live,
            removed: vec![false; n],
            place,
        }
    }

    /// Removes point `id` from every later search (a no-op if it is already removed).
    pub fn remove(&mut self, id: u32) {
        let (pos, leaf) = self.place[id as usize];
        if std::mem::replace(&mut self.removed[pos as usize], true) {
            return;
        }
        let mut node = leaf as usize;
        loop {
            self.live[node] -= 1;
            if node == 0 {
                break;
            }
            node = self.parents[node] as usize;
        }
    }

    /// Point `id`'s coordinates.
    pub fn point(&self, id: u32) -> &[f32] {
        let pos = self.place[id as usize].0 as usize;
        &self.points[pos * self.dims..(pos + 1) * self.dims]
    }

    /// Points not removed.
    pub fn live(&self) -> usize {
        self.live.first().map_or(0, |&n| n as usize)
    }

    /// Tiles in the index.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the index holds no tile.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The nearest point to `query` (squared Euclidean distance), skipping ids in
    /// `excluded`; `None` only when every point is excluded.
    pub fn nearest(&self, query: &[f32], excluded: &[u32]) -> Option<(u32, f32)> {
        self.nearest_from(query, excluded, None)
    }

    /// `nearest`, starting from a guess: a point likely to be close (the previous cell's
    /// tile, as neighbouring cells look alike) bounds the search from the start, so far
    /// fewer nodes are entered. The answer is the same as without it.
    pub fn nearest_from(
        &self,
        query: &[f32],
        excluded: &[u32],
        guess: Option<u32>,
    ) -> Option<(u32, f32)> {
        self.nearest_within(query, excluded, guess, f32::INFINITY)
    }

    /// `nearest_from`, among the points closer than `bound` (squared): `None` when there is
    /// none. The bound prunes the search as a guess does.
    pub fn nearest_within(
        &self,
        query: &[f32],
        excluded: &[u32],
        guess: Option<u32>,
        bound: f32,
    ) -> Option<(u32, f32)> {
        debug_assert_eq!(query.len(), self.dims);
        let mut best = (u32::MAX, bound);
        if let Some(id) = guess {
            let pos = self.place[id as usize].0 as usize;
            if !self.removed[pos] && !excluded.contains(&id) {
                let d = self
                    .point(id)
                    .iter()
                    .zip(query)
                    .map(|(a, b)| (a - b) * (a - b));
                let d = d.sum();
                if d < best.1 {
                    best = (id, d);
                }
            }
        }
        // Per-dimension offsets on the stack for signatures up to 4×4 (no allocation per
        // query), on the heap beyond.
        let mut on_stack = [0f32; 48];
        let mut on_heap = Vec::new();
        let offsets = if self.dims <= on_stack.len() {
            &mut on_stack[..self.dims]
        } else {
            on_heap.resize(self.dims, 0.0);
            &mut on_heap[..]
        };
        let mut search = Search {
            index: self,
            query,
            excluded,
            best,
            offsets,
        };
        search.visit(0, 0.0);
        let best = search.best;
        (best.0 != u32::MAX).then_some(best)
    }
}

impl KdIndex {
    /// The `k` nearest points to `query` (fewer if there are fewer), nearest first, ties
    /// by id. Removed points are skipped.
    pub fn k_nearest(&self, query: &[f32], k: usize) -> Vec<(u32, f32)> {
        let mut found: Vec<(u32, f32)> = Vec::with_capacity(k + 1);
        let mut offsets = vec![0f32; self.dims];
        self.k_visit(0, 0.0, query, k, &mut found, &mut offsets);
        found
    }

    fn k_visit(
        &self,
        node: u32,
        bound: f32,
        query: &[f32],
        k: usize,
        found: &mut Vec<(u32, f32)>,
        offsets: &mut [f32],
    ) {
        let worst = if found.len() == k {
            found[k - 1].1
        } else {
            f32::INFINITY
        };
        if k == 0 || bound > worst || self.live[node as usize] == 0 {
            return;
        }
        match self.nodes[node as usize] {
            Node::Leaf { start, end } => {
                for i in start as usize..end as usize {
                    if self.removed[i] {
                        continue;
                    }
                    let p = &self.points[i * self.dims..(i + 1) * self.dims];
                    let d: f32 = p.iter().zip(query).map(|(a, b)| (a - b) * (a - b)).sum();
                    let id = self.ids[i];
                    let before = |e: &(u32, f32)| e.1 < d || (e.1 == d && e.0 < id);
                    let at = found.partition_point(before);
                    if at < k {
                        found.insert(at, (id, d));
                        found.truncate(k);
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
                self.k_visit(near, bound, query, k, found, offsets);
                let old = offsets[dim as usize];
                offsets[dim as usize] = diff;
                let far_bound = bound - old * old + diff * diff;
                self.k_visit(far, far_bound, query, k, found, offsets);
                offsets[dim as usize] = old;
            }
        }
    }
}

/// One nearest-neighbour search. Each node is entered with the squared distance from the
/// query to its region (`offsets` holds that distance per dimension), the standard
/// incremental bound (Arya & Mount): it prunes far better than the distance to the last
/// split plane alone when the query lies outside the points, as a tile far from every
/// target cell does.
struct Search<'a> {
    index: &'a KdIndex,
    query: &'a [f32],
    excluded: &'a [u32],
    best: (u32, f32),
    offsets: &'a mut [f32],
}

impl Search<'_> {
    fn visit(&mut self, node: u32, bound: f32) {
        let index = self.index;
        // Equal bounds are still visited: a tie may go to a lower id there.
        if bound > self.best.1 || index.live[node as usize] == 0 {
            return;
        }
        match index.nodes[node as usize] {
            Node::Leaf { start, end } => {
                let dims = index.dims;
                for i in start as usize..end as usize {
                    let p = &index.points[i * dims..(i + 1) * dims];
                    let mut d = 0.0f32;
                    for (a, b) in p.iter().zip(self.query) {
                        d += (a - b) * (a - b);
                    }
                    let id = index.ids[i];
                    if (d < self.best.1 || (d == self.best.1 && id < self.best.0))
                        && !index.removed[i]
                        && !self.excluded.contains(&id)
                    {
                        self.best = (id, d);
                    }
                }
            }
            Node::Split { dim, value, right } => {
                let diff = self.query[dim as usize] - value;
                let (near, far) = if diff < 0.0 {
                    (node + 1, right)
                } else {
                    (right, node + 1)
                };
                self.visit(near, bound);
                let old = self.offsets[dim as usize];
                self.offsets[dim as usize] = diff;
                self.visit(far, bound - old * old + diff * diff);
                self.offsets[dim as usize] = old;
            }
        }
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
pub(crate) mod tests {
    use super::*;

    /// A small deterministic generator in [0, 1), for test data.
    pub(crate) fn lcg(seed: &mut u64) -> f32 {
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
    fn k_nearest_lists_what_a_sort_lists() {
        let mut seed = 5;
        let points: Vec<f32> = (0..3000).map(|_| lcg(&mut seed) * 50.0).collect();
        let index = KdIndex::build(&points, 3);
        for _ in 0..50 {
            let q: Vec<f32> = (0..3).map(|_| lcg(&mut seed) * 60.0 - 5.0).collect();
            let mut all: Vec<(u32, f32)> = points
                .chunks_exact(3)
                .enumerate()
                .map(|(i, p)| {
                    (
                        i as u32,
                        p.iter().zip(&q).map(|(a, b)| (a - b) * (a - b)).sum(),
                    )
                })
                .collect();
            all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            assert_eq!(index.k_nearest(&q, 20), all[..20].to_vec());
        }
        assert_eq!(index.k_nearest(&[0.0; 3], 5000).len(), 1000);
    }

    #[test]
    fn removed_points_are_never_found_again() {
        let mut seed = 11;
        let dims = 3;
        let n = 500;
        let points: Vec<f32> = (0..n * dims).map(|_| lcg(&mut seed) * 100.0).collect();
        let mut index = KdIndex::build(&points, dims);
        let mut gone: Vec<u32> = Vec::new();
        for round in 0..n {
            let q: Vec<f32> = (0..dims).map(|_| lcg(&mut seed) * 100.0).collect();
            let found = index.nearest(&q, &[]);
            assert_eq!(
                found,
                brute_force_nearest(&points, dims, &q, &gone),
                "round {round}"
            );
            let (id, _) = found.unwrap();
            index.remove(id);
            index.remove(id);
            gone.push(id);
            assert_eq!(index.live(), n - gone.len());
        }
        assert_eq!(index.nearest(&[0.0; 3], &[]), None);
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
