//! A strategy over two instruments, the case that needs one instance to see both:
//! on each tick of `lead` it emits BUY 1 at the last price of `follow` (nothing
//! before `follow` has ticked). Its metadata carry what the answer depends on:
//! `n`, the lead ticks answered so far (its state, across reloads and hosts),
//! and `follow_us`, the time of the follow tick whose price it used. In time
//! order, live and in replay, the same ticks give the same signals.

use alpha_panda_sdk::{
    Context, Decimal, InitContext, ParamError, Params, Signal, Strategy, StrategyError, Tick,
};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Pair {
    lead: u32,
    follow: u32,
    /// The last tick of `follow`: its price and time.
    last: Option<(Decimal, i64)>,
    n: u64,
}

impl Strategy for Pair {
    fn init(params: &Params, _ctx: &InitContext) -> Result<Self, ParamError> {
        Ok(Self {
            lead: params.get("lead")?,
            follow: params.get("follow")?,
            last: None,
            n: 0,
        })
    }

    fn on_tick(&mut self, tick: &Tick, out: &mut Context) -> Result<(), StrategyError> {
        let token = tick.instrument_token();
        if token == self.follow {
            self.last = Some((tick.last_price(), tick.timestamp_us()));
        } else if token == self.lead {
            if let Some((price, at)) = self.last {
                self.n += 1;
                out.emit(
                    Signal::buy(1)
                        .price_exact(price)
                        .meta("n", self.n)
                        .meta("follow_us", at),
                );
            }
        }
        Ok(())
    }
}

alpha_panda_sdk::export_strategy!(Pair);
