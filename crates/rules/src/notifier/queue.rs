//! The notifier's bounded queue: newest alerts win, the oldest are dropped when it is full.

use std::collections::VecDeque;

use crate::alert::Alert;

/// A FIFO of alerts with a fixed capacity.
#[derive(Debug)]
pub(crate) struct Queue {
    alerts: VecDeque<Alert>,
    capacity: usize,
}

impl Queue {
    /// An empty queue holding at most `capacity` alerts.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            alerts: VecDeque::new(),
            capacity,
        }
    }

    /// How many alerts wait.
    pub(crate) fn len(&self) -> usize {
        self.alerts.len()
    }

    /// The capacity.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Appends `alerts`, dropping the oldest ones (first of `alerts` itself when it alone
    /// exceeds the capacity, then of the queue) so that the capacity holds. Returns
    /// `(dropped from the batch, dropped from the queue)`.
    pub(crate) fn push(&mut self, mut alerts: Vec<Alert>) -> (usize, usize) {
        let over_batch = alerts.len().saturating_sub(self.capacity);
        if over_batch > 0 {
            alerts.drain(..over_batch);
        }
        let over_queue = (self.alerts.len() + alerts.len()).saturating_sub(self.capacity);
        self.alerts.drain(..over_queue);
        self.alerts.extend(alerts);
        (over_batch, over_queue)
    }

    /// Takes up to `max` alerts from the front.
    pub(crate) fn next_batch(&mut self, max: usize) -> Vec<Alert> {
        let n = self.alerts.len().min(max);
        self.alerts.drain(..n).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use model::Labels;

    use super::*;

    fn alerts(range: std::ops::Range<usize>) -> Vec<Alert> {
        range
            .map(|i| Alert {
                labels: Labels::from_pairs([("alertname", format!("a{i}"))]),
                annotations: Labels::empty(),
                starts_at: SystemTime::now(),
                ends_at: None,
                generator_url: String::new(),
            })
            .collect()
    }

    fn names(v: &[Alert]) -> Vec<String> {
        v.iter().map(|a| a.name().to_owned()).collect()
    }

    #[test]
    fn full_queue_drops_oldest() {
        let mut q = Queue::new(5);
        assert_eq!(q.push(alerts(0..3)), (0, 0));
        assert_eq!(q.push(alerts(3..7)), (0, 2));
        assert_eq!(q.len(), 5);
        assert_eq!(names(&q.next_batch(2)), ["a2", "a3"]);
        assert_eq!(names(&q.next_batch(10)), ["a4", "a5", "a6"]);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn batch_larger_than_capacity_keeps_its_newest() {
        let mut q = Queue::new(3);
        q.push(alerts(0..2));
        assert_eq!(q.push(alerts(2..10)), (5, 2));
        assert_eq!(names(&q.next_batch(10)), ["a7", "a8", "a9"]);
    }
}
