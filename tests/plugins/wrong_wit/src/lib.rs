//! A plugin built against `alpha-panda:strategy@0.1.0` (the old ABI, whose ticks were a
//! `list<tick>` of records), a version the host no longer implements: the host must
//! refuse it and name the version it found.

wit_bindgen::generate!({ world: "plugin", path: "wit" });

use exports::alpha_panda::strategy::strategy::{
    BatchOutput, Guest, InitConfig, InitError, TickBatch,
};

struct Plugin;

impl Guest for Plugin {
    fn init(_config: InitConfig) -> Result<(), InitError> {
        Ok(())
    }
    fn on_ticks(_batch: TickBatch) -> BatchOutput {
        BatchOutput {
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
