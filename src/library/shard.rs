//! Bakes split across processes or machines: which sources shard K of N takes.
//!
//! A source belongs to one shard, chosen from its path relative to the tiles folder alone
//! (FNV-1a 64 of the path's bytes, then a jump consistent hash into N buckets), so:
//! every machine agrees without talking to the others; a file added to the folder moves
//! no other file; and going from N to N+1 shards moves only a 1/(N+1) share of the files.
//! A video is one source: all its shots are baked by the same shard.

use serde::{Deserialize, Serialize};

/// Shard `index` of `count` (counted from 1, as `tessera bake --shard 2/4` names it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which shard, 1..=count.
    pub index: u32,
    /// How many shards the sources are split into.
    pub count: u32,
}

/// The most shards a bake may be split into.
pub const MAX_SHARDS: u32 = 1 << 20;

/// A shard that names no part of the sources.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShardError {
    /// Not `K/N`.
    #[error("--shard {0}: expected K/N, shard K of N counted from 1 (as in 2/8), or `auto`")]
    Syntax(String),
    /// N is 0 or too large.
    #[error("shard count {0}: must be 1 to {MAX_SHARDS}")]
    Count(u32),
    /// K is not within 1..=N.
    #[error("shard {index}/{count}: K counts from 1 to {count}")]
    Index {
        /// The index given.
        index: u64,
        /// The shard count.
        count: u32,
    },
    /// `auto`, with no scheduler's variables set.
    #[error("--shard auto: neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set; pass --shard K/N")]
    NoScheduler,
    /// A scheduler's index with no count beside it.
    #[error("{0} is set but the number of shards is not: pass --shards N")]
    NoCount(&'static str),
    /// A scheduler variable that is not a number.
    #[error("{name}={value}: not a whole number")]
    Variable {
        /// The variable.
        name: &'static str,
        /// What it holds.
        value: String,
    },
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Shard `index` (from 1) of `count`, checked.
    pub fn new(index: u64, count: u32) -> Result<Shard, ShardError> {
        if count == 0 || count > MAX_SHARDS {
            return Err(ShardError::Count(count));
        }
        if index == 0 || index > count as u64 {
            return Err(ShardError::Index { index, count });
        }
        Ok(Shard {
            index: index as u32,
            count,
        })
    }

    /// Reads `K/N`.
    pub fn parse(text: &str) -> Result<Shard, ShardError> {
        let syntax = || ShardError::Syntax(text.to_string());
        let (k, n) = text.trim().split_once('/').ok_or_else(syntax)?;
        let k: u64 = k.trim().parse().map_err(|_| syntax())?;
        let n: u64 = n.trim().parse().map_err(|_| syntax())?;
        let n = u32::try_from(n).map_err(|_| ShardError::Count(u32::MAX))?;
        Shard::new(k, n)
    }

    /// The shard a cluster scheduler gave this process, from its variables (`var` reads
    /// one): a Slurm job array's task (`SLURM_ARRAY_TASK_ID`, counted from
    /// `SLURM_ARRAY_TASK_MIN` in steps of `SLURM_ARRAY_TASK_STEP`, of
    /// `SLURM_ARRAY_TASK_COUNT`) or a Kubernetes Indexed Job's (`JOB_COMPLETION_INDEX`,
    /// from 0). `count`, when given, is the number of shards (Kubernetes has no variable
    /// for it); otherwise Slurm's count is used.
    pub fn from_scheduler(
        var: impl Fn(&str) -> Option<String>,
        count: Option<u32>,
    ) -> Result<Shard, ShardError> {
        let number = |name: &'static str| -> Result<Option<u64>, ShardError> {
            var(name)
                .map(|value| {
                    value
                        .trim()
                        .parse()
                        .map_err(|_| ShardError::Variable { name, value })
                })
                .transpose()
        };
        if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
            let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let step = number("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
            let count = match count {
                Some(n) => n,
                None => number("SLURM_ARRAY_TASK_COUNT")?
                    .ok_or(ShardError::NoCount("SLURM_ARRAY_TASK_ID"))?
                    .min(u32::MAX as u64) as u32,
            };
            let index = id
                .checked_sub(min)
                .ok_or(ShardError::Index { index: 0, count })?
                / step;
            return Shard::new(index + 1, count);
        }
        if let Some(index) = number("JOB_COMPLETION_INDEX")? {
            let count = count.ok_or(ShardError::NoCount("JOB_COMPLETION_INDEX"))?;
            return Shard::new(index + 1, count);
        }
        Err(ShardError::NoScheduler)
    }

    /// Whether the source at `relative_path` (relative to the tiles folder) is this shard's.
    pub fn takes(&self, relative_path: &str) -> bool {
        shard_of(relative_path, self.count) + 1 == self.index
    }
}

/// The shard (from 0) of `count` the source at `relative_path` belongs to.
fn shard_of(relative_path: &str, count: u32) -> u32 {
    jump_consistent_hash(fnv1a64(relative_path.as_bytes()), count)
}

/// FNV-1a, 64 bits: a fixed hash of a path, the same on every machine and in every release.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Lamping and Veach's jump consistent hash: a key's bucket of `buckets`, such that growing
/// the number of buckets by one moves only the keys that land in the new bucket.
fn jump_consistent_hash(mut key: u64, buckets: u32) -> u32 {
    let (mut bucket, mut next) = (0i64, 0i64);
    while next < buckets as i64 {
        bucket = next;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        next = ((bucket + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    bucket as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn names(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("shots/ep{:03}/clip{i:05}.mp4", i % 121))
            .collect()
    }

    #[test]
    fn every_source_belongs_to_exactly_one_shard_and_shards_are_even() {
        let names = names(20_000);
        for count in [1, 2, 3, 4, 7, 16] {
            let shards: Vec<Shard> = (1..=count)
                .map(|k| Shard::new(k, count as u32).unwrap())
                .collect();
            let mut sizes = vec![0usize; count as usize];
            for name in &names {
                let owners: Vec<&Shard> = shards.iter().filter(|s| s.takes(name)).collect();
                assert_eq!(owners.len(), 1, "{name} in {count} shards");
                sizes[owners[0].index as usize - 1] += 1;
            }
            let even = names.len() as f64 / count as f64;
            for &s in &sizes {
                assert!(
                    (s as f64 - even).abs() < even * 0.05 + 20.0,
                    "{count} shards: {sizes:?}"
                );
            }
        }
    }

    #[test]
    fn one_more_shard_moves_only_what_lands_in_it() {
        let names = names(10_000);
        let before: HashMap<&String, u32> = names.iter().map(|n| (n, shard_of(n, 4))).collect();
        let mut moved = 0;
        for n in &names {
            let after = shard_of(n, 5);
            if after != before[n] {
                assert_eq!(after, 4, "{n} moved between old shards");
                moved += 1;
            }
        }
        // A fifth of the files, give or take.
        assert!((1700..2300).contains(&moved), "{moved} moved");
    }

    #[test]
    fn the_rule_is_fixed() {
        // The same path lands in the same shard in every release, on every machine: shards
        // baked by different versions of tessera still merge into a library of each file once.
        let picks: Vec<u32> = ["a.jpg", "b.jpg", "photos/2019/IMG_0001.JPG", "v/ep001.mkv"]
            .iter()
            .map(|p| shard_of(p, 8))
            .collect();
        assert_eq!(picks, [6, 7, 1, 2]);
        // FNV-1a's published test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn shards_read_from_text_and_schedulers() {
        assert_eq!(Shard::parse("2/8"), Ok(Shard { index: 2, count: 8 }));
        assert_eq!(Shard::parse(" 8 / 8 "), Ok(Shard { index: 8, count: 8 }));
        assert_eq!(
            Shard::parse("0/4"),
            Err(ShardError::Index { index: 0, count: 4 })
        );
        assert_eq!(
            Shard::parse("5/4"),
            Err(ShardError::Index { index: 5, count: 4 })
        );
        assert_eq!(Shard::parse("1/0"), Err(ShardError::Count(0)));
        assert!(matches!(Shard::parse("two/4"), Err(ShardError::Syntax(_))));
        assert!(matches!(Shard::parse("3"), Err(ShardError::Syntax(_))));

        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        // sbatch --array=1-4: tasks 1..4.
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            Shard::from_scheduler(slurm, None),
            Ok(Shard { index: 3, count: 4 })
        );
        // sbatch --array=0-30:10: tasks 0, 10, 20, 30.
        let stepped = env(&[
            ("SLURM_ARRAY_TASK_ID", "20"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_STEP", "10"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            Shard::from_scheduler(stepped, None),
            Ok(Shard { index: 3, count: 4 })
        );
        let k8s = env(&[("JOB_COMPLETION_INDEX", "0")]);
        assert_eq!(
            Shard::from_scheduler(k8s, Some(6)),
            Ok(Shard { index: 1, count: 6 })
        );
        assert_eq!(
            Shard::from_scheduler(k8s, None),
            Err(ShardError::NoCount("JOB_COMPLETION_INDEX"))
        );
        assert_eq!(
            Shard::from_scheduler(env(&[("JOB_COMPLETION_INDEX", "6")]), Some(6)),
            Err(ShardError::Index { index: 7, count: 6 })
        );
        assert_eq!(
            Shard::from_scheduler(env(&[]), Some(4)),
            Err(ShardError::NoScheduler)
        );
        assert!(matches!(
            Shard::from_scheduler(env(&[("JOB_COMPLETION_INDEX", "x")]), Some(4)),
            Err(ShardError::Variable { .. })
        ));
    }
}
