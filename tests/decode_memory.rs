//! Decoding a long video holds its memory flat. A test binary of its own, so no other test
//! moves the process's resident set while it measures.

mod common;

use tessera::video::{VideoReader, VideoSettings, VideoWriter};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse().ok())
        .unwrap()
}

#[test]
fn decoding_does_not_keep_the_packets_it_reads() {
    // 40 s of small video with sound: the reader reads (and must release) 400 sound
    // packets of 1.6 KB besides the pictures' packets.
    let dir = tempfile::tempdir().unwrap();
    let silent = dir.path().join("silent.mp4");
    let (w, h, frames) = (64u32, 64u32, 1000u64);
    let mut video = VideoWriter::create(
        &silent,
        VideoSettings {
            width: w,
            height: h,
            fps: 25.into(),
            crf: 30,
            preset: "ultrafast".into(),
            audio: None,
        },
    )
    .unwrap();
    for i in 0..frames {
        video
            .write_frame(vec![(i % 256) as u8; (w * h * 4) as usize])
            .unwrap();
    }
    video.finish().unwrap();
    let path = dir.path().join("with-sound.mkv");
    common::write_with_sound(Some(&silent), &path, 40.0);

    let mut reader = VideoReader::open(&path).unwrap();
    let mut n = 0;
    let mut after_warm_up = 0;
    while reader.advance().unwrap().is_some() {
        n += 1;
        if n == 100 {
            after_warm_up = rss_kib();
        }
    }
    assert_eq!(n, frames);
    let grown = rss_kib().saturating_sub(after_warm_up);
    // Keeping the 360 sound packets read since frame 100 would be 576 KB.
    assert!(
        grown < 200,
        "resident memory grew {grown} KiB while decoding"
    );
}
