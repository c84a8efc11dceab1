//! A clip's frames at a large level, as JPEG: the blob format of `clips-LL.bin`.
//!
//! ```text
//! u32 frames | frames × (u32 offset, u32 length, u32 crc32) | JPEG data …
//! ```
//! Offsets are from the blob's start, so a range of frames is one read after the header;
//! each frame's CRC covers its JPEG bytes.

/// JPEG quality of clip frames at the large levels: no visible loss on moving pictures.
pub const PROXY_QUALITY: u8 = 90;

pub struct ProxyBlob;

/// What is wrong with a clip's blob of JPEG frames.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("clip blob header does not hold {0} frames")]
    Header(u32),
    #[error("clip blob header points past the blob")]
    PastEnd,
    #[error("clip frame fails its checksum")]
    Checksum,
    #[error("clip frame does not decode: {0}")]
    Decode(image::ImageError),
    #[error("clip frame is {width}×{height}, expected {expected}²")]
    Size {
        width: u32,
        height: u32,
        expected: u32,
    },
}

/// Where one frame's JPEG lies in its blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameSpan {
    pub offset: u32,
    pub len: u32,
    pub crc: u32,
}

impl ProxyBlob {
    /// Bytes of the header of a blob of `frames` frames.
    pub fn header_len(frames: u32) -> usize {
        4 + 12 * frames as usize
    }

    /// Encodes `pages` (sRGB RGBA8 squares of side `size`) as a blob.
    #[cfg(test)]
    pub fn encode(pages: &[Vec<u8>], size: u32) -> Vec<u8> {
        use rayon::prelude::*;
        let jpegs: Vec<Vec<u8>> = pages.par_iter().map(|p| encode_jpeg(p, size)).collect();
        Self::assemble(&jpegs)
    }

    /// A blob of frames already encoded as JPEG, in order.
    pub fn assemble(jpegs: &[impl AsRef<[u8]>]) -> Vec<u8> {
        let jpegs: Vec<&[u8]> = jpegs.iter().map(AsRef::as_ref).collect();
        let frames = jpegs.len() as u32;
        let mut blob = Vec::with_capacity(
            Self::header_len(frames) + jpegs.iter().map(|j| j.len()).sum::<usize>(),
        );
        blob.extend_from_slice(&frames.to_le_bytes());
        let mut offset = Self::header_len(frames) as u32;
        for j in &jpegs {
            for v in [offset, j.len() as u32, crc32fast::hash(j)] {
                blob.extend_from_slice(&v.to_le_bytes());
            }
            offset += j.len() as u32;
        }
        for j in jpegs {
            blob.extend_from_slice(j);
        }
        blob
    }

    /// The frame spans of a blob from its header bytes, checked against the blob's length.
    pub fn spans(header: &[u8], frames: u32, blob_len: u64) -> Result<Vec<FrameSpan>, BlobError> {
        let word = |i: usize| u32::from_le_bytes(header[4 * i..4 * i + 4].try_into().unwrap());
        if header.len() < Self::header_len(frames) || word(0) != frames {
            return Err(BlobError::Header(frames));
        }
        let spans: Vec<FrameSpan> = (0..frames as usize)
            .map(|f| FrameSpan {
                offset: word(1 + 3 * f),
                len: word(2 + 3 * f),
                crc: word(3 + 3 * f),
            })
            .collect();
        if spans
            .iter()
            .any(|s| s.offset as u64 + s.len as u64 > blob_len)
        {
            return Err(BlobError::PastEnd);
        }
        Ok(spans)
    }

    /// Checks a whole blob of `frames` frames: its header, and every frame's CRC.
    pub fn check(blob: &[u8], frames: u32) -> Result<(), BlobError> {
        let spans = Self::spans(blob, frames, blob.len() as u64)?;
        match spans
            .iter()
            .all(|s| crc32fast::hash(&blob[s.offset as usize..][..s.len as usize]) == s.crc)
        {
            true => Ok(()),
            false => Err(BlobError::Checksum),
        }
    }

    /// Decodes one frame's JPEG into `out` (RGBA8, `size²` texels), checking its CRC.
    pub fn decode(
        jpeg: &[u8],
        span: FrameSpan,
        size: u32,
        out: &mut [u8],
    ) -> Result<(), BlobError> {
        if crc32fast::hash(jpeg) != span.crc {
            return Err(BlobError::Checksum);
        }
        let img = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
            .map_err(BlobError::Decode)?;
        if img.width() != size || img.height() != size {
            return Err(BlobError::Size {
                width: img.width(),
                height: img.height(),
                expected: size,
            });
        }
        out.copy_from_slice(img.to_rgba8().as_raw());
        Ok(())
    }
}

/// JPEG of an RGBA page (alpha dropped), with `jpeg-encoder`: its AVX2 transform makes it
/// about 4× faster than `image`'s encoder, and clip baking encodes two pages per frame.
pub fn encode_jpeg(rgba: &[u8], size: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let side = u16::try_from(size).expect("pages are at most 4096 px");
    jpeg_encoder::Encoder::new(&mut out, PROXY_QUALITY)
        .encode(rgba, side, side, jpeg_encoder::ColorType::Rgba)
        .expect("encoding to memory cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_close_and_damage_is_caught() {
        let size = 16;
        let pages: Vec<Vec<u8>> = (0..3u8)
            .map(|f| {
                (0..size * size)
                    .flat_map(|i| [(i % 16 * 16) as u8, (i / 16 * 16) as u8, f * 80, 255])
                    .collect()
            })
            .collect();
        let mut blob = ProxyBlob::encode(&pages, size);
        let spans = ProxyBlob::spans(&blob, 3, blob.len() as u64).unwrap();
        let mut out = vec![0u8; (size * size * 4) as usize];
        for (f, s) in spans.iter().enumerate() {
            let jpeg = &blob[s.offset as usize..][..s.len as usize];
            ProxyBlob::decode(jpeg, *s, size, &mut out).unwrap();
            let worst = out
                .iter()
                .zip(&pages[f])
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap();
            assert!(worst <= 24, "frame {f}: off by {worst}");
        }
        assert!(ProxyBlob::spans(&blob, 4, blob.len() as u64).is_err());
        let s = spans[1];
        blob[s.offset as usize + 20] ^= 0x10;
        let jpeg = &blob[s.offset as usize..][..s.len as usize];
        assert!(ProxyBlob::decode(jpeg, s, size, &mut out).is_err());
    }
}
