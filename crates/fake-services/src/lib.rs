//! Forges and package registries on loopback, for trainyard's tests: each
//! implements the part of the real API that trainyard calls, keeps its
//! state in memory, logs every request it receives (`METHOD /path`), and
//! can be told to fail the next requests to a path with a status.
//!
//! [`http`] is the HTTP/1.1 server they share; each service is a module.

pub mod gitea;
pub mod github;
pub mod gitlab;
pub mod http;

pub use http::{Request, Response, Server};
pub mod crates_registry;
pub mod npm_registry;
pub mod pypi;
