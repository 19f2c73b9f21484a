//! The head of `vectors/README.md`: the formats and how to regenerate; the tables of
//! vectors that follow it are written from the case definitions.

pub const README_HEAD: &str = r#"# Golden vectors of the plugin ABI

The bytes that cross between the alpha-panda host and a strategy plugin, with the JSON of
what they mean. Every SDK, in any language, must decode each `.bin` to its `.json` and,
for a canonical one, encode the `.json` back to exactly the `.bin`. The layout is defined
once, in the `alpha-panda-abi` crate (`abi/src/layout.rs`), and documented in
`wit/strategy.wit`.

These files are written by tests; do not edit them by hand. To regenerate after a
deliberate change of a case (or of the ABI, which also bumps the WIT package version):

```sh
ALPHA_PANDA_BLESS=1 cargo test -p alpha-panda-abi --test vectors    # ticks/, signals/, this README
ALPHA_PANDA_BLESS=1 cargo test -p alpha-panda-sdk --test indicator_vectors   # indicators.json
```

Without `ALPHA_PANDA_BLESS=1` the same tests check that the committed files are exactly
what the Rust encoders and indicators produce, and the host's tests check that its
`BatchBuilder` writes the same bytes for the same ticks.

## Formats

**`ticks/NAME.bin`** is the `data` of a WIT `tick-batch`; **`ticks/NAME.json`** holds the
rest of the batch and its meaning:

- `count`, `symbols`: the batch's other two fields;
- `ticks`: one object per tick record, with every field of the feed: `instrument_token`,
  `timestamp_us`, `last_price`, `volume_traded`, `last_traded_quantity`,
  `average_traded_price`, `total_buy_quantity`, `total_sell_quantity`, `change`,
  `ohlc` (`{open, high, low, close}`), `oi`, `oi_day_high`, `oi_day_low`,
  `last_trade_time_us`, `exchange_timestamp_us`, `symbol` (the text),
  `depth` (`{buy: [{price, quantity, orders}], sell: [...]}`), `mode` (`"ltp"`,
  `"quote"`, `"full"`), `tradable`. An absent field is `null`. Decimals are strings
  that keep their scale: `"2501.50"` is mantissa 250150, scale 2 (never a JSON number).
  Times are microseconds since the Unix epoch. Integers reach u64::MAX and i64::MIN:
  parse them exactly (in JavaScript, not as `Number`). A tick that must fail to decode is
  `{"error": KIND}` (`reserved_presence_bit`, `symbol_out_of_range`,
  `depth_span_out_of_range`, `bad_mode`, `bad_tradable`); the others still decode;
- or, instead of `ticks`, `error`: the batch as a whole fails (`short_data`,
  `bad_level_region`);
- `canonical`: whether the bytes are exactly what an encoder writes for this meaning
  (symbols stored once in order of first use; each tick's buy levels, then its sell
  levels, appended in tick order; absent fields and padding zero);
- `description`: what the case is about.

**`signals/NAME.bin`** is the `signals` buffer of a WIT `batch-output`;
**`signals/NAME.json`** holds `count` (its `signal-count`) and either `signals` or
`error` (`truncated`, `trailing_bytes`, `bad_side`, `bad_price_kind`,
`bad_has_confidence`, `metadata_not_utf8`, `metadata_length`). Each signal:
`tick_index`, `instrument_token`, `side` (`"buy"`/`"sell"`), `quantity`, `price`
(`null`, `{"exact": "2501.55"}` or `{"approx": 2501.5}`, the f64 as JSON writes it),
`confidence` (a number or `null`), `metadata` (a list of `[key, value]` pairs, in order).
Every valid signal file is canonical.

**`indicators.json`**: for each indicator of the Rust SDK (`sdk/src/indicators`), parameter
sets and input series with the outputs per step (`null` while not warmed up), for the
other-language SDKs to match (relative difference <= 1e-12). Its own `description` says
how each output is spelled.
"#;
