//! The trainyard binary, run on real repositories.
// Tests build their fixtures with plain writes: nothing else reads them.
#![allow(clippy::disallowed_methods)]

mod support;

mod bad_input;
mod calendar;
mod changelog;
mod checklist;
mod config;
mod demo;
mod docs;
mod endpoints;
mod evidence;
mod gate;
mod generated_history;
mod http_server;
mod init;
mod integration;
mod lifecycle;
mod monorepo;
mod monorepo_life;
mod notes;
mod publishing;
mod release;
mod rollback;
mod schedule;
mod status;
mod sync;
mod sync_locks;
mod sync_recover;
mod sync_stress;
mod team;
mod version;
