//! End-to-end tests: the `utoo` binary against a loopback test registry.

mod attacks;
mod cache;
mod cli;
mod dependency_kinds;
mod error_text;
mod faults;
mod git_deps;
mod install;
mod local_specs;
mod lockfile;
mod npm_commands;
mod npmrc;
mod offline;
mod outdated_update;
mod real_registry;
mod scripts;
mod support;
mod trace;
mod tree;
mod workspaces;
