//! A plugin that imports an interface the host does not provide (`evil:net/socket`):
//! the host must refuse it at load and name the import.

wit_bindgen::generate!({ world: "evil", path: "wit", generate_all });

use exports::alpha_panda::strategy::strategy::{
    BatchOutput, Guest, InitConfig, InitError, TickBatch,
};

struct Plugin;

impl Guest for Plugin {
    fn init(config: InitConfig) -> Result<(), InitError> {
        // Referenced so the import stays in the component.
        if config.seed == 42 && evil::net::socket::connect("10.0.0.1:80") {
            return Err(InitError {
                param: None,
                message: "connected".into(),
            });
        }
        Ok(())
    }
    fn on_ticks(_batch: TickBatch) -> BatchOutput {
        BatchOutput {
            signal_count: 0,
            signals: Vec::new(),
            errors: Vec::new(),
        }
    }
    fn snapshot() -> Vec<u8> {
        Vec::new()
    }
    fn restore(_state: Vec<u8>) -> Result<(), String> {
        Ok(())
    }
}

export!(Plugin);
