//! The tile library: sources → mip pyramids + colour signatures → the store on disk.

pub mod bake;
pub mod clips;
pub mod procedural;
pub mod pyramid;
pub mod signature;
pub mod store;

pub use bake::{bake, BakeOptions, BakeReport};
pub use pyramid::{level_count, page_bytes};
pub use store::{Library, StoreError, StoreParams, StoreWriter};
