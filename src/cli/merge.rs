//! `tessera merge`: the shards of a bake (or any libraries baked alike) into one library.

use super::bake::{print_skipped, retired_note};
use super::progress::progress_bar;
use clap::Args;
use std::path::PathBuf;
use tessera::library::{self, MergeOptions};

#[derive(Args)]
pub struct MergeArgs {
    /// Libraries to merge: the shards of one folder (`tessera bake --shard K/N`), or any
    /// libraries baked with the same --max-tile, --grid, --raw-max and --tile-fps.
    #[arg(required = true, value_name = "LIBRARY")]
    inputs: Vec<PathBuf>,
    /// The merged library. Merging again into it keeps every tile id it holds: a re-baked
    /// shard replaces only its own changed tiles, and mosaics matched against it keep working.
    #[arg(short, long, value_name = "LIBRARY")]
    output: PathBuf,
}

pub fn command(a: MergeArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let report = library::merge(&MergeOptions {
        inputs: a.inputs,
        out: a.output.clone(),
        progress: Some(progress_bar(0, true, "copying tiles")),
    })?;
    let out = a.output.display();
    let seconds = started.elapsed().as_secs_f64();
    if report.unchanged {
        println!(
            "library {out}: unchanged, {} tiles, in {seconds:.1} s",
            report.tiles
        );
    } else {
        println!(
            "library {out}: {} tiles ({} copied, {} sources kept{}), {:.1} MiB of pages copied in {seconds:.1} s",
            report.tiles,
            report.copied,
            report.reused,
            retired_note(report.retired, "no input holds their source"),
            report.bytes as f64 / (1u64 << 20) as f64,
        );
    }
    if report.duplicates > 0 {
        println!(
            "  {} sources were in more than one input: each kept once",
            report.duplicates
        );
    }
    if !report.missing_shards.is_empty() {
        let names: Vec<String> = report
            .missing_shards
            .iter()
            .map(|s| s.to_string())
            .collect();
        tracing::warn!(
            "shards {} were not given: their files are not in {out}",
            names.join(", ")
        );
    }
    print_skipped(&report.skipped, &a.output);
    Ok(())
}
