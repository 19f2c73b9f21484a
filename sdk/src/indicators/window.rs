//! `RollingWindow`: a fixed-capacity FIFO of the last N values.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// The last `capacity` values pushed, oldest first.
///
/// ```
/// use alpha_panda_sdk::indicators::RollingWindow;
/// let mut w = RollingWindow::new(2);
/// assert_eq!(w.push(1), None);
/// assert_eq!(w.push(2), None);
/// assert_eq!(w.push(3), Some(1)); // evicts the oldest
/// assert_eq!((w.oldest(), w.newest()), (Some(&2), Some(&3)));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollingWindow<T> {
    capacity: usize,
    items: VecDeque<T>,
}

impl<T> RollingWindow<T> {
    /// An empty window of `capacity` values (0 is taken as 1); allocates once.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            capacity,
            items: VecDeque::with_capacity(capacity),
        }
    }

    /// Appends `value`; returns the value that fell out if the window was full.
    pub fn push(&mut self, value: T) -> Option<T> {
        let evicted = if self.items.len() == self.capacity {
            self.items.pop_front()
        } else {
            None
        };
        self.items.push_back(value);
        evicted
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// True once `capacity` values have been pushed.
    pub fn is_full(&self) -> bool {
        self.items.len() == self.capacity
    }
    pub fn oldest(&self) -> Option<&T> {
        self.items.front()
    }
    pub fn newest(&self) -> Option<&T> {
        self.items.back()
    }
    /// The `i`-th value, 0 being the oldest.
    pub fn get(&self, i: usize) -> Option<&T> {
        self.items.get(i)
    }
    /// Oldest first.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &T> + DoubleEndedIterator {
        self.items.iter()
    }
    pub fn clear(&mut self) {
        self.items.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_n_values() {
        let mut w = RollingWindow::new(3);
        for i in 0..5 {
            w.push(i);
        }
        assert!(w.is_full());
        assert_eq!(w.iter().copied().collect::<Vec<_>>(), vec![2, 3, 4]);
        assert_eq!(w.get(0), Some(&2));
        assert_eq!(w.get(3), None);
        let mut z = RollingWindow::new(0);
        assert_eq!(z.capacity(), 1);
        assert_eq!(z.push('a'), None);
        assert_eq!(z.push('b'), Some('a'));
        z.clear();
        assert!(z.is_empty());
    }
}
