//! `tessera demo --live`: the demo library following a live stream that every machine can
//! make. tessera itself sends it: a slow pan across the demo's target photograph, 1280×720
//! at 30 fps, H.264 in MPEG-TS over UDP to a free port on 127.0.0.1 (nothing leaves the
//! machine). The mosaic of it is then recorded, or shown in a window, by the same
//! `render --live` and `view --live` a user points at a webcam or a stream.

use anyhow::Context;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tessera::video::LiveSender;

/// The stream's frame size and rate.
pub const STREAM_SIZE: (u32, u32) = (1280, 720);
pub const STREAM_FPS: u32 = 30;
/// Seconds the pan takes to go round once.
const ROUND_SECONDS: f64 = 20.0;

/// A stream being sent until dropped.
pub struct TestStream {
    /// Where it can be received.
    pub url: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestStream {
    /// Starts sending a pan across `photo` to a free UDP port on loopback, in real time.
    pub fn start(photo: &Path) -> anyhow::Result<TestStream> {
        let (w, h) = STREAM_SIZE;
        let img = tessera::library::decode_image(photo)
            .map_err(|e| anyhow::anyhow!("{}: {e}", photo.display()))?;
        // Scaled once to cover a quarter more than a frame each way: each frame is then a
        // window cut from it, with no scaling per frame.
        let cover =
            (w as f64 * 1.25 / img.width() as f64).max(h as f64 * 1.25 / img.height() as f64);
        let big = img
            .resize_exact(
                (img.width() as f64 * cover).ceil() as u32,
                (img.height() as f64 * cover).ceil() as u32,
                image::imageops::FilterType::Triangle,
            )
            .to_rgba8();
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .context("no free UDP port on 127.0.0.1")?
            .port();
        let url = format!("udp://127.0.0.1:{port}");
        let stop = Arc::new(AtomicBool::new(false));
        // FFmpeg's objects stay on the thread that made them; it says whether they opened.
        let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
        let thread = {
            let (stop, target) = (stop.clone(), format!("{url}?pkt_size=1316"));
            std::thread::Builder::new()
                .name("tessera-demo-stream".into())
                .spawn(move || {
                    let opened = LiveSender::open(&target, "mpegts", STREAM_SIZE, STREAM_FPS);
                    let _ = ready_tx.send(opened.as_ref().map(|_| ()).map_err(|e| e.to_string()));
                    let mut sender = opened?;
                    let started = Instant::now();
                    let (room_x, room_y) = (big.width() - w, big.height() - h);
                    while !stop.load(Ordering::Relaxed) {
                        let n = sender.sent();
                        // Round an ellipse inside the room the cover leaves.
                        let turn =
                            n as f64 / (ROUND_SECONDS * STREAM_FPS as f64) * std::f64::consts::TAU;
                        let x = (0.5 + 0.5 * turn.cos()) * room_x as f64;
                        let y = (0.5 + 0.5 * turn.sin()) * room_y as f64;
                        let frame =
                            image::imageops::crop_imm(&big, x as u32, y as u32, w, h).to_image();
                        sender.send(frame.as_raw())?;
                        let due = Duration::from_secs_f64((n + 1) as f64 / STREAM_FPS as f64);
                        std::thread::sleep(due.saturating_sub(started.elapsed()));
                    }
                    sender.finish()?;
                    Ok(())
                })?
        };
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => anyhow::bail!("cannot send the demo stream: {e}"),
            Err(_) => anyhow::bail!("the demo stream's thread stopped"),
        }
        Ok(TestStream {
            url,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for TestStream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            match t.join() {
                Ok(Err(e)) => tracing::warn!("the demo stream stopped: {e:#}"),
                Err(_) => tracing::warn!("the demo stream's thread panicked"),
                Ok(Ok(())) => {}
            }
        }
    }
}
