//! The sandboxed Wasm engine: load and check a strategy component, instantiate it
//! in its own store with a memory cap, a CPU deadline and no ambient capability,
//! and call it with batches of ticks.
//!
//! - [`bindings`]: host-side bindings generated from `wit/` (the only contract).
//! - [`engine`]: the wasmtime engine, the linker, the epoch ticker, the compiled cache.
//! - [`cpu`]: a call's CPU budget, checked against the thread's CPU clock.
//! - [`component`]: checking a component (non-component, WIT version, imports) before use.
//! - [`sandbox`]: per-store state: empty WASI, pinned clocks and randomness, limits, logging.
//! - [`instance`]: one live instance and its calls; traps become [`Fault`]s.
//! - [`language`]: what a component was written in (Rust, Python, JavaScript).
//! - [`convert`]: market ticks into the flat WIT tick batch (layout and record writer:
//!   the `alpha-panda-abi` crate).
//! - [`output`]: reading (with `alpha-panda-abi`) and validating what a plugin returns.
pub mod bindings;
pub mod component;
pub mod convert;
pub mod cpu;
pub mod engine;
pub mod instance;
pub mod language;
pub mod output;
pub mod sandbox;

pub use component::{LoadError, PluginComponent};
pub use engine::{EngineLimits, StrategyEngine};
pub use instance::{Fault, Instance};
pub use language::Language;
pub use output::{OutputLimits, StrategySignal};

/// The WIT package this host implements.
pub const WIT_PACKAGE: &str = "alpha-panda:strategy";
/// Its version, as declared by `package` in `wit/strategy.wit` (a test checks they
/// agree): a plugin built against another one is refused.
pub const WIT_VERSION: &str = "0.4.0";

#[cfg(test)]
mod tests {
    use super::{WIT_PACKAGE, WIT_VERSION};

    #[test]
    fn version_is_the_wit_files() {
        let wit = include_str!("../../../wit/strategy.wit");
        let declared = wit
            .lines()
            .find_map(|l| l.trim().strip_prefix("package "))
            .and_then(|p| p.strip_suffix(';'));
        assert_eq!(
            declared,
            Some(format!("{WIT_PACKAGE}@{WIT_VERSION}").as_str())
        );
    }
}
