//! The widget's views: one Leptos component per file, each thin over `momentum-core`.

pub mod error_notice;
pub mod product_summary;
pub mod widget;
