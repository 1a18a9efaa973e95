//! The registry channels: `crates` (the user's `cargo publish`, in
//! workspace dependency order), `npm` (the user's `npm publish`, the
//! dist-tag from the pre-release) and `pypi` (an upload of the built
//! sdist and wheels).
//!
//! Each asks the registry's own read API first whether the version is
//! there, and records a version already published as done rather than
//! failing or publishing it twice. A rollback yanks (crates), deprecates
//! (npm), or says what only a person can do (PyPI).

mod crates;
mod npm;
mod pypi;

pub use crates::CratesChannel;
pub use npm::NpmChannel;
pub use pypi::PypiChannel;

pub(super) use crates::{
    plan as crates_plan, publish as crates_publish, withdraw as crates_withdraw,
    withdraw_plan as crates_withdraw_plan,
};
pub(super) use npm::{
    plan as npm_plan, publish as npm_publish, withdraw as npm_withdraw,
    withdraw_plan as npm_withdraw_plan,
};
pub(super) use pypi::{
    plan as pypi_plan, publish as pypi_publish, withdraw as pypi_withdraw,
    withdraw_plan as pypi_withdraw_plan,
};
