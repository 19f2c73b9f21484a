//! Host-side bindings of the `plugin` world in `wit/strategy.wit`.
#![allow(missing_docs, clippy::all)]

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../wit",
});

pub use self::alpha_panda::strategy::types;
pub use self::exports::alpha_panda::strategy::strategy as guest;
