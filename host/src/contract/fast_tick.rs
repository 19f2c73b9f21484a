//! The hand-written reader of a `market_tick` envelope in the shape feeds send:
//! strings without escapes, no unknown fields, decimals as strings, integers
//! without sign or fraction. It reads such a message exactly as the serde path
//! does and gives up (`None`) on anything else, which then goes through
//! serde_json, errors included. serde_json's visitors of the 30-odd fields were
//! most of the host's CPU a tick (BENCHMARKS.md, session 28).

use chrono::DateTime;
use rust_decimal::Decimal;

use super::decimal;
use super::envelope::{check_id, EventEnvelope};
use super::event_type::EventType;
use super::tick::{Depth, DepthLevel, MarketTick, Ohlc, TickMode};
use super::time::Timestamp;

/// Reads `text` if it is a tick envelope of the common shape; `None` otherwise.
pub(super) fn read(text: &str) -> Option<EventEnvelope<MarketTick>> {
    let mut c = Cursor { text, i: 0 };
    let env = envelope(&mut c)?;
    c.ws();
    (c.i == text.len()).then_some(env)
}

/// Which fields of an object were read: a repeated one gives up, as serde
/// refuses a duplicate field.
#[derive(Default)]
struct Seen(u32);

impl Seen {
    fn first(&mut self, bit: u32) -> Option<()> {
        let mask = 1u32.checked_shl(bit)?;
        let fresh = self.0 & mask == 0;
        self.0 |= mask;
        fresh.then_some(())
    }

    fn all(&self, bits: u32) -> bool {
        self.0 & bits == bits
    }
}

fn envelope(c: &mut Cursor<'_>) -> Option<EventEnvelope<MarketTick>> {
    let mut seen = Seen::default();
    let (mut id, mut correlation_id, mut causation_id, mut trace_id) = (None, None, None, None);
    let (mut parent_trace_id, mut broker, mut ts, mut key) = (None, None, None, None);
    let (mut source, mut version, mut data) = (None, None, None);
    c.object(|c, k| {
        let bit = match k {
            "id" => {
                let s = c.str()?;
                check_id(s).ok()?;
                set(&mut id, Some(s.to_owned()), 0)
            }
            "correlation_id" => set(&mut correlation_id, Some(c.string()?), 1),
            "causation_id" => set(&mut causation_id, c.opt(Cursor::string)?, 2),
            "trace_id" => set(&mut trace_id, Some(c.string()?), 3),
            "parent_trace_id" => set(&mut parent_trace_id, c.opt(Cursor::string)?, 4),
            "broker" => set(&mut broker, Some(c.string()?), 5),
            "type" => (c.str()? == EventType::MarketTick.as_str()).then_some(6)?,
            "ts" => set(&mut ts, Some(c.time()?), 7),
            "key" => set(&mut key, Some(c.string()?), 8),
            "source" => set(&mut source, Some(c.string()?), 9),
            "version" => set(&mut version, Some(u32::try_from(c.u64()?).ok()?), 10),
            "data" => set(&mut data, Some(tick(c)?), 11),
            _ => return None,
        };
        seen.first(bit)
    })?;
    // `type` has no value to keep: it is required, and market_tick if read.
    seen.all(1 << 6).then_some(())?;
    Some(EventEnvelope {
        id: id?,
        correlation_id: correlation_id?,
        causation_id,
        trace_id: trace_id?,
        parent_trace_id,
        broker: broker?,
        event_type: EventType::MarketTick,
        ts: ts?,
        key: key?,
        source: source?,
        version: version?,
        data: data?,
    })
}

/// Stores a field's value; its bit in [`Seen`].
fn set<T>(slot: &mut T, value: T, bit: u32) -> u32 {
    *slot = value;
    bit
}

/// The required fields of a tick: `instrument_token`, `last_price`, `timestamp`.
const TICK_REQUIRED: u32 = 0b111;

fn tick(c: &mut Cursor<'_>) -> Option<MarketTick> {
    let mut t = MarketTick::new(0, Decimal::ZERO, Timestamp(DateTime::UNIX_EPOCH));
    let mut seen = Seen::default();
    c.object(|c, k| {
        let bit = match k {
            "instrument_token" => set(&mut t.instrument_token, u32::try_from(c.u64()?).ok()?, 0),
            "last_price" => set(&mut t.last_price, c.decimal()?, 1),
            "timestamp" => set(&mut t.timestamp, c.time()?, 2),
            "symbol" => set(&mut t.symbol, c.opt(Cursor::string)?, 3),
            "volume_traded" => set(&mut t.volume_traded, c.opt(Cursor::u64)?, 4),
            "last_traded_quantity" => set(&mut t.last_traded_quantity, c.opt(Cursor::u64)?, 5),
            "average_traded_price" => set(&mut t.average_traded_price, c.opt(Cursor::decimal)?, 6),
            "total_buy_quantity" => set(&mut t.total_buy_quantity, c.opt(Cursor::u64)?, 7),
            "total_sell_quantity" => set(&mut t.total_sell_quantity, c.opt(Cursor::u64)?, 8),
            "change" => set(&mut t.change, c.opt(Cursor::decimal)?, 9),
            "ohlc" => set(&mut t.ohlc, c.opt(ohlc)?, 10),
            "oi" => set(&mut t.oi, c.opt(Cursor::u64)?, 11),
            "oi_day_high" => set(&mut t.oi_day_high, c.opt(Cursor::u64)?, 12),
            "oi_day_low" => set(&mut t.oi_day_low, c.opt(Cursor::u64)?, 13),
            "last_trade_time" => set(&mut t.last_trade_time, c.opt(Cursor::time)?, 14),
            "exchange_timestamp" => set(&mut t.exchange_timestamp, c.opt(Cursor::time)?, 15),
            "depth" => set(&mut t.depth, c.opt(depth)?, 16),
            "mode" => set(&mut t.mode, c.opt(mode)?, 17),
            "tradable" => set(&mut t.tradable, c.opt(Cursor::bool)?, 18),
            _ => return None,
        };
        seen.first(bit)
    })?;
    seen.all(TICK_REQUIRED).then_some(t)
}

fn ohlc(c: &mut Cursor<'_>) -> Option<Ohlc> {
    let mut o = [Decimal::ZERO; 4];
    let mut seen = Seen::default();
    c.object(|c, k| {
        let bit = ["open", "high", "low", "close"]
            .iter()
            .position(|f| *f == k)?;
        *o.get_mut(bit)? = c.decimal()?;
        seen.first(u32::try_from(bit).ok()?)
    })?;
    let [open, high, low, close] = o;
    seen.all(0b1111).then_some(Ohlc {
        open,
        high,
        low,
        close,
    })
}

fn depth(c: &mut Cursor<'_>) -> Option<Depth> {
    let mut d = Depth::default();
    let mut seen = Seen::default();
    c.object(|c, k| {
        let bit = match k {
            "buy" => set(&mut d.buy, levels(c)?, 0),
            "sell" => set(&mut d.sell, levels(c)?, 1),
            _ => return None,
        };
        seen.first(bit)
    })?;
    Some(d)
}

fn levels(c: &mut Cursor<'_>) -> Option<Vec<DepthLevel>> {
    let mut out = Vec::with_capacity(5);
    c.array(|c| {
        out.push(level(c)?);
        Some(())
    })?;
    Some(out)
}

fn level(c: &mut Cursor<'_>) -> Option<DepthLevel> {
    let (mut price, mut quantity, mut orders) = (Decimal::ZERO, 0, 0);
    let mut seen = Seen::default();
    c.object(|c, k| {
        let bit = match k {
            "price" => set(&mut price, c.decimal()?, 0),
            "quantity" => set(&mut quantity, c.u64()?, 1),
            "orders" => set(&mut orders, c.u64()?, 2),
            _ => return None,
        };
        seen.first(bit)
    })?;
    seen.all(0b111).then_some(DepthLevel {
        price,
        quantity,
        orders,
    })
}

fn mode(c: &mut Cursor<'_>) -> Option<TickMode> {
    match c.str()? {
        "ltp" => Some(TickMode::Ltp),
        "quote" => Some(TickMode::Quote),
        "full" => Some(TickMode::Full),
        _ => None,
    }
}

/// A position in the message's bytes (`text`, already checked UTF-8).
struct Cursor<'a> {
    text: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    /// The text as bytes, to scan.
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// Skips JSON whitespace.
    fn ws(&mut self) {
        while matches!(self.bytes().get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// The next byte after whitespace, not taken.
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes().get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// Takes `word` (`null`, `true`, `false`) if it comes next.
    fn word(&mut self, word: &[u8]) -> bool {
        self.ws();
        let here = self.bytes().get(self.i..self.i + word.len()) == Some(word);
        if here {
            self.i += word.len();
        }
        here
    }

    /// A string without escapes or control characters, borrowed.
    fn str(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        let len = self
            .bytes()
            .get(start..)?
            .iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
        let end = start + len;
        (self.bytes().get(end) == Some(&b'"')).then_some(())?;
        self.i = end + 1;
        self.text.get(start..end)
    }

    fn string(&mut self) -> Option<String> {
        self.str().map(str::to_owned)
    }

    /// An unsigned integer as JSON writes it: no sign, fraction, exponent or
    /// leading zero.
    fn u64(&mut self) -> Option<u64> {
        self.ws();
        let digits = self.bytes().get(self.i..)?;
        let len = digits.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 || (len > 1 && digits.first() == Some(&b'0')) {
            return None;
        }
        let mut n: u64 = 0;
        for &d in digits.get(..len)? {
            n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        }
        self.i += len;
        (!matches!(self.bytes().get(self.i), Some(b'.' | b'e' | b'E'))).then_some(n)
    }

    fn bool(&mut self) -> Option<bool> {
        if self.word(b"true") {
            Some(true)
        } else if self.word(b"false") {
            Some(false)
        } else {
            None
        }
    }

    fn decimal(&mut self) -> Option<Decimal> {
        decimal::parse_text(self.str()?).ok()
    }

    fn time(&mut self) -> Option<Timestamp> {
        Timestamp::parse(self.str()?).ok()
    }

    /// `null` as `Some(None)`, a value read by `read` as `Some(Some(_))`.
    fn opt<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.word(b"null") {
            Some(None)
        } else {
            read(self).map(Some)
        }
    }

    /// An object: `field(cursor, key)` reads each key's value.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.members(b'{', b'}', |c| {
            let key = c.str()?;
            c.eat(b':')?;
            field(c, key)
        })
    }

    /// An array: `item(cursor)` reads each element.
    fn array(&mut self, item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.members(b'[', b']', item)
    }

    /// What lies from `open` to `close`: `member(cursor)` reads each member
    /// between the commas.
    fn members(
        &mut self,
        open: u8,
        close: u8,
        mut member: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.eat(open)?;
        if self.peek()? == close {
            self.i += 1;
            return Some(());
        }
        loop {
            member(self)?;
            match self.peek()? {
                b',' => self.i += 1,
                c if c == close => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::{tick_envelope, PaperFeed};

    const FULL: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/market_tick_full.json"
    ));
    const LTP: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/market_tick_index_ltp.json"
    ));
    const NUMERIC: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/market_tick_numeric_price.json"
    ));

    /// What the serde path reads, as the fast path must read it.
    fn serde_read(text: &str) -> Option<EventEnvelope<MarketTick>> {
        serde_json::from_str::<EventEnvelope<MarketTick>>(text)
            .ok()
            .filter(|e| e.event_type == EventType::MarketTick)
    }

    /// If the fast path reads `text`, serde reads the same event from it, byte
    /// for byte once written again (decimal scales and times included).
    fn agrees(text: &str) -> bool {
        let Some(fast) = read(text) else {
            return false;
        };
        let serde = serde_read(text).unwrap_or_else(|| panic!("only the fast path reads {text}"));
        assert_eq!(fast, serde, "{text}");
        assert_eq!(fast.to_vec().ok(), serde.to_vec().ok(), "{text}");
        true
    }

    #[test]
    fn the_feeds_ticks_take_the_fast_path_and_read_as_serde_reads_them() {
        assert!(agrees(FULL.trim_end()), "the full fixture");
        assert!(agrees(LTP.trim_end()), "the index LTP fixture");
        let mut feed = PaperFeed::new(11, 1_756_442_704_000_000);
        for _ in 0..512 {
            let text = tick_envelope(feed.next_tick()).to_vec().unwrap();
            assert!(agrees(std::str::from_utf8(&text).unwrap()), "a paper tick");
        }
    }

    #[test]
    fn whitespace_nulls_and_absent_options_read_as_serde_reads_them() {
        let spaced = FULL
            .replace(',', " ,\n\t")
            .replace("\":", "\"\r: ")
            .replace('{', "{ ");
        assert!(agrees(&spaced), "{spaced}");
        let nulls = FULL
            .replace(r#""symbol":"RELIANCE""#, r#""symbol":null"#)
            .replace(r#""oi":0"#, r#""oi":null"#)
            .replace(r#""mode":"full""#, r#""mode":null"#)
            .replace(r#""tradable":true"#, r#""tradable":null"#)
            .replace(r#""change":"0.46""#, r#""change":null"#);
        assert!(agrees(&nulls), "{nulls}");
        let minimal = r#"{"id":"i","correlation_id":"c","trace_id":"t","broker":"shared","type":"market_tick","ts":"2025-08-29T04:45:04.838356Z","key":"1","source":"s","version":1,"data":{"instrument_token":1,"last_price":"1.50","timestamp":"2025-08-29T04:45:04+05:30","depth":{"buy":[]}}}"#;
        assert!(agrees(minimal), "{minimal}");
    }

    /// Shapes the fast path leaves to serde: escapes, unknown fields, numbers
    /// for decimals, other types, repeats, bad values. Each must come out of
    /// `decode_tick` as serde alone would give it.
    #[test]
    fn every_other_shape_is_left_to_serde() {
        let cases = [
            FULL.replace(r#""RELIANCE""#, r#""REL\u0049ANCE""#),
            FULL.replace(r#""mode":"full""#, r#""mode":"full","extra":1"#),
            FULL.replace(
                r#""source":"market_feed""#,
                r#""source":"market_feed","x":{}"#,
            ),
            NUMERIC.trim_end().to_owned(),
            FULL.replace("market_tick", "MARKET_TICK"),
            FULL.replace("market_tick", "trading_signal"),
            FULL.replace(r#""oi":0"#, r#""oi":0,"oi":1"#),
            FULL.replace(r#""oi":0"#, r#""oi":-0"#),
            FULL.replace(r#""oi":0"#, r#""oi":0.0"#),
            FULL.replace(r#""oi":0"#, r#""oi":01"#),
            FULL.replace(r#""oi":0"#, r#""oi":99999999999999999999"#),
            FULL.replace(r#""version":1"#, r#""version":4294967296"#),
            FULL.replace(r#""mode":"full""#, r#""mode":"snapshot""#),
            FULL.replace(r#","depth""#, r#","depth":null,"depth""#),
            FULL.replace("2025-08-29T04:45:03Z", "2025-08-29T04:45:03"),
            FULL.replace(
                r#""id":"0198f3a1c2b4e--4991-9c71-2ac97dc2d6f8""#,
                r#""id":"""#,
            ),
            FULL.trim_end().to_owned() + " x",
            FULL.replace(r#""last_price":"2501.55","#, ""),
        ];
        for text in &cases {
            assert!(read(text).is_none(), "the fast path took {text}");
            let via_decode = crate::contract::decode_tick(text.as_bytes());
            match serde_read(text) {
                Some(env) => assert_eq!(via_decode.ok(), Some(env), "{text}"),
                None => assert!(via_decode.is_err(), "{text}"),
            }
        }
    }

    /// Every one-byte change of the full fixture: whatever the fast path takes,
    /// serde reads the same way.
    #[test]
    fn one_byte_changes_never_make_the_two_paths_differ() {
        let full = FULL.trim_end();
        let mut taken = 0;
        for i in 0..full.len() {
            for c in [
                '0', '9', '"', ',', ':', '{', '}', '[', ']', ' ', '\\', '-', '.', 'e', 'n', 'x',
            ] {
                let mut text = full.to_owned();
                text.replace_range(i..i + 1, &c.to_string());
                taken += usize::from(agrees(&text));
            }
            let mut cut = full.to_owned();
            cut.remove(i);
            taken += usize::from(agrees(&cut));
        }
        assert!(taken > 1000, "the fast path took only {taken} mutants");
    }
}
