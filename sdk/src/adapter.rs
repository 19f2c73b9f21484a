//! The Wasm export: turns the WIT calls (`init`, `on-ticks`, `snapshot`, `restore`) into
//! `Runner` calls, converting between generated and SDK types (the flat tick records
//! and signal buffer through `batch`). Used by `export_strategy!`.

use std::cell::RefCell;

use crate::__bindings::alpha_panda::strategy::types as wit;
pub use crate::__bindings::exports::alpha_panda::strategy::strategy::Guest;
pub use wit::{BatchOutput, InitConfig, InitError, TickBatch};

use crate::batch::{write_signals, Received};
use crate::params::ParamValue;
use crate::runner::{Output, TickError};
use crate::{Artifacts, InitContext, Params, Runner, Strategy};

/// One plugin instance: the strategy (once `init` succeeded) and reused buffers.
pub struct Instance<S> {
    runner: Option<Runner<S>>,
    out: Output,
}

impl<S> Instance<S> {
    pub const fn new() -> Self {
        Self {
            runner: None,
            out: Output::new(),
        }
    }
}

impl<S> Default for Instance<S> {
    fn default() -> Self {
        Self::new()
    }
}

const BUSY: &str = "strategy instance re-entered";

pub fn init<S: Strategy>(cell: &RefCell<Instance<S>>, config: InitConfig) -> Result<(), InitError> {
    let mut inst = cell.try_borrow_mut().map_err(|_| InitError {
        param: None,
        message: BUSY.to_owned(),
    })?;
    inst.runner = None;
    let params = Params::from_pairs(config.params.into_iter().map(|(name, v)| {
        let v = match v {
            wit::ParamValue::Integer(i) => ParamValue::Integer(i),
            wit::ParamValue::Float(f) => ParamValue::Float(f),
            wit::ParamValue::Text(t) => ParamValue::Text(t),
            wit::ParamValue::Boolean(b) => ParamValue::Boolean(b),
        };
        (name, v)
    }));
    let mut artifacts = Artifacts::default();
    for a in config.artifacts {
        artifacts.insert(a.name, a.sha256, a.data);
    }
    let ctx = InitContext {
        strategy_id: config.strategy_id,
        instruments: config.instruments,
        seed: config.seed,
        artifacts,
    };
    let runner = params
        .and_then(|p| Runner::<S>::init(&p, &ctx))
        .map_err(|e| InitError {
            param: e.param,
            message: e.message,
        })?;
    inst.runner = Some(runner);
    Ok(())
}

pub fn on_ticks<S: Strategy>(cell: &RefCell<Instance<S>>, batch: TickBatch) -> BatchOutput {
    let Ok(mut guard) = cell.try_borrow_mut() else {
        return fail_all(batch.count, BUSY);
    };
    let inst = &mut *guard;
    let Some(runner) = inst.runner.as_mut() else {
        return fail_all(batch.count, "on-ticks called before a successful init");
    };
    let received = match Received::parse(batch.count, &batch.data, &batch.symbols) {
        Ok(received) => received,
        Err(e) => return fail_all(batch.count, &e.to_string()),
    };
    for (i, tick) in received.ticks().enumerate() {
        match tick {
            Ok(tick) => runner.handle(index(i), &tick, &mut inst.out),
            Err(e) => inst.out.errors.push(TickError {
                tick_index: index(i),
                message: e.to_string(),
            }),
        }
    }
    let mut signals = Vec::new();
    let signal_count = write_signals(&mut inst.out.signals, &mut signals);
    BatchOutput {
        signal_count,
        signals,
        errors: inst
            .out
            .errors
            .drain(..)
            .map(|e| wit::TickError {
                tick_index: e.tick_index,
                message: e.message,
            })
            .collect(),
    }
}

/// Empty bytes when there is no initialised strategy; `restore` of them reports it.
pub fn snapshot<S: Strategy>(cell: &RefCell<Instance<S>>) -> Vec<u8> {
    cell.try_borrow()
        .ok()
        .and_then(|i| i.runner.as_ref().map(Runner::snapshot))
        .unwrap_or_default()
}

pub fn restore<S: Strategy>(cell: &RefCell<Instance<S>>, state: Vec<u8>) -> Result<(), String> {
    let mut inst = cell.try_borrow_mut().map_err(|_| BUSY.to_owned())?;
    match inst.runner.as_mut() {
        Some(runner) => runner.restore(&state),
        None => Err("restore called before a successful init".to_owned()),
    }
}

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Most errors one unreadable batch reports: the host sends far fewer ticks a call,
/// and a garbage count must not make the guest allocate without bound.
const MAX_BATCH_ERRORS: u32 = 1 << 16;

/// A tick-error for every tick the batch claims to hold.
fn fail_all(count: u32, message: &str) -> BatchOutput {
    BatchOutput {
        signal_count: 0,
        signals: Vec::new(),
        errors: (0..count.min(MAX_BATCH_ERRORS))
            .map(|i| wit::TickError {
                tick_index: i,
                message: message.to_owned(),
            })
            .collect(),
    }
}
