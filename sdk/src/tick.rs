//! Ticks as a strategy reads them: [`Tick`], the borrowed view `on_tick` gets, and
//! [`TickData`], the owned tick tests build; and the types of their fields ([`Ohlc`],
//! [`DepthLevel`], [`TickMode`]), serializable so a strategy can keep them in its
//! state. The wire's plain tick ([`alpha_panda_abi::tick::TickFields`]) is what a
//! `Tick` holds; these types convert from the wire's as they are read.

use alpha_panda_abi::tick as wire;
use serde::{Deserialize, Serialize};

use crate::batch::Levels;
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

impl From<wire::Ohlc> for Ohlc {
    #[inline]
    fn from(o: wire::Ohlc) -> Self {
        Self {
            open: o.open.into(),
            high: o.high.into(),
            low: o.low.into(),
            close: o.close.into(),
        }
    }
}

impl From<Ohlc> for wire::Ohlc {
    #[inline]
    fn from(o: Ohlc) -> Self {
        Self {
            open: o.open.into(),
            high: o.high.into(),
            low: o.low.into(),
            close: o.close.into(),
        }
    }
}

impl From<wire::DepthLevel> for DepthLevel {
    #[inline]
    fn from(l: wire::DepthLevel) -> Self {
        Self {
            price: l.price.into(),
            quantity: l.quantity,
            orders: l.orders,
        }
    }
}

impl From<TickMode> for wire::TickMode {
    #[inline]
    fn from(m: TickMode) -> Self {
        match m {
            TickMode::Ltp => wire::TickMode::Ltp,
            TickMode::Quote => wire::TickMode::Quote,
            TickMode::Full => wire::TickMode::Full,
        }
    }
}

impl From<wire::TickMode> for TickMode {
    #[inline]
    fn from(m: wire::TickMode) -> Self {
        match m {
            wire::TickMode::Ltp => TickMode::Ltp,
            wire::TickMode::Quote => TickMode::Quote,
            wire::TickMode::Full => TickMode::Full,
        }
    }
}

/// One market tick as a strategy sees it: every field of the feed, borrowed from the
/// batch it arrived in (no string or depth list is copied, and each field is read from
/// its record only when asked for). Times are microseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy)]
pub struct Tick<'a> {
    fields: Fields<'a>,
    symbol: Option<&'a str>,
    depth: Depth<'a>,
}

/// Where a tick's fields are.
#[derive(Debug, Clone, Copy)]
enum Fields<'a> {
    /// A checked record of the host's batch, read on access.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    Record(wire::TickRecord<'a>),
    /// A [`TickData`]'s fields.
    Owned(&'a wire::TickFields),
}

/// Reads one field from wherever the tick's fields are.
macro_rules! field {
    ($self:ident, $name:ident) => {
        match $self.fields {
            Fields::Record(r) => r.$name(),
            Fields::Owned(f) => f.$name,
        }
    };
}

/// Where a tick's depth levels are.
#[derive(Debug, Clone, Copy)]
enum Depth<'a> {
    /// The tick carried no depth.
    Absent,
    Decoded {
        buy: &'a [DepthLevel],
        sell: &'a [DepthLevel],
    },
    /// Spans of the batch's level records, which are decoded on first use: a
    /// strategy that never reads depth never pays for it.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    Batch {
        levels: &'a Levels<'a>,
        spans: wire::Depth,
    },
}

impl<'a> Depth<'a> {
    fn side(&self, buy_side: bool) -> &'a [DepthLevel] {
        match *self {
            Depth::Absent => &[],
            Depth::Decoded { buy, sell } => {
                if buy_side {
                    buy
                } else {
                    sell
                }
            }
            Depth::Batch { levels, spans } => {
                levels.side(if buy_side { spans.buy } else { spans.sell })
            }
        }
    }
}

impl<'a> Tick<'a> {
    /// A tick of a batch: `spans` (checked by the reader) index `levels`.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn from_batch(
        record: wire::TickRecord<'a>,
        symbol: Option<&'a str>,
        levels: &'a Levels<'a>,
        spans: Option<wire::Depth>,
    ) -> Self {
        Self {
            fields: Fields::Record(record),
            symbol,
            depth: match spans {
                Some(spans) => Depth::Batch { levels, spans },
                None => Depth::Absent,
            },
        }
    }

    pub fn instrument_token(&self) -> u32 {
        field!(self, instrument_token)
    }
    /// The exact last traded price, as the feed wrote it.
    pub fn last_price(&self) -> Decimal {
        field!(self, last_price).into()
    }
    /// [`Tick::last_price`] as the nearest `f64`, for arithmetic.
    pub fn price(&self) -> f64 {
        field!(self, last_price).to_f64()
    }
    pub fn timestamp_us(&self) -> i64 {
        field!(self, timestamp_us)
    }
    pub fn symbol(&self) -> Option<&'a str> {
        self.symbol
    }
    pub fn volume_traded(&self) -> Option<u64> {
        field!(self, volume_traded)
    }
    pub fn last_traded_quantity(&self) -> Option<u64> {
        field!(self, last_traded_quantity)
    }
    pub fn average_traded_price(&self) -> Option<Decimal> {
        field!(self, average_traded_price).map(Decimal::from)
    }
    pub fn total_buy_quantity(&self) -> Option<u64> {
        field!(self, total_buy_quantity)
    }
    pub fn total_sell_quantity(&self) -> Option<u64> {
        field!(self, total_sell_quantity)
    }
    pub fn change(&self) -> Option<Decimal> {
        field!(self, change).map(Decimal::from)
    }
    pub fn ohlc(&self) -> Option<Ohlc> {
        field!(self, ohlc).map(Ohlc::from)
    }
    pub fn oi(&self) -> Option<u64> {
        field!(self, oi)
    }
    pub fn oi_day_high(&self) -> Option<u64> {
        field!(self, oi_day_high)
    }
    pub fn oi_day_low(&self) -> Option<u64> {
        field!(self, oi_day_low)
    }
    pub fn last_trade_time_us(&self) -> Option<i64> {
        field!(self, last_trade_time_us)
    }
    pub fn exchange_timestamp_us(&self) -> Option<i64> {
        field!(self, exchange_timestamp_us)
    }
    /// True when the feed sent a depth object (either side may still be empty).
    pub fn has_depth(&self) -> bool {
        !matches!(self.depth, Depth::Absent)
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
        field!(self, mode).map(TickMode::from)
    }
    pub fn tradable(&self) -> Option<bool> {
        field!(self, tradable)
    }
}

/// An owned tick, built field by field: what tests feed a strategy.
///
/// ```
/// use alpha_panda_sdk::tick::TickMode;
/// use alpha_panda_sdk::TickData;
/// let t = TickData::new(738561, "2501.55", 1_700_000_000_000_000)
///     .symbol("RELIANCE")
///     .volume_traded(1200)
///     .mode(TickMode::Full);
/// assert_eq!(t.as_tick().price(), 2501.55);
/// assert_eq!(t.as_tick().symbol(), Some("RELIANCE"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TickData {
    fields: wire::TickFields,
    symbol: Option<String>,
    /// Buy and sell levels, if the tick has depth.
    depth: Option<(Vec<DepthLevel>, Vec<DepthLevel>)>,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty),* $(,)?) => {$(
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.fields.$name = Some(value.into());
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
            fields: wire::TickFields::new(instrument_token, last_price.into(), timestamp_us),
            symbol: None,
            depth: None,
        }
    }

    /// The view a strategy's `on_tick` receives.
    pub fn as_tick(&self) -> Tick<'_> {
        Tick {
            fields: Fields::Owned(&self.fields),
            symbol: self.symbol.as_deref(),
            depth: match &self.depth {
                Some((buy, sell)) => Depth::Decoded { buy, sell },
                None => Depth::Absent,
            },
        }
    }

    pub fn symbol(mut self, symbol: &str) -> Self {
        self.symbol = Some(symbol.to_owned());
        self
    }

    /// Sets both sides of the depth (and `has_depth`).
    pub fn depth(mut self, buy: Vec<DepthLevel>, sell: Vec<DepthLevel>) -> Self {
        self.depth = Some((buy, sell));
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
