//! `alpha-panda feed paper`: a paper market feed. Seeded random walks for real NSE
//! instruments (tokens and rough price levels), full ticks with depth and OHLC,
//! written to `market.ticks` as root envelopes (`broker` `shared`, key = token,
//! murmur2 partitioning). `--from FILE.jsonl` re-publishes recorded envelopes.

use std::path::Path;
use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rdkafka::producer::FutureProducer;
use rust_decimal::Decimal;

use crate::contract::{
    Depth, DepthLevel, EventEnvelope, EventType, MarketTick, NewEvent, Ohlc, TickMode, Timestamp,
    SHARED,
};
use crate::kafka::outbox::{deliver, OutRecord};
use crate::replay::TickReader;
use crate::topics::{TopicRegistry, MARKET_TICKS};

/// An instrument of the paper feed.
#[derive(Debug, Clone, Copy)]
pub struct Instrument {
    pub token: u32,
    pub symbol: &'static str,
    pub price: f64,
    pub index: bool,
}

/// Realistic NSE tokens and rough price levels.
pub const INSTRUMENTS: &[Instrument] = &[
    Instrument {
        token: 738561,
        symbol: "RELIANCE",
        price: 2500.0,
        index: false,
    },
    Instrument {
        token: 81153,
        symbol: "TCS",
        price: 3990.0,
        index: false,
    },
    Instrument {
        token: 2714625,
        symbol: "HINDUNILVR",
        price: 2550.0,
        index: false,
    },
    Instrument {
        token: 408065,
        symbol: "INFY",
        price: 1500.0,
        index: false,
    },
    Instrument {
        token: 341249,
        symbol: "HDFCBANK",
        price: 1650.0,
        index: false,
    },
    Instrument {
        token: 256265,
        symbol: "NIFTY 50",
        price: 24700.0,
        index: true,
    },
];

/// Why the feed stopped.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error(transparent)]
    Input(#[from] crate::replay::InputError),
    #[error("{0} ticks could not be written: {1}")]
    Undelivered(usize, String),
    #[error("cannot encode a tick: {0}")]
    Encode(String),
}

struct Walk {
    inst: Instrument,
    price: f64,
    open: f64,
    high: f64,
    low: f64,
    volume: u64,
}

/// The seeded walks of every instrument.
pub struct PaperFeed {
    rng: rand::rngs::StdRng,
    walks: Vec<Walk>,
    next: usize,
    clock_us: i64,
}

fn dec(x: f64) -> Decimal {
    // Prices move in ticks of 0.05.
    let ticks = (x / 0.05).round() as i64;
    Decimal::new(ticks * 5, 2)
        .normalize()
        .max(Decimal::new(5, 2))
}

impl PaperFeed {
    /// Walks start at `start_us` (µs since the epoch) and advance 100 ms per round.
    pub fn new(seed: u64, start_us: i64) -> Self {
        Self {
            rng: rand::rngs::StdRng::seed_from_u64(seed),
            walks: INSTRUMENTS
                .iter()
                .map(|i| Walk {
                    inst: *i,
                    price: i.price,
                    open: i.price,
                    high: i.price,
                    low: i.price,
                    volume: 0,
                })
                .collect(),
            next: 0,
            clock_us: start_us,
        }
    }

    /// The next tick, instruments in turn.
    pub fn next_tick(&mut self) -> MarketTick {
        let n = self.walks.len();
        if self.next == n {
            self.next = 0;
            self.clock_us += 100_000;
        }
        let i = self.next;
        self.next += 1;
        // A symmetric step of up to ±0.4 %: volatile enough to make signals.
        let u: f64 = self.rng.random::<f64>() * 2.0 - 1.0;
        let qty: u64 = self.rng.random_range(1..200);
        let w = &mut self.walks[i];
        w.price = (w.price * (1.0 + 0.004 * u)).max(1.0);
        w.high = w.high.max(w.price);
        w.low = w.low.min(w.price);
        w.volume += qty;
        let ts = Timestamp::from_unix_micros(self.clock_us).unwrap_or_else(Timestamp::now);
        let mut t = MarketTick::new(w.inst.token, dec(w.price), ts);
        t.symbol = Some(w.inst.symbol.to_owned());
        t.ohlc = Some(Ohlc {
            open: dec(w.open),
            high: dec(w.high),
            low: dec(w.low),
            close: dec(w.open),
        });
        t.change = Some((dec(w.price) - dec(w.open)) / dec(w.open) * Decimal::ONE_HUNDRED)
            .map(|c| c.round_dp(2));
        t.exchange_timestamp = Some(ts);
        if w.inst.index {
            t.mode = Some(TickMode::Quote);
            t.tradable = Some(false);
        } else {
            t.mode = Some(TickMode::Full);
            t.tradable = Some(true);
            t.volume_traded = Some(w.volume);
            t.last_traded_quantity = Some(qty);
            t.last_trade_time = Some(ts);
            t.total_buy_quantity = Some(w.volume / 2 + 100);
            t.total_sell_quantity = Some(w.volume / 2 + 50);
            t.average_traded_price = Some(dec((w.open + w.price) / 2.0));
            t.depth = Some(Depth {
                buy: (1..=5)
                    .map(|k| DepthLevel {
                        price: dec(w.price - 0.05 * k as f64),
                        quantity: 10 * k,
                        orders: k,
                    })
                    .collect(),
                sell: (1..=5)
                    .map(|k| DepthLevel {
                        price: dec(w.price + 0.05 * k as f64),
                        quantity: 12 * k,
                        orders: k,
                    })
                    .collect(),
            });
        }
        t
    }
}

/// A tick as the feed writes it: a root envelope keyed by its token.
pub fn tick_envelope(tick: MarketTick) -> EventEnvelope<MarketTick> {
    EventEnvelope::root(
        SHARED,
        NewEvent {
            event_type: EventType::MarketTick,
            key: TopicRegistry::tick_key(tick.instrument_token),
            source: "market_feed".to_owned(),
            ts: Timestamp::now(),
            data: tick,
        },
    )
}

fn record(env: &EventEnvelope<MarketTick>) -> Result<OutRecord, FeedError> {
    Ok(OutRecord {
        partition: None,
        topic: MARKET_TICKS.to_owned(),
        key: Some(env.key.clone().into_bytes()),
        payload: env.to_vec().map_err(|e| FeedError::Encode(e.to_string()))?,
        headers: vec![
            (
                "correlation_id".into(),
                Some(env.correlation_id.clone().into_bytes()),
            ),
            ("trace_id".into(), Some(env.trace_id.clone().into_bytes())),
        ],
        origin: 0,
        event_id: env.id.clone(),
        correlation_id: env.correlation_id.clone(),
    })
}

async fn flush(producer: &FutureProducer, batch: &mut Vec<OutRecord>) -> Result<(), FeedError> {
    let (failed, _) = deliver(producer, std::mem::take(batch), 0.05).await;
    if let Some(f) = failed.first() {
        return Err(FeedError::Undelivered(failed.len(), f.error.clone()));
    }
    Ok(())
}

/// Writes `count` paper ticks (0 = until `stop`) at `rate` per second (0 = as fast
/// as acknowledged). Returns how many were written. At a set rate the ticks go
/// out every millisecond, as a live feed's would, not in bursts: each
/// millisecond's chunk is handed to the producer without waiting for the acks of
/// the chunks before it (up to [`CHUNKS_IN_FLIGHT`] of them).
pub async fn run_paper(
    producer: &FutureProducer,
    seed: u64,
    rate: u64,
    count: u64,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Result<u64, FeedError> {
    let start_us = Timestamp::now().to_unix_micros();
    let mut feed = PaperFeed::new(seed, start_us);
    let (chunk, period) = pacing(rate);
    let mut written = 0u64;
    let mut in_flight = std::collections::VecDeque::new();
    let mut ticker = tokio::time::interval(period.max(Duration::from_micros(100)));
    while (count == 0 || written < count) && !*stop.borrow() {
        if rate > 0 {
            ticker.tick().await;
        }
        let n = if count == 0 {
            chunk
        } else {
            chunk.min(count - written)
        };
        let mut batch = Vec::with_capacity(n as usize);
        for _ in 0..n {
            batch.push(record(&tick_envelope(feed.next_tick()))?);
        }
        let producer = producer.clone();
        in_flight.push_back(tokio::spawn(
            async move { flush(&producer, &mut batch).await },
        ));
        if rate == 0 || in_flight.len() > CHUNKS_IN_FLIGHT {
            if let Some(h) = in_flight.pop_front() {
                landed(h).await?;
            }
        }
        written += n;
    }
    while let Some(h) = in_flight.pop_front() {
        landed(h).await?;
    }
    Ok(written)
}

/// Ticks written at once, and how often, for `rate` ticks per second (0 = as
/// fast as acknowledged: chunks of 500 back to back): about one chunk a
/// millisecond, so a live rate arrives smoothly, as an exchange feed's would.
fn pacing(rate: u64) -> (u64, Duration) {
    if rate == 0 {
        return (500, Duration::ZERO);
    }
    let chunk = rate.div_ceil(1000).clamp(1, 500);
    (chunk, Duration::from_secs_f64(chunk as f64 / rate as f64))
}

/// Chunks of a paced feed whose acks may be awaited at once.
const CHUNKS_IN_FLIGHT: usize = 256;

/// A chunk's delivery, awaited.
async fn landed(h: tokio::task::JoinHandle<Result<(), FeedError>>) -> Result<(), FeedError> {
    h.await
        .map_err(|e| FeedError::Undelivered(1, e.to_string()))?
}

/// Re-publishes recorded tick envelopes (ids kept) from a JSON-lines file.
pub async fn run_file(producer: &FutureProducer, path: &Path) -> Result<u64, FeedError> {
    let mut reader = TickReader::open(path)?;
    let mut written = 0u64;
    let mut batch = Vec::with_capacity(500);
    while let Some(env) = reader.next_tick()? {
        batch.push(record(&env)?);
        written += 1;
        if batch.len() == 500 {
            flush(producer, &mut batch).await?;
        }
    }
    flush(producer, &mut batch).await?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_rate_is_paced_every_millisecond() {
        assert_eq!(pacing(20_000), (20, Duration::from_millis(1)));
        assert_eq!(pacing(500), (1, Duration::from_millis(2)));
        // Above 500 000 ticks/s a chunk is capped and comes more often.
        assert_eq!(pacing(1_000_000), (500, Duration::from_micros(500)));
        assert_eq!(pacing(0), (500, Duration::ZERO));
    }

    #[test]
    fn walks_are_seeded_and_realistic() {
        let mut a = PaperFeed::new(7, 1_700_000_000_000_000);
        let mut b = PaperFeed::new(7, 1_700_000_000_000_000);
        for _ in 0..600 {
            let (x, y) = (a.next_tick(), b.next_tick());
            assert_eq!(x, y);
            assert!(x.last_price > Decimal::ZERO);
        }
        let t = a.next_tick();
        assert_eq!(t.instrument_token, 738561);
        assert!(
            t.last_price > Decimal::from(1500) && t.last_price < Decimal::from(4000),
            "{}",
            t.last_price
        );
        assert_eq!(t.depth.as_ref().map(|d| d.buy.len()), Some(5));
        let mut c = PaperFeed::new(8, 1_700_000_000_000_000);
        let mut differs = false;
        let mut a = PaperFeed::new(7, 1_700_000_000_000_000);
        for _ in 0..60 {
            differs |= a.next_tick() != c.next_tick();
        }
        assert!(differs, "another seed walks elsewhere");
    }

    #[test]
    fn envelopes_are_shared_roots_keyed_by_token() {
        let mut f = PaperFeed::new(1, 0);
        let env = tick_envelope(f.next_tick());
        assert_eq!(env.broker, "shared");
        assert_eq!(env.key, "738561");
        assert_eq!(env.causation_id, None);
        assert_eq!(env.source, "market_feed");
    }
}
