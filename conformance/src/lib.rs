//! The Momentum conformance kit: the host API contract (`docs/api.md`, `docs/openapi.yaml`) as
//! checks any backend in test mode can run (`momentum-conformance`, see `docs/backends.md`).

pub mod checks;
pub mod client;
pub mod spec;
