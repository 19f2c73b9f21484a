//! Ticks: `Tick`, the borrowed view a strategy reads, and `TickData`, the owned tick tests build.

use serde::{Deserialize, Serialize};

use crate::Decimal;

/// Open, high, low and close of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ohlc {
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
}

/// One level of market depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DepthLevel {
    pub price: Decimal,
    pub quantity: u64,
    pub orders: u32,
}

/// How much of the market the tick describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TickMode {
    Ltp,
    Quote,
    Full,
}

/// The fixed-size fields of a tick (everything but the symbol text and the depth levels).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TickCore {
    pub instrument_token: u32,
    pub last_price: Decimal,
    pub timestamp_us: i64,
    pub volume_traded: Option<u64>,
    pub last_traded_quantity: Option<u64>,
    pub average_traded_price: Option<Decimal>,
    pub total_buy_quantity: Option<u64>,
    pub total_sell_quantity: Option<u64>,
    pub change: Option<Decimal>,
    pub ohlc: Option<Ohlc>,
    pub oi: Option<u64>,
    pub oi_day_high: Option<u64>,
    pub oi_day_low: Option<u64>,
    pub last_trade_time_us: Option<i64>,
    pub exchange_timestamp_us: Option<i64>,
    pub has_depth: bool,
    pub mode: Option<TickMode>,
    pub tradable: Option<bool>,
}

impl TickCore {
    fn new(instrument_token: u32, last_price: Decimal, timestamp_us: i64) -> Self {
        Self {
            instrument_token,
            last_price,
            timestamp_us,
            volume_traded: None,
            last_traded_quantity: None,
            average_traded_price: None,
            total_buy_quantity: None,
            total_sell_quantity: None,
            change: None,
            ohlc: None,
            oi: None,
            oi_day_high: None,
            oi_day_low: None,
            last_trade_time_us: None,
            exchange_timestamp_us: None,
            has_depth: false,
            mode: None,
            tradable: None,
        }
    }
}

/// One market tick as a strategy sees it: every field of the feed, borrowed from the
/// batch it arrived in (no string or depth list is copied). Times are microseconds since
/// the Unix epoch (UTC).
#[derive(Debug, Clone, Copy)]
pub struct Tick<'a> {
    core: TickCore,
    symbol: Option<&'a str>,
    depth: Depth<'a>,
}

/// Where a tick's depth levels are.
#[derive(Debug, Clone, Copy)]
enum Depth<'a> {
    Decoded {
        buy: &'a [DepthLevel],
        sell: &'a [DepthLevel],
    },
    /// Spans (first level, number of levels) of the batch's level records, which
    /// are decoded on first use: a strategy that never reads depth never pays for it.
    Batch {
        levels: &'a crate::__flat::Levels<'a>,
        buy: (usize, usize),
        sell: (usize, usize),
    },
}

impl<'a> Depth<'a> {
    fn side(&self, buy_side: bool) -> &'a [DepthLevel] {
        match *self {
            Depth::Decoded { buy, sell } => {
                if buy_side {
                    buy
                } else {
                    sell
                }
            }
            Depth::Batch { levels, buy, sell } => {
                let (start, len) = if buy_side { buy } else { sell };
                levels
                    .decoded()
                    .get(start..start.saturating_add(len))
                    .unwrap_or(&[])
            }
        }
    }
}

impl<'a> Tick<'a> {
    pub(crate) fn from_parts(
        core: TickCore,
        symbol: Option<&'a str>,
        depth_buy: &'a [DepthLevel],
        depth_sell: &'a [DepthLevel],
    ) -> Self {
        Self {
            core,
            symbol,
            depth: Depth::Decoded {
                buy: depth_buy,
                sell: depth_sell,
            },
        }
    }

    /// A tick whose depth spans index `levels` (checked by the caller).
    pub(crate) fn from_batch(
        core: TickCore,
        symbol: Option<&'a str>,
        levels: &'a crate::__flat::Levels<'a>,
        buy: (usize, usize),
        sell: (usize, usize),
    ) -> Self {
        Self {
            core,
            symbol,
            depth: Depth::Batch { levels, buy, sell },
        }
    }

    pub fn instrument_token(&self) -> u32 {
        self.core.instrument_token
    }
    /// The exact last traded price, as the feed wrote it.
    pub fn last_price(&self) -> Decimal {
        self.core.last_price
    }
    /// [`Tick::last_price`] as the nearest `f64`, for arithmetic.
    pub fn price(&self) -> f64 {
        self.core.last_price.to_f64()
    }
    pub fn timestamp_us(&self) -> i64 {
        self.core.timestamp_us
    }
    pub fn symbol(&self) -> Option<&'a str> {
        self.symbol
    }
    pub fn volume_traded(&self) -> Option<u64> {
        self.core.volume_traded
    }
    pub fn last_traded_quantity(&self) -> Option<u64> {
        self.core.last_traded_quantity
    }
    pub fn average_traded_price(&self) -> Option<Decimal> {
        self.core.average_traded_price
    }
    pub fn total_buy_quantity(&self) -> Option<u64> {
        self.core.total_buy_quantity
    }
    pub fn total_sell_quantity(&self) -> Option<u64> {
        self.core.total_sell_quantity
    }
    pub fn change(&self) -> Option<Decimal> {
        self.core.change
    }
    pub fn ohlc(&self) -> Option<Ohlc> {
        self.core.ohlc
    }
    pub fn oi(&self) -> Option<u64> {
        self.core.oi
    }
    pub fn oi_day_high(&self) -> Option<u64> {
        self.core.oi_day_high
    }
    pub fn oi_day_low(&self) -> Option<u64> {
        self.core.oi_day_low
    }
    pub fn last_trade_time_us(&self) -> Option<i64> {
        self.core.last_trade_time_us
    }
    pub fn exchange_timestamp_us(&self) -> Option<i64> {
        self.core.exchange_timestamp_us
    }
    /// True when the feed sent a depth object (either side may still be empty).
    pub fn has_depth(&self) -> bool {
        self.core.has_depth
    }
    /// Bids, best first.
    pub fn depth_buy(&self) -> &'a [DepthLevel] {
        self.depth.side(true)
    }
    /// Offers, best first.
    pub fn depth_sell(&self) -> &'a [DepthLevel] {
        self.depth.side(false)
    }
    pub fn mode(&self) -> Option<TickMode> {
        self.core.mode
    }
    pub fn tradable(&self) -> Option<bool> {
        self.core.tradable
    }
}

/// An owned tick, built field by field: what tests feed a strategy.
///
/// ```
/// use alpha_panda_sdk::{TickData, TickMode};
/// let t = TickData::new(738561, "2501.55", 1_700_000_000_000_000)
///     .symbol("RELIANCE")
///     .volume_traded(1200)
///     .mode(TickMode::Full);
/// assert_eq!(t.as_tick().price(), 2501.55);
/// assert_eq!(t.as_tick().symbol(), Some("RELIANCE"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TickData {
    core: TickCore,
    symbol: Option<String>,
    depth_buy: Vec<DepthLevel>,
    depth_sell: Vec<DepthLevel>,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty),* $(,)?) => {$(
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.core.$name = Some(value);
            self
        }
    )*};
}

impl TickData {
    /// A tick with only its required fields; `last_price` is decimal text such as `"2501.55"`.
    ///
    /// # Panics
    /// If `last_price` is not a decimal (this is a test helper for literals; use
    /// [`TickData::with_price`] for a computed [`Decimal`]).
    pub fn new(instrument_token: u32, last_price: &str, timestamp_us: i64) -> Self {
        match last_price.parse() {
            Ok(price) => Self::with_price(instrument_token, price, timestamp_us),
            Err(e) => panic!("TickData::new: {e}"),
        }
    }

    /// A tick with only its required fields.
    pub fn with_price(instrument_token: u32, last_price: Decimal, timestamp_us: i64) -> Self {
        Self {
            core: TickCore::new(instrument_token, last_price, timestamp_us),
            symbol: None,
            depth_buy: Vec::new(),
            depth_sell: Vec::new(),
        }
    }

    /// The view a strategy's `on_tick` receives.
    pub fn as_tick(&self) -> Tick<'_> {
        Tick::from_parts(
            self.core,
            self.symbol.as_deref(),
            &self.depth_buy,
            &self.depth_sell,
        )
    }

    pub fn symbol(mut self, symbol: &str) -> Self {
        self.symbol = Some(symbol.to_owned());
        self
    }

    /// Sets both sides of the depth (and `has_depth`).
    pub fn depth(mut self, buy: Vec<DepthLevel>, sell: Vec<DepthLevel>) -> Self {
        self.core.has_depth = true;
        self.depth_buy = buy;
        self.depth_sell = sell;
        self
    }

    setters! {
        volume_traded: u64,
        last_traded_quantity: u64,
        average_traded_price: Decimal,
        total_buy_quantity: u64,
        total_sell_quantity: u64,
        change: Decimal,
        ohlc: Ohlc,
        oi: u64,
        oi_day_high: u64,
        oi_day_low: u64,
        last_trade_time_us: i64,
        exchange_timestamp_us: i64,
        mode: TickMode,
        tradable: bool,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_data_view_exposes_every_field() {
        let p = |s: &str| s.parse::<Decimal>().unwrap();
        let level = DepthLevel {
            price: p("10.5"),
            quantity: 3,
            orders: 1,
        };
        let ohlc = Ohlc {
            open: p("1"),
            high: p("2"),
            low: p("0.5"),
            close: p("1.5"),
        };
        let data = TickData::new(7, "10.55", 42)
            .symbol("X")
            .volume_traded(1)
            .last_traded_quantity(2)
            .average_traded_price(p("10.1"))
            .total_buy_quantity(3)
            .total_sell_quantity(4)
            .change(p("-0.2"))
            .ohlc(ohlc)
            .oi(5)
            .oi_day_high(6)
            .oi_day_low(7)
            .last_trade_time_us(40)
            .exchange_timestamp_us(41)
            .depth(vec![level], vec![])
            .mode(TickMode::Full)
            .tradable(true);
        let t = data.as_tick();
        assert_eq!(t.instrument_token(), 7);
        assert_eq!(t.last_price().to_string(), "10.55");
        assert_eq!(t.price(), 10.55);
        assert_eq!(t.timestamp_us(), 42);
        assert_eq!(t.symbol(), Some("X"));
        assert_eq!(t.volume_traded(), Some(1));
        assert_eq!(t.last_traded_quantity(), Some(2));
        assert_eq!(t.average_traded_price(), Some(p("10.1")));
        assert_eq!(t.total_buy_quantity(), Some(3));
        assert_eq!(t.total_sell_quantity(), Some(4));
        assert_eq!(t.change(), Some(p("-0.2")));
        assert_eq!(t.ohlc(), Some(ohlc));
        assert_eq!(
            (t.oi(), t.oi_day_high(), t.oi_day_low()),
            (Some(5), Some(6), Some(7))
        );
        assert_eq!(t.last_trade_time_us(), Some(40));
        assert_eq!(t.exchange_timestamp_us(), Some(41));
        assert!(t.has_depth());
        assert_eq!(t.depth_buy(), &[level]);
        assert!(t.depth_sell().is_empty());
        assert_eq!(t.mode(), Some(TickMode::Full));
        assert_eq!(t.tradable(), Some(true));

        let bare = TickData::new(1, "1", 0);
        assert!(!bare.as_tick().has_depth());
        assert_eq!(bare.as_tick().symbol(), None);
    }
}
