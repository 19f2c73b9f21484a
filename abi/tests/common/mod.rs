//! Shared by the vector and round-trip tests: a tick batch's meaning as owned values
//! (symbols as text, depth as levels), encoded with the crate's `BatchWriter` and
//! decoded with its reader.
#![allow(dead_code)]

use alpha_panda_abi::tick::{read_level, read_tick, Batch, BatchError, DepthLevel, RecordError};
use alpha_panda_abi::tick::{Tick, TickFields};
use alpha_panda_abi::tick_write::{BatchWriter, EncodedBatch};

/// One tick as it means: every field, its symbol's text, its depth levels.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedTick {
    pub fields: TickFields,
    pub symbol: Option<String>,
    /// Buy and sell levels, if the tick carried depth.
    pub depth: Option<(Vec<DepthLevel>, Vec<DepthLevel>)>,
}

impl OwnedTick {
    pub fn new(fields: TickFields) -> Self {
        Self {
            fields,
            symbol: None,
            depth: None,
        }
    }

    pub fn symbol(mut self, s: &str) -> Self {
        self.symbol = Some(s.to_owned());
        self
    }

    pub fn depth(mut self, buy: Vec<DepthLevel>, sell: Vec<DepthLevel>) -> Self {
        self.depth = Some((buy, sell));
        self
    }
}

/// The canonical encoding of `ticks`.
pub fn encode(ticks: &[OwnedTick]) -> EncodedBatch {
    let mut w = BatchWriter::new();
    for t in ticks {
        let depth = t.depth.as_ref().map(|(b, s)| (b.as_slice(), s.as_slice()));
        w.push(&t.fields, t.symbol.as_deref(), depth);
    }
    w.finish()
}

/// What a batch means: a batch error, or per tick its meaning or its record error.
pub type Decoded = Result<Vec<Result<OwnedTick, RecordError>>, BatchError>;

/// Decodes a batch with the crate's reader, resolving symbols and depth spans.
pub fn decode(count: u32, data: &[u8], symbols: &[String]) -> Decoded {
    let batch = Batch::parse(count, data)?;
    let levels: Vec<DepthLevel> = batch.levels().iter().map(read_level).collect();
    Ok(batch
        .records()
        .iter()
        .map(|r| {
            let Tick {
                fields,
                symbol,
                depth,
            } = read_tick(r, symbols.len(), levels.len())?;
            Ok(OwnedTick {
                fields,
                symbol: symbol.map(|i| symbols[i as usize].clone()),
                depth: depth.map(|d| {
                    (
                        levels[d.buy.range()].to_vec(),
                        levels[d.sell.range()].to_vec(),
                    )
                }),
            })
        })
        .collect())
}
