//! A test plugin that misbehaves on purpose; the manifest's `mode` picks how:
//! - `counter`: one BUY per tick with `count` (ticks seen, across reloads) and
//!   `version` (a parameter) in the metadata: proves state carry-over and that each
//!   tick reaches exactly one version.
//! - `panic`: like `counter`, but panics on the tick whose time is `at_us` (every tick if -1).
//! - `loop`: loops forever (on `at_us`, or every tick).
//! - `spin`: like `counter`, after `spin` iterations of busy work per tick (CPU
//!   time without end: the deadline's unit).
//! - `alloc`: allocates 1 GiB (on `at_us`, or every tick).
//! - `flood`: returns 10 000 signals for one tick.
//! - `snapshot_panic`: like `counter`, but panics in `snapshot` (so it passes its
//!   checks and `init`, and fails when the host takes its first snapshot).
//! - `nan`: returns a signal with a NaN price.
//! - `escape`: tries to read a file, open a socket, read the environment and the
//!   wall clock, and reports what it got in the signal's metadata.

use alpha_panda_sdk::{
    Context, InitContext, ParamError, Params, Signal, Strategy, StrategyError, Tick,
};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Hostile {
    mode: String,
    at_us: i64,
    version: i64,
    spin: u64,
    count: u64,
}

/// What a snapshot carries: only the count, so a reload keeps its new parameters.
#[derive(Serialize, Deserialize)]
struct State {
    count: u64,
}

impl Hostile {
    fn hits(&self, tick: &Tick) -> bool {
        self.at_us < 0 || tick.timestamp_us() == self.at_us
    }

    fn count_signal(&self, tick: &Tick) -> Signal {
        Signal::buy(1)
            .price_exact(tick.last_price())
            .meta("count", self.count)
            .meta("version", self.version)
    }
}

fn escape_report() -> Vec<(String, String)> {
    let file = match std::fs::read_to_string("/etc/passwd") {
        Ok(t) => format!("read {} bytes", t.len()),
        Err(e) => format!("denied: {e}"),
    };
    let socket = match std::net::TcpStream::connect("127.0.0.1:6379") {
        Ok(_) => "connected".to_owned(),
        Err(e) => format!("denied: {e}"),
    };
    let env = std::env::vars().count().to_string();
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs().to_string())
        .unwrap_or_else(|e| format!("error: {e}"));
    vec![
        ("file".into(), file),
        ("socket".into(), socket),
        ("env_vars".into(), env),
        ("clock_secs".into(), clock),
    ]
}

impl Strategy for Hostile {
    fn init(params: &Params, _ctx: &InitContext) -> Result<Self, ParamError> {
        Ok(Self {
            mode: params.get_or("mode", "counter".to_owned())?,
            at_us: params.get_or("at_us", -1i64)?,
            version: params.get_or("version", 0i64)?,
            spin: params.get_or_in("spin", 0u64, 0..)?,
            count: 0,
        })
    }

    fn on_tick(&mut self, tick: &Tick, out: &mut Context) -> Result<(), StrategyError> {
        self.count += 1;
        match self.mode.as_str() {
            "counter" | "snapshot_panic" => out.emit(self.count_signal(tick)),
            "panic" => {
                if self.hits(tick) {
                    panic!("hostile plugin panics on tick at {}", tick.timestamp_us());
                }
                out.emit(self.count_signal(tick));
            }
            "spin" => {
                let mut x = 0u64;
                for i in 0..self.spin {
                    x = std::hint::black_box(x.wrapping_add(i));
                }
                std::hint::black_box(x);
                out.emit(self.count_signal(tick));
            }
            "loop" if self.hits(tick) => {
                let mut x = 0u64;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "alloc" if self.hits(tick) => {
                let v = vec![7u8; 1 << 30];
                std::hint::black_box(&v);
                out.emit(Signal::buy(v.len() as u64));
            }
            "flood" => {
                for _ in 0..10_000 {
                    out.emit(Signal::buy(1));
                }
            }
            "nan" => out.emit(Signal::buy(1).price(f64::NAN)),
            "escape" => {
                let mut s = Signal::buy(1);
                for (k, v) in escape_report() {
                    s = s.meta(k, v);
                }
                out.emit(s);
            }
            _ => {}
        }
        Ok(())
    }

    fn snapshot(&self) -> Result<Vec<u8>, StrategyError> {
        if self.mode == "snapshot_panic" {
            panic!("hostile plugin panics in snapshot");
        }
        Ok(postcard_state(self.count))
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), StrategyError> {
        let s: State =
            serde_json_free_decode(state).ok_or_else(|| StrategyError::new("bad state"))?;
        self.count = s.count;
        Ok(())
    }
}

fn postcard_state(count: u64) -> Vec<u8> {
    count.to_le_bytes().to_vec()
}

fn serde_json_free_decode(bytes: &[u8]) -> Option<State> {
    let arr: [u8; 8] = bytes.try_into().ok()?;
    Some(State {
        count: u64::from_le_bytes(arr),
    })
}

alpha_panda_sdk::export_strategy!(Hostile);
