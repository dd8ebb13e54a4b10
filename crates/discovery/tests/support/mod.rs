//! Helpers shared by the integration tests.

#[path = "../../../http-client/tests/support/pki.rs"]
pub mod pki;
