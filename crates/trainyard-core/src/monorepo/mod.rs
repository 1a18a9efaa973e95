//! A monorepo's packages decided together: every package's next version
//! (raised by its dependencies), every package's history in one pass, and
//! bumps that carry a package's dependents' requirements and lockfiles.

pub mod bump;
pub mod dependencies;
pub mod history;
pub mod plan;

#[cfg(test)]
mod tests;
