//! The last signals and plugin events of a running host, as short lines for the
//! terminal view (at most [`RECENT`] of each, oldest first).

use std::collections::VecDeque;
use std::sync::Mutex;

/// Lines kept of each kind.
pub const RECENT: usize = 8;

#[derive(Debug, Default)]
pub struct Recent {
    signals: Mutex<VecDeque<String>>,
    events: Mutex<VecDeque<String>>,
}

fn push(q: &Mutex<VecDeque<String>>, lines: impl IntoIterator<Item = String>) {
    if let Ok(mut q) = q.lock() {
        for line in lines {
            if q.len() == RECENT {
                q.pop_front();
            }
            q.push_back(line);
        }
    }
}

fn read(q: &Mutex<VecDeque<String>>) -> Vec<String> {
    q.lock()
        .map(|q| q.iter().cloned().collect())
        .unwrap_or_default()
}

impl Recent {
    /// Signal lines of a batch (only its last [`RECENT`] are kept).
    pub fn signals(&self, lines: impl IntoIterator<Item = String>) {
        push(&self.signals, lines);
    }

    /// A plugin lifecycle event.
    pub fn event(&self, line: String) {
        push(&self.events, [line]);
    }

    pub fn signal_lines(&self) -> Vec<String> {
        read(&self.signals)
    }

    pub fn event_lines(&self) -> Vec<String> {
        read(&self.events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_lines_are_kept_oldest_first() {
        let r = Recent::default();
        r.signals(["1".to_owned(), "2".to_owned()]);
        r.signals((3..=10).map(|i| i.to_string()));
        let last: Vec<String> = (3..=10).map(|i| i.to_string()).collect();
        assert_eq!(r.signal_lines(), last);
        r.event("loaded a".into());
        assert_eq!(r.event_lines(), ["loaded a"]);
    }
}
