//! The tile library: sources → mip pyramids + colour signatures → the store on disk.

pub(crate) mod aspect;
pub(crate) mod bake;
pub(crate) mod clips;
pub(crate) mod merge;
pub(crate) mod procedural;
pub(crate) mod pyramid;
pub(crate) mod shard;
pub(crate) mod signature;
pub(crate) mod store;

pub use aspect::{fit_within, AspectError, FitError, TileAspect, TileFit, MAX_ASPECT};
pub use bake::{
    bake, bake_tile, decode_image, decode_target, source_key, BakeError, BakeOptions, BakeReport,
    PictureError,
};
pub use clips::{bake_video, VideoError};
pub use merge::{merge, MergeError, MergeOptions, MergeReport};
pub use procedural::{synth_frame, synth_target, synth_tile};
pub use pyramid::{build_pyramid, build_shaped_pyramid, level_count, page_bytes, LinearTile};
pub use shard::{Shard, ShardError, MAX_SHARDS};
pub use signature::{clip_signature, signature_len, tile_signature, tile_signature_in};
pub use store::{
    existing_params, format_refused, ClipFrame, Library, SkippedSource, SourceKey, StoreError,
    StoreParams, StoreWriter, TileEntry, TilePages,
};
