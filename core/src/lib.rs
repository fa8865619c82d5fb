//! Momentum core: pure logic shared by the widget and the reference backend.
pub mod embed;

pub mod advice;
pub mod api;
pub mod checkout;
pub mod copy_budget;
pub mod exit_intent;
pub mod funnel;
pub mod i18n;
pub mod metrics;
pub mod money;
pub mod offer;
pub mod quote;
pub mod tax;
