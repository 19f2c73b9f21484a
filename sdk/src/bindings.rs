//! The wit-bindgen output for `wit/strategy.wit` (world `plugin`): the ABI, hidden from authors.

wit_bindgen::generate!({
    world: "plugin",
    path: "../wit",
    pub_export_macro: true,
    export_macro_name: "__export_plugin",
    default_bindings_module: "alpha_panda_sdk::__bindings",
    runtime_path: "alpha_panda_sdk::__wit_bindgen::rt",
});
