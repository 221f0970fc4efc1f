//! Signals: a value that changes, and tasks waiting for it to change — tokio's `watch`, made
//! deterministic.
//!
//! tokio's `watch` spreads its waiters over eight queues picked with a thread-local random number
//! whose seed includes a process-wide counter, so the order in which waiters wake differs from
//! one simulated run to the next in the same process (the simulator found this: the same seed
//! gave different histories when runs shared a process). A [`Sender`] here wakes its waiters
//! through a single [`tokio::sync::Notify`], in the order they began waiting. The API is the
//! subset of `watch` cronfence uses; reads hand out clones, so no lock is ever held by a caller.

use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// The sender was dropped and no unseen change is left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the signal's sender is gone")]
pub struct Closed;

struct State<T> {
    value: T,
    version: u64,
    closed: bool,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    notify: Notify,
}

impl<T> Shared<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The sending half: sets the value and wakes every waiting receiver.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A receiving half: reads the value and waits for changes it has not seen.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    seen: u64,
}

/// A new signal holding `value`; the receiver has seen it.
pub fn channel<T>(value: T) -> (Sender<T>, Receiver<T>) {
    let sender = Sender::new(value);
    let receiver = sender.subscribe();
    (sender, receiver)
}

impl<T> Sender<T> {
    /// A signal holding `value`, with no receiver yet.
    pub fn new(value: T) -> Self {
        Sender {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    value,
                    version: 0,
                    closed: false,
                }),
                notify: Notify::new(),
            }),
        }
    }

    /// Changes the value in place and wakes the receivers.
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        {
            let mut state = self.shared.lock();
            modify(&mut state.value);
            state.version += 1;
        }
        self.shared.notify.notify_waiters();
    }

    /// Replaces the value, wakes the receivers and returns the old value.
    pub fn send_replace(&self, value: T) -> T {
        let old = {
            let mut state = self.shared.lock();
            state.version += 1;
            std::mem::replace(&mut state.value, value)
        };
        self.shared.notify.notify_waiters();
        old
    }

    /// A receiver that has seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        Receiver {
            seen: self.shared.lock().version,
            shared: self.shared.clone(),
        }
    }
}

impl<T: Clone> Sender<T> {
    /// The current value.
    pub fn borrow(&self) -> T {
        self.shared.lock().value.clone()
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.notify.notify_waiters();
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("Sender")
            .field("value", &state.value)
            .field("version", &state.version)
            .finish()
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("Receiver")
            .field("value", &state.value)
            .field("seen", &self.seen)
            .finish()
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver {
            shared: self.shared.clone(),
            seen: self.seen,
        }
    }
}

impl<T: Clone> Receiver<T> {
    /// The current value (it stays unseen).
    pub fn borrow(&self) -> T {
        self.shared.lock().value.clone()
    }

    /// The current value, now seen.
    pub fn borrow_and_update(&mut self) -> T {
        let state = self.shared.lock();
        self.seen = state.version;
        state.value.clone()
    }

    /// True when the value changed since it was last seen; `Err` once the sender is gone.
    pub fn has_changed(&self) -> Result<bool, Closed> {
        let state = self.shared.lock();
        if state.closed {
            return Err(Closed);
        }
        Ok(state.version != self.seen)
    }

    /// Waits for a change not yet seen, and marks it seen; `Err` once the sender is gone with
    /// nothing unseen left.
    pub async fn changed(&mut self) -> Result<(), Closed> {
        loop {
            let notified = self.shared.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let state = self.shared.lock();
                if state.version != self.seen {
                    self.seen = state.version;
                    return Ok(());
                }
                if state.closed {
                    return Err(Closed);
                }
            }
            notified.await;
        }
    }

    /// Waits until `ready` holds for the value (checking the current one first) and returns that
    /// value; `Err` once the sender is gone without it holding.
    pub async fn wait_for(&mut self, mut ready: impl FnMut(&T) -> bool) -> Result<T, Closed> {
        loop {
            {
                let state = self.shared.lock();
                self.seen = state.version;
                if ready(&state.value) {
                    return Ok(state.value.clone());
                }
                if state.closed {
                    return Err(Closed);
                }
            }
            // `Err` only when closed with no change since the value above was found not ready.
            self.changed().await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn receivers_see_each_change_once_and_learn_when_the_sender_is_gone() {
        let (tx, mut rx) = channel(0);
        assert_eq!(rx.has_changed(), Ok(false));
        tx.send_modify(|v| *v += 1);
        assert_eq!(rx.has_changed(), Ok(true));
        rx.changed().await.unwrap();
        assert_eq!(rx.borrow(), 1);
        assert_eq!(tx.send_replace(5), 1);
        assert_eq!(rx.wait_for(|v| *v == 5).await, Ok(5));
        drop(tx);
        assert_eq!(rx.changed().await, Err(Closed));
        assert_eq!(rx.has_changed(), Err(Closed));
    }

    #[tokio::test]
    async fn a_waiter_wakes_when_the_value_is_set_later() {
        let (tx, rx) = channel(None);
        let waiter = tokio::spawn(async move {
            let mut rx = rx;
            rx.wait_for(|v: &Option<u32>| v.is_some()).await
        });
        tokio::task::yield_now().await;
        tx.send_replace(Some(7));
        assert_eq!(waiter.await.unwrap(), Ok(Some(7)));
    }
}
