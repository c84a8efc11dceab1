//! Frames zoomed out below a pixel per cell: where each pixel samples the overview.

use crate::overview::{Overview, OverviewTap};
use crate::view::FrameView;

/// The trilinear overview sample of every pixel, as two mips and per-axis taps in each.
pub(super) struct OverviewTaps {
    pub(super) mip: usize,
    /// Weight of `mip + 1`.
    pub(super) weight: f32,
    pub(super) columns: Vec<[OverviewTap; 2]>,
    pub(super) rows: Vec<[OverviewTap; 2]>,
    /// Per column, whether it falls on the mosaic (the background shows beside it).
    pub(super) inside: Vec<bool>,
}

impl OverviewTaps {
    pub(super) fn new(view: &FrameView, overview: &Overview) -> OverviewTaps {
        let (mip, weight) = overview.mip_pair(view.overview_lod);
        let axis = |pixels: u32, a: usize, cells: u32| -> Vec<[OverviewTap; 2]> {
            (0..pixels)
                .map(|p| {
                    // The pixel centre, normalised over the whole mosaic.
                    let g = (view.origin_int[a] as f32 + view.local(p, a)) / cells as f32;
                    [overview.tap(mip, g, a), overview.tap(mip + 1, g, a)]
                })
                .collect()
        };
        let inside = (0..view.width)
            .map(|p| (0..view.cols as i64).contains(&view.cell_of_pixel(p, 0)))
            .collect();
        OverviewTaps {
            mip,
            weight,
            columns: axis(view.width, 0, view.cols),
            rows: axis(view.height, 1, view.rows),
            inside,
        }
    }
}
