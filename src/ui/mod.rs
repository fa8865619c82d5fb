//! The widget's views: one Leptos component per file, each thin over `Session` and `momentum-core`.

pub mod addon_card;
pub mod buyer_fields;
pub mod challenge;
pub mod checkout;
pub mod error_notice;
pub mod exit_offer;
pub mod lazy_view;
pub mod order_bump;
pub mod order_number;
pub mod order_summary;
pub mod pay_button;
pub mod payment_field;
pub mod product_summary;
pub mod receipt;
pub mod widget;
