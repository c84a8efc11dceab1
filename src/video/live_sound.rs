//! A live source's sound, copied into the recording of its mosaic as it arrives.
//!
//! The live decode thread reads every packet of the source; those of its sound stream go,
//! compressed as they came, into a queue this handle holds. The video writer copies them
//! into the file (no re-encoding), each placed by the anchor the recording sets: the output
//! time at which a frame of a known source time is shown. Sound and pictures share the
//! source's clock (an MPEG-TS stream's, a device's), so sound stays within the pictures'
//! latency of them; a clock that jumps (a sender that restarted) moves the anchor with the
//! next frame.

use super::encode::SoundLeftOut;
use super::error::{Context as _, Result};
use crossbeam_channel::{Receiver, Sender};
use ffmpeg_next as ffmpeg;
use ffmpeg_next::{Packet, Rational};
use std::sync::{Arc, Mutex};

/// Packets held for the recording: seconds of any sound (AAC: 47 packets a second).
const QUEUE: usize = 1024;
/// A change of the anchor larger than this is the source's clock jumping, not jitter.
const CLOCK_JUMP: f64 = 0.25;

/// A live source's sound stream: what it is, and its packets as they are read.
#[derive(Clone)]
pub struct LiveSound {
    source: String,
    parameters: ffmpeg::codec::Parameters,
    time_base: Rational,
    tx: Sender<Packet>,
    packets: Receiver<Packet>,
    /// Output time minus source time, once a frame was placed.
    anchor: Arc<Mutex<Option<f64>>>,
}

impl std::fmt::Debug for LiveSound {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "LiveSound({}, {:?})", self.source, self.parameters.id())
    }
}

impl LiveSound {
    /// The sound stream `index` of `input` (read from `source`), with an empty queue.
    pub(super) fn new(
        source: &str,
        input: &ffmpeg::format::context::Input,
        index: usize,
    ) -> Option<LiveSound> {
        let stream = input.stream(index)?;
        let (tx, packets) = crossbeam_channel::bounded(QUEUE);
        Some(LiveSound {
            source: source.to_string(),
            // A copy of its own: the input it came from may be closed and opened again.
            parameters: stream.parameters().clone(),
            time_base: stream.time_base(),
            tx,
            packets,
            anchor: Arc::new(Mutex::new(None)),
        })
    }

    /// Queues one of the stream's packets; when nothing takes them (no recording), the
    /// newest are dropped.
    pub(super) fn queue(&self, packet: Packet) {
        let _ = self.tx.try_send(packet);
    }

    /// The frame whose source time is `source` seconds is shown `output` seconds into
    /// the recording: sound is placed to match. Called with each new frame; only a jump
    /// of the source's clock moves the anchor once set.
    pub fn anchor(&self, output: f64, source: f64) {
        let offset = output - source;
        let mut anchor = self.anchor.lock().expect("not poisoned");
        if anchor.is_none_or(|a| (a - offset).abs() > CLOCK_JUMP) {
            *anchor = Some(offset);
        }
    }

    /// What the sound is called in messages: its source.
    pub fn name(&self) -> std::path::PathBuf {
        self.source.clone().into()
    }
}

/// The live sound being copied into one video.
pub(super) struct LiveCopy {
    sound: LiveSound,
    out_index: usize,
    pub(super) out_time_base: Rational,
    /// The last timestamp written (output time base): sound never goes back.
    last: Option<i64>,
}

impl LiveCopy {
    /// Adds the output stream (before the header is written).
    pub(super) fn open(
        sound: &LiveSound,
        output: &mut ffmpeg::format::context::Output,
    ) -> std::result::Result<LiveCopy, SoundLeftOut> {
        // Packets from before the recording started are not its sound.
        while sound.packets.try_recv().is_ok() {}
        let out_index = super::encode::add_sound_stream(output, &sound.parameters, sound.name())?;
        Ok(LiveCopy {
            sound: sound.clone(),
            out_index,
            out_time_base: sound.time_base,
            last: None,
        })
    }

    /// The output stream's index.
    pub(super) fn out_index(&self) -> usize {
        self.out_index
    }

    /// Copies the packets that arrived so far, placed by the anchor (dropped before there
    /// is one, and where they would go back in time).
    pub(super) fn copy_arrived(
        &mut self,
        output: &mut ffmpeg::format::context::Output,
    ) -> Result<()> {
        let tb = f64::from(self.sound.time_base);
        while let Ok(mut packet) = self.sound.packets.try_recv() {
            let Some(anchor) = *self.sound.anchor.lock().expect("not poisoned") else {
                continue;
            };
            let Some(pts) = packet.pts().or(packet.dts()) else {
                continue;
            };
            let at = pts as f64 * tb + anchor;
            let ts = (at / f64::from(self.out_time_base)).round() as i64;
            if at < 0.0 || self.last.is_some_and(|last| ts <= last) {
                continue;
            }
            self.last = Some(ts);
            packet.set_pts(Some(ts));
            packet.set_dts(Some(ts));
            packet.set_position(-1);
            packet.set_stream(self.out_index);
            packet
                .write_interleaved(output)
                .context("cannot write the sound")?;
        }
        Ok(())
    }
}
