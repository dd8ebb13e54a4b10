//! A one-shot stop signal shared by the background tasks.

use std::sync::Arc;
use tokio::sync::watch;

/// Cloneable; `wait` returns once `fire` was called on any clone.
#[derive(Clone)]
pub struct Stop(Arc<watch::Sender<bool>>, watch::Receiver<bool>);

impl Default for Stop {
    fn default() -> Self {
        let (tx, rx) = watch::channel(false);
        Self(Arc::new(tx), rx)
    }
}

impl Stop {
    /// Signals every waiter.
    pub fn fire(&self) {
        let _ = self.0.send(true);
    }

    /// Whether it was fired.
    #[must_use]
    pub fn is_fired(&self) -> bool {
        *self.1.borrow()
    }

    /// Resolves once fired.
    pub async fn wait(&self) {
        let mut rx = self.1.clone();
        let _ = rx.wait_for(|v| *v).await;
    }
}
