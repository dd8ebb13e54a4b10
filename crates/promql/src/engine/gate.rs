//! `--query.max-concurrency`: at most N queries evaluate at once; the others wait their turn,
//! giving up when cancelled or when their time runs out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::EvalError;

/// A counting semaphore over running queries; zero slots means no limit.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    slots: usize,
    running: Mutex<usize>,
    freed: Condvar,
}

/// A taken slot, given back when dropped.
pub(crate) struct Slot<'g>(Option<&'g Gate>);

impl Gate {
    pub(crate) fn new(slots: usize) -> Gate {
        Gate {
            slots,
            ..Gate::default()
        }
    }

    /// Waits for a free slot until `deadline` (if any) or until `cancel` is set.
    pub(crate) fn enter(
        &self,
        deadline: Option<Instant>,
        cancel: Option<&AtomicBool>,
    ) -> Result<Slot<'_>, EvalError> {
        if self.slots == 0 {
            return Ok(Slot(None));
        }
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        while *running >= self.slots {
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                return Err(EvalError::Canceled("query queue"));
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(EvalError::Timeout("query queue"));
            }
            // Wake now and then to notice cancellation, which does not notify.
            running = self
                .freed
                .wait_timeout(running, Duration::from_millis(50))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *running += 1;
        Ok(Slot(Some(self)))
    }

    /// Queries evaluating now.
    pub(crate) fn running(&self) -> usize {
        *self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if let Some(gate) = self.0 {
            *gate.running.lock().unwrap_or_else(PoisonError::into_inner) -= 1;
            gate.freed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_gate_times_out_and_frees_on_drop() {
        let gate = Gate::new(1);
        let first = gate.enter(None, None).unwrap();
        assert_eq!(gate.running(), 1);
        let soon = Some(Instant::now() + Duration::from_millis(20));
        assert!(matches!(gate.enter(soon, None), Err(EvalError::Timeout(_))));
        let cancelled = AtomicBool::new(true);
        assert!(matches!(
            gate.enter(None, Some(&cancelled)),
            Err(EvalError::Canceled(_))
        ));
        drop(first);
        let _second = gate.enter(soon, None).unwrap();
    }

    #[test]
    fn waiters_enter_in_turn() {
        let gate = std::sync::Arc::new(Gate::new(2));
        let peak = std::sync::Arc::new(Mutex::new(0usize));
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let (gate, peak) = (gate.clone(), peak.clone());
                std::thread::spawn(move || {
                    let _slot = gate.enter(None, None).unwrap();
                    let mut p = peak.lock().unwrap();
                    *p = (*p).max(gate.running());
                    drop(p);
                    std::thread::sleep(Duration::from_millis(5));
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let peak = *peak.lock().unwrap();
        assert!((1..=2).contains(&peak), "{peak} queries ran at once");
        assert_eq!(gate.running(), 0);
    }

    #[test]
    fn zero_slots_is_unlimited() {
        let gate = Gate::new(0);
        let slots: Vec<_> = (0..100).map(|_| gate.enter(None, None).unwrap()).collect();
        assert_eq!(slots.len(), 100);
    }
}
