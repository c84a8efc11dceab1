//! A resident page as the CPU renderer reads it: rows of texels in the atlas or a small
//! table, with a prefetch hint.

/// Most bytes of a page `Page::prefetch` asks for: larger pages are read over many bands,
/// row after row, which the hardware prefetcher follows.
const PREFETCH_BYTES: usize = 1024;

/// A resident page: its rows, `stride` bytes apart from `start` in its layer (or table).
#[derive(Clone, Copy)]
pub(super) struct Page<'a> {
    pub(super) texels: &'a [u8],
    pub(super) start: usize,
    pub(super) stride: usize,
}

impl<'a> Page<'a> {
    /// `n` texels of row `y` from column `x`.
    #[inline]
    pub(super) fn run(&self, x: usize, y: usize, n: usize) -> &'a [u8] {
        &self.texels[self.start + y * self.stride + x * 4..][..n * 4]
    }

    /// Asks the memory system for the page (its first `PREFETCH_BYTES` when larger), a page
    /// of `level`, ahead of reading it. Pages are scattered over the atlas: one not read
    /// lately costs a TLB walk and a cache miss per line.
    #[inline]
    pub(super) fn prefetch(&self, level: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            let bytes = (4usize << (2 * level)).min(PREFETCH_BYTES);
            for line in self.texels[self.start..][..bytes].chunks(64) {
                // SAFETY: a prefetch only hints; the address is in the layer.
                unsafe {
                    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                    _mm_prefetch::<_MM_HINT_T0>(line.as_ptr() as *const i8)
                };
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = level;
    }
}
