//! End-to-end tests: the `utoo` binary against a loopback test registry.

mod attacks;
mod bundled;
mod cache;
mod cache_commands;
mod cli;
mod dependency_kinds;
mod error_text;
mod faults;
mod git_deps;
mod install;
mod local_specs;
mod lockfile;
mod ls_commands;
mod npm_commands;
mod npmrc;
mod offline;
mod outdated_update;
mod real_registry;
mod run_commands;
mod scripts;
mod support;
mod trace;
mod tree;
mod workspaces;
