//! Recorded ticks for replay: JSON lines of tick envelopes, or CSV
//! `instrument_token,timestamp,last_price[,volume_traded]` (a header line is
//! allowed). A CSV row becomes a tick envelope with an id derived from the row, so
//! replays of the same file are identical. Any bad line stops the replay with its
//! line number: a backtest never silently drops ticks.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rust_decimal::Decimal;
use uuid::Uuid;

use crate::contract::{decode_tick, EventEnvelope, EventType, MarketTick, Timestamp, SHARED};

/// A bad input file or line.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {}: {message}", path.display())]
    Read { path: PathBuf, message: String },
    #[error("{}:{line}: {message}", path.display())]
    Line {
        path: PathBuf,
        line: u64,
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    JsonLines,
    Csv,
}

/// Reads ticks one by one.
pub struct TickReader {
    path: PathBuf,
    reader: BufReader<File>,
    format: Option<Format>,
    line_no: u64,
    bytes: u64,
    buf: String,
}

impl TickReader {
    pub fn open(path: &Path) -> Result<Self, InputError> {
        let file = File::open(path).map_err(|e| InputError::Read {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        Ok(Self {
            path: path.to_owned(),
            reader: BufReader::with_capacity(1 << 16, file),
            format: None,
            line_no: 0,
            bytes: 0,
            buf: String::new(),
        })
    }

    /// Bytes consumed so far (for a progress bar).
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    fn bad(&self, message: impl Into<String>) -> InputError {
        InputError::Line {
            path: self.path.clone(),
            line: self.line_no,
            message: message.into(),
        }
    }

    /// The next tick envelope, or `None` at the end of the file.
    pub fn next_tick(&mut self) -> Result<Option<EventEnvelope<MarketTick>>, InputError> {
        loop {
            self.buf.clear();
            let n = self.reader.read_line(&mut self.buf).map_err(|e| {
                let message = if e.kind() == std::io::ErrorKind::InvalidData {
                    "line is not valid UTF-8".to_owned()
                } else {
                    e.to_string()
                };
                InputError::Line {
                    path: self.path.clone(),
                    line: self.line_no + 1,
                    message,
                }
            })?;
            if n == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            self.bytes += n as u64;
            let line = self.buf.trim();
            if line.is_empty() {
                continue;
            }
            let format = *self.format.get_or_insert(if line.starts_with('{') {
                Format::JsonLines
            } else {
                Format::Csv
            });
            match format {
                Format::JsonLines => {
                    let env = decode_tick(line.as_bytes()).map_err(|e| self.bad(e.to_string()))?;
                    return Ok(Some(env));
                }
                Format::Csv => {
                    if self.line_no == 1 && is_header(line) {
                        continue;
                    }
                    let line = line.to_owned();
                    return self.csv_row(&line).map(Some);
                }
            }
        }
    }

    fn csv_row(&self, line: &str) -> Result<EventEnvelope<MarketTick>, InputError> {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if !(3..=4).contains(&fields.len()) {
            return Err(self.bad(format!(
                "expected instrument_token,timestamp,last_price[,volume_traded], got {} fields",
                fields.len()
            )));
        }
        let token = u32::from_str(fields[0])
            .map_err(|_| self.bad(format!("instrument_token `{}` is not a u32", fields[0])))?;
        let ts = Timestamp::parse(fields[1]).map_err(|e| self.bad(format!("timestamp: {e}")))?;
        let price = Decimal::from_str(fields[2])
            .map_err(|_| self.bad(format!("last_price `{}` is not a decimal", fields[2])))?;
        let mut tick = MarketTick::new(token, price, ts);
        if let Some(v) = fields.get(3).filter(|v| !v.is_empty()) {
            tick.volume_traded = Some(
                u64::from_str(v)
                    .map_err(|_| self.bad(format!("volume_traded `{v}` is not a u64")))?,
            );
        }
        let id = Uuid::new_v5(
            &Uuid::NAMESPACE_OID,
            format!("alpha-panda/replay-csv/{}/{line}", self.line_no).as_bytes(),
        )
        .to_string();
        Ok(EventEnvelope {
            id: id.clone(),
            correlation_id: id.clone(),
            causation_id: None,
            trace_id: id,
            parent_trace_id: None,
            broker: SHARED.to_owned(),
            event_type: EventType::MarketTick,
            ts,
            key: token.to_string(),
            source: "replay_csv".to_owned(),
            version: crate::contract::VERSION,
            data: tick,
        })
    }
}

fn is_header(line: &str) -> bool {
    line.split(',')
        .next()
        .is_some_and(|f| f.trim().parse::<u64>().is_err())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text).unwrap();
        f
    }

    fn all(text: &[u8]) -> Result<Vec<EventEnvelope<MarketTick>>, InputError> {
        let f = file(text);
        let mut r = TickReader::open(f.path())?;
        let mut v = Vec::new();
        while let Some(t) = r.next_tick()? {
            v.push(t);
        }
        Ok(v)
    }

    #[test]
    fn csv_with_header_and_volume() {
        let v = all(b"instrument_token,timestamp,last_price,volume_traded\n738561,2025-08-29T04:45:04Z,2501.55,10\n81153,2025-08-29T04:45:05Z,3987.4\n").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].data.last_price.to_string(), "2501.55");
        assert_eq!(v[0].data.volume_traded, Some(10));
        assert_eq!(v[1].data.instrument_token, 81153);
        assert_eq!(v[0].key, "738561");
        let again = all(b"instrument_token,timestamp,last_price,volume_traded\n738561,2025-08-29T04:45:04Z,2501.55,10\n").unwrap();
        assert_eq!(again[0].id, v[0].id, "ids derive from the row");
    }

    #[test]
    fn json_lines_of_fixtures() {
        let text = include_str!("../../../tests/fixtures/market_tick_full.json");
        let v = all(format!("{text}\n\n{text}\n").as_bytes()).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].data.symbol.as_deref(), Some("RELIANCE"));
    }

    #[test]
    fn bad_lines_name_their_line() {
        let e = all(b"1,2025-08-29T04:45:04Z,1.0\n2,2025-08-29T04:45:04,1.0\n").unwrap_err();
        assert!(e.to_string().contains(":2:"), "{e}");
        let e = all(b"1,2025-08-29T04:45:04Z,abc\n").unwrap_err();
        assert!(e.to_string().contains("last_price"), "{e}");
        let e = all(b"{\"id\":1}\n").unwrap_err();
        assert!(e.to_string().contains(":1:"), "{e}");
        let e = all(b"1,2025-08-29T04:45:04Z,1.0\n\xff\xfe\n").unwrap_err();
        assert!(e.to_string().contains("UTF-8"), "{e}");
    }
}
