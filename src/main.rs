//! The `tessera` command line. Each command's options and body live in `cli/`.

mod cli;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "Zoomable photo mosaics on the GPU: every cell a whole picture, memory bounded by the screen."
)]
struct Cli {
    /// More log output (-v: progress notes, -vv: debugging).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Bake a folder of pictures into a tile library; with --target, also match a mosaic.
    Bake(cli::bake::BakeArgs),
    /// Join libraries baked in shards (`bake --shard K/N`) into one, copying their pages.
    Merge(cli::merge::MergeArgs),
    /// Match a target picture against a library into a mosaic file.
    Match(cli::matching::MatchArgs),
    /// Show what a library or mosaic holds.
    Info {
        /// A library folder (*.tlib) or a mosaic file (*.mosaic).
        path: PathBuf,
        /// A mosaic's library, when it is neither where the mosaic was matched nor beside
        /// the mosaic.
        #[arg(long, value_name = "DIR")]
        library: Option<PathBuf>,
    },
    /// Render one view of a mosaic to a picture, or a camera path to a video, headless.
    Render(cli::render::RenderArgs),
    /// Write a synthetic library of N procedural tiles and a mosaic over it (for scale tests).
    Synth(cli::synth::SynthArgs),
    /// Render a scripted camera path headless and report frame times and streaming metrics.
    Bench(cli::bench::BenchArgs),
    /// Open a mosaic in an interactive window (wheel: zoom, drag: pan, L: level overlay).
    View(cli::view::ViewCmdArgs),
    /// Build a sample mosaic from photographs installed on this machine and render it.
    Demo(cli::demo::DemoArgs),
    /// Export a mosaic as a Deep Zoom Image (DZI pyramid + an OpenSeadragon page).
    Export(cli::export::ExportArgs),
    /// Score a picture of a whole mosaic against its target: ΔE at the grid, SSIM at 3×.
    Fidelity(cli::fidelity::FidelityArgs),
}

fn main() {
    // Die quietly of a closed pipe (`tessera info x | head -1`), as Unix tools do, instead
    // of panicking in `println!`.
    // SAFETY: restoring the default disposition of one signal before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let runtime_dir = cli::RuntimeDir::quiet();
    let code = match Cli::try_parse() {
        Ok(cli) => {
            init_logs(cli.verbose);
            match run(cli.command) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    // 128 + SIGINT, as a shell reports a command Ctrl-C stopped.
                    if cli::util::was_interrupted() {
                        130
                    } else {
                        1
                    }
                }
            }
        }
        // --help, --version, or a usage error: clap's text and exit code.
        Err(e) => {
            let _ = e.print();
            e.exit_code()
        }
    };
    drop(runtime_dir);
    std::process::exit(code);
}

/// Logs to stderr: warnings, `-v` progress notes, `-vv` debugging (or `$TESSERA_LOG`).
fn init_logs(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            "{level},wgpu_core=warn,wgpu_hal=error,naga=warn,winit=error,sctk=error,egui_wgpu=error"
        ))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only on a terminal: a log redirected to a file stays plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Bake(a) => cli::bake::run(a),
        Command::Merge(a) => cli::merge::command(a),
        Command::Match(a) => cli::matching::run(a),
        Command::Info { path, library } => cli::info::run(&path, library.as_deref()),
        Command::Render(a) => cli::render::run(a),
        Command::Demo(a) => cli::demo::command(a),
        Command::Export(a) => cli::export::command(a),
        Command::Fidelity(a) => cli::fidelity::command(a),
        Command::Synth(a) => cli::synth::command(a),
        Command::View(a) => cli::view::command(a),
        Command::Bench(a) => cli::bench::command(a),
    }
}
