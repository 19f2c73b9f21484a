//! `Runner`: drives a `Strategy` tick by tick (timers first, then `on_tick`), tags and checks
//! its signals, and wraps its snapshot with the SDK's own state. The Wasm export uses it;
//! so can tests.

use serde::{Deserialize, Serialize};

use crate::logging::{self, Level};
use crate::timers::Timers;
use crate::{
    Context, InitContext, ParamError, Params, Signal, Strategy, StrategyError, Tick, TickData,
};

/// A signal as it leaves the strategy: tagged with the index of the tick it answers.
/// `signal.instrument_token` is always `Some`.
#[derive(Debug, Clone, PartialEq)]
pub struct Emitted {
    pub tick_index: u32,
    pub signal: Signal,
}

/// A failure on one tick: its signals were dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickError {
    pub tick_index: u32,
    pub message: String,
}

/// What a run of ticks produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Output {
    pub signals: Vec<Emitted>,
    pub errors: Vec<TickError>,
}

impl Output {
    /// Empty, without allocating (for a `static`).
    pub const fn new() -> Self {
        Self {
            signals: Vec::new(),
            errors: Vec::new(),
        }
    }
}

/// Snapshot layout version written by this SDK.
const SNAPSHOT_FORMAT: u8 = 1;

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    format: u8,
    timers: &'a Timers,
    state: Result<&'a [u8], &'a str>,
}

#[derive(Deserialize)]
struct EnvelopeIn {
    format: u8,
    timers: Timers,
    state: Result<Vec<u8>, String>,
}

/// A strategy instance with its SDK-side state (pending timers, output checks).
///
/// ```
/// # use alpha_panda_sdk::*;
/// # use serde::{Deserialize, Serialize};
/// #[derive(Serialize, Deserialize)]
/// struct BuyEverything;
/// impl Strategy for BuyEverything {
///     fn init(_: &Params, _: &InitContext) -> Result<Self, ParamError> { Ok(Self) }
///     fn on_tick(&mut self, _: &Tick, out: &mut Context) -> Result<(), StrategyError> {
///         out.emit(Signal::buy(1));
///         Ok(())
///     }
/// }
/// let mut r = Runner::<BuyEverything>::init(&Params::new(), &InitContext::default())?;
/// let signals = r.feed(&TickData::new(7, "10.5", 0)).expect("no tick error");
/// assert_eq!(signals[0].instrument_token, Some(7));
/// # Ok::<(), ParamError>(())
/// ```
#[derive(Debug)]
pub struct Runner<S> {
    strategy: S,
    ctx: Context,
    /// Sorted; empty means any instrument.
    instruments: Vec<u32>,
}

impl<S: Strategy> Runner<S> {
    /// Calls [`Strategy::init`], then refuses any parameter the strategy did not read.
    pub fn init(params: &Params, init: &InitContext) -> Result<Self, ParamError> {
        let strategy = S::init(params, init)?;
        if let Some(name) = params.first_unread() {
            let known = params.asked_names();
            let known = if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            };
            return Err(ParamError::invalid(
                name,
                format!("unknown parameter (this strategy reads: {known})"),
            ));
        }
        let mut instruments = init.instruments.clone();
        instruments.sort_unstable();
        instruments.dedup();
        Ok(Self {
            strategy,
            ctx: Context::default(),
            instruments,
        })
    }

    pub fn strategy(&self) -> &S {
        &self.strategy
    }

    pub fn strategy_mut(&mut self) -> &mut S {
        &mut self.strategy
    }

    /// Pending timers as `(due_us, id)`, in firing order.
    pub fn pending_timers(&self) -> Vec<(i64, u64)> {
        self.ctx.timers.list()
    }

    /// Delivers one tick: first every timer due at or before its timestamp (in
    /// `(due, id)` order), then `on_tick`. Signals go to `out` tagged with `tick_index`;
    /// if any of these calls fails or emits an invalid signal, the tick's signals are
    /// dropped and one [`TickError`] per failure is added instead.
    pub fn handle(&mut self, tick_index: u32, tick: &Tick<'_>, out: &mut Output) {
        let first_signal = out.signals.len();
        let first_error = out.errors.len();
        let now = tick.timestamp_us();
        let mut cursor = None;
        while let Some((due, id)) = self.ctx.timers.pop_due(now, cursor) {
            cursor = Some((due, id));
            self.ctx.now_us = due;
            let result = self.strategy.on_timer(id, due, &mut self.ctx);
            let result = result.map_err(|e| format!("on_timer({id}): {e}"));
            self.collect(tick_index, None, result, out);
        }
        self.ctx.now_us = now;
        let result = self.strategy.on_tick(tick, &mut self.ctx);
        let result = result.map_err(|e| e.to_string());
        self.collect(tick_index, Some(tick.instrument_token()), result, out);
        if out.errors.len() > first_error {
            out.signals.truncate(first_signal);
        }
    }

    /// Moves the signals of one callback from the context to `out`, or records why not.
    fn collect(
        &mut self,
        tick_index: u32,
        tick_instrument: Option<u32>,
        result: Result<(), String>,
        out: &mut Output,
    ) {
        if let Err(message) = result {
            self.ctx.signals.clear();
            out.errors.push(TickError {
                tick_index,
                message,
            });
            return;
        }
        for mut signal in self.ctx.signals.drain(..) {
            let problem = match signal.instrument_token.or(tick_instrument) {
                None => Some("a signal from on_timer needs .instrument(token)".to_owned()),
                Some(token)
                    if !self.instruments.is_empty()
                        && self.instruments.binary_search(&token).is_err() =>
                {
                    Some(format!(
                        "signal for instrument {token}, which the strategy is not subscribed to"
                    ))
                }
                Some(token) => {
                    signal.instrument_token = Some(token);
                    signal.problem()
                }
            };
            match problem {
                None => out.signals.push(Emitted { tick_index, signal }),
                Some(message) => {
                    out.errors.push(TickError {
                        tick_index,
                        message,
                    });
                    break;
                }
            }
        }
        self.ctx.signals.clear();
    }

    /// The strategy's state and the pending timers, as one byte string.
    /// If the strategy cannot encode itself, the bytes carry the reason and
    /// [`Runner::restore`] reports it.
    pub fn snapshot(&self) -> Vec<u8> {
        let state = self.strategy.snapshot();
        if let Err(e) = &state {
            logging::log(
                Level::Error,
                "strategy snapshot failed",
                &[("error", e.message())],
            );
        }
        let envelope = EnvelopeOut {
            format: SNAPSHOT_FORMAT,
            timers: &self.ctx.timers,
            state: match &state {
                Ok(bytes) => Ok(bytes.as_slice()),
                Err(e) => Err(e.message()),
            },
        };
        postcard::to_allocvec(&envelope).unwrap_or_default()
    }

    /// Takes over the state of [`Runner::snapshot`] bytes (after `init`).
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), String> {
        let envelope: EnvelopeIn = postcard::from_bytes(bytes)
            .map_err(|e| format!("not an alpha-panda snapshot ({} bytes): {e}", bytes.len()))?;
        if envelope.format != SNAPSHOT_FORMAT {
            return Err(format!(
                "snapshot format {} (this SDK reads {SNAPSHOT_FORMAT})",
                envelope.format
            ));
        }
        let state = envelope
            .state
            .map_err(|e| format!("the snapshot was not taken: {e}"))?;
        self.strategy
            .restore(&state)
            .map_err(|e: StrategyError| format!("strategy restore failed: {e}"))?;
        self.ctx.timers = envelope.timers;
        Ok(())
    }

    /// Test helper: delivers one tick (as tick 0) and returns its signals, or the
    /// error messages joined by `"; "`.
    pub fn feed(&mut self, tick: &TickData) -> Result<Vec<Signal>, String> {
        let mut out = Output::new();
        self.handle(0, &tick.as_tick(), &mut out);
        if out.errors.is_empty() {
            Ok(out.signals.into_iter().map(|e| e.signal).collect())
        } else {
            let messages: Vec<String> = out.errors.into_iter().map(|e| e.message).collect();
            Err(messages.join("; "))
        }
    }

    /// Test helper: delivers ticks as one batch (indices from 0).
    pub fn feed_all(&mut self, ticks: &[TickData]) -> Output {
        let mut out = Output::new();
        for (i, tick) in ticks.iter().enumerate() {
            self.handle(
                u32::try_from(i).unwrap_or(u32::MAX),
                &tick.as_tick(),
                &mut out,
            );
        }
        out
    }
}
