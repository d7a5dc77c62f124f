//! A connection's queue of messages to send: whoever may write to the client holds an
//! [`Outbox`], the connection's writer task the [`OutboxReceiver`].
//!
//! Not a tokio channel: those allocate a block of 32 slots up front, a kilobyte and more for
//! every connection however idle, and idle desks are many. This queue holds nothing while
//! empty.

use nara_protocol::encode;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// A new queue for connection number `connection`, holding at most `capacity` messages.
pub fn queue(connection: u64, capacity: usize) -> (Outbox, OutboxReceiver) {
    let queue = Arc::new(Queue {
        state: Mutex::new(QueueState {
            messages: VecDeque::new(),
            senders: 1,
            writer_gone: false,
            overflowed: false,
            closing: false,
        }),
        capacity,
        ready: Notify::new(),
        attention: Notify::new(),
    });
    (
        Outbox {
            connection,
            queue: queue.clone(),
        },
        OutboxReceiver { queue },
    )
}

/// What a connection's writer task receives.
#[derive(Debug, PartialEq, Eq)]
pub enum Outgoing {
    Text(String),
    /// Send this last message and close, e.g. a kiosk that was just revoked.
    Close(String),
}

/// The sending side, held by whoever may write to that client.
#[derive(Debug)]
pub struct Outbox {
    pub connection: u64,
    queue: Arc<Queue>,
}

#[derive(Debug)]
struct Queue {
    state: Mutex<QueueState>,
    capacity: usize,
    /// Wakes the writer: a message came, or the last sender went.
    ready: Notify,
    /// Wakes the reader: the client stopped reading, or the connection is being closed.
    attention: Notify,
}

#[derive(Debug)]
struct QueueState {
    messages: VecDeque<Outgoing>,
    senders: usize,
    writer_gone: bool,
    /// A message did not fit: the client stopped reading.
    overflowed: bool,
    /// A farewell is queued: nothing more goes out, and nothing more is read.
    closing: bool,
}

/// Why a connection's reader should stop reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The client stopped reading what it is sent.
    Overflowed,
    /// Someone closed the connection (a revoked kiosk, a session that ended): whatever the
    /// client sends from now on is not acted on.
    Closed,
}

/// Capacity an emptied queue keeps; a burst that needed more gives it back.
const QUEUE_KEEPS: usize = 4;

impl Outbox {
    fn push(&self, out: Outgoing) -> Result<(), Refused> {
        let mut state = self.queue.state.lock().expect("not poisoned");
        if state.writer_gone || state.closing {
            return Err(Refused::Closed);
        }
        if state.messages.len() >= self.queue.capacity {
            return Err(Refused::Full);
        }
        if matches!(out, Outgoing::Close(_)) {
            state.closing = true;
            self.queue.attention.notify_one();
        }
        state.messages.push_back(out);
        drop(state);
        self.queue.ready.notify_one();
        Ok(())
    }

    /// Queues a message. A client too slow to keep its queue short is cut off (see
    /// [`Outbox::overflowed`]) rather than letting the broker buffer without bound.
    pub fn send<T: Serialize>(&self, message: &T) -> bool {
        self.send_encoded(encode(message))
    }

    /// As `send`, for a message encoded once for several clients.
    pub fn send_encoded(&self, text: String) -> bool {
        match self.push(Outgoing::Text(text)) {
            Ok(()) => true,
            Err(Refused::Full) => {
                self.queue.state.lock().expect("not poisoned").overflowed = true;
                self.queue.attention.notify_one();
                false
            }
            Err(Refused::Closed) => false,
        }
    }

    /// Queues a last message and the close. False if the queue is full: the client is not
    /// reading, and waiting for it to take the farewell is pointless.
    pub fn close_with<T: Serialize>(&self, message: &T) -> bool {
        self.push(Outgoing::Close(encode(message))).is_ok()
    }

    /// Resolves once the reader should stop: the client stopped reading, or a farewell was
    /// queued by anyone holding this outbox.
    pub async fn ending(&self) -> Ending {
        loop {
            let woken = self.queue.attention.notified();
            {
                let state = self.queue.state.lock().expect("not poisoned");
                if state.overflowed {
                    return Ending::Overflowed;
                }
                if state.closing {
                    return Ending::Closed;
                }
            }
            woken.await;
        }
    }

    /// Whether a farewell is queued.
    pub fn is_closing(&self) -> bool {
        self.queue.state.lock().expect("not poisoned").closing
    }
}

enum Refused {
    Full,
    Closed,
}

impl Clone for Outbox {
    fn clone(&self) -> Self {
        self.queue.state.lock().expect("not poisoned").senders += 1;
        Outbox {
            connection: self.connection,
            queue: self.queue.clone(),
        }
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        let mut state = self.queue.state.lock().expect("not poisoned");
        state.senders -= 1;
        if state.senders == 0 {
            drop(state);
            self.queue.ready.notify_one();
        }
    }
}

/// The writer's side of a connection's queue.
#[derive(Debug)]
pub struct OutboxReceiver {
    queue: Arc<Queue>,
}

impl OutboxReceiver {
    /// The next message, waiting for one; `None` once every sender is gone and the queue is
    /// empty.
    pub async fn recv(&mut self) -> Option<Outgoing> {
        loop {
            match self.try_recv() {
                Ok(message) => return Some(message),
                Err(Empty::Closed) => return None,
                Err(Empty::Waiting) => self.queue.ready.notified().await,
            }
        }
    }

    pub fn try_recv(&mut self) -> Result<Outgoing, Empty> {
        let mut state = self.queue.state.lock().expect("not poisoned");
        match state.messages.pop_front() {
            Some(message) => {
                if state.messages.is_empty() && state.messages.capacity() > QUEUE_KEEPS {
                    state.messages.shrink_to(QUEUE_KEEPS);
                }
                Ok(message)
            }
            None if state.senders == 0 => Err(Empty::Closed),
            None => Err(Empty::Waiting),
        }
    }
}

impl Drop for OutboxReceiver {
    fn drop(&mut self) {
        let mut state = self.queue.state.lock().expect("not poisoned");
        state.writer_gone = true;
        state.messages = VecDeque::new();
    }
}

/// Why [`OutboxReceiver::try_recv`] has nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum Empty {
    Waiting,
    Closed,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(out: Outgoing) -> String {
        match out {
            Outgoing::Text(text) | Outgoing::Close(text) => text,
        }
    }

    #[tokio::test]
    async fn messages_come_out_in_order_and_the_queue_ends_with_its_last_sender() {
        let (outbox, mut writer) = queue(1, 8);
        let engine = outbox.clone();
        assert!(outbox.send(&"one"));
        assert!(engine.send(&"two"));
        drop(outbox);
        assert_eq!(text(writer.recv().await.unwrap()), "\"one\"");
        assert!(engine.close_with(&"bye"));
        drop(engine);
        assert_eq!(text(writer.recv().await.unwrap()), "\"two\"");
        assert!(matches!(writer.recv().await, Some(Outgoing::Close(_))));
        assert!(writer.recv().await.is_none(), "every sender is gone");
    }

    #[tokio::test]
    async fn the_writer_wakes_for_a_message_sent_while_it_waits() {
        let (outbox, mut writer) = queue(1, 8);
        let waiting = tokio::spawn(async move { writer.recv().await.map(text) });
        tokio::task::yield_now().await;
        assert!(outbox.send(&"late"));
        assert_eq!(waiting.await.unwrap().as_deref(), Some("\"late\""));
    }

    #[tokio::test]
    async fn a_full_queue_refuses_and_says_the_client_stopped_reading() {
        let (outbox, mut writer) = queue(1, 2);
        assert!(outbox.send(&1) && outbox.send(&2));
        assert!(!outbox.send(&3), "a third does not fit");
        assert!(!outbox.close_with(&"bye"), "nor does a farewell");
        let ending = tokio::time::timeout(std::time::Duration::from_secs(5), outbox.ending())
            .await
            .expect("the overflow is signalled");
        assert_eq!(ending, Ending::Overflowed);
        assert_eq!(text(writer.try_recv().unwrap()), "1");
        assert!(outbox.send(&4), "room again once the writer took one");
    }

    /// L1 of the security review: a desk whose session ended still had its messages acted on.
    #[tokio::test]
    async fn after_a_farewell_nothing_more_goes_out_and_the_reader_is_told_to_stop() {
        let (outbox, mut writer) = queue(1, 8);
        let engine = outbox.clone();
        assert!(!outbox.is_closing());
        assert!(engine.close_with(&"session ended"));
        assert!(!outbox.send(&"late"), "nothing after the farewell");
        let ending = tokio::time::timeout(std::time::Duration::from_secs(5), outbox.ending())
            .await
            .expect("the reader is told");
        assert_eq!(ending, Ending::Closed);
        assert!(outbox.is_closing());
        assert!(matches!(writer.recv().await, Some(Outgoing::Close(_))));
    }

    #[tokio::test]
    async fn nothing_is_queued_for_a_writer_that_is_gone() {
        let (outbox, writer) = queue(1, 8);
        assert!(outbox.send(&1));
        drop(writer);
        assert!(!outbox.send(&2));
    }

    #[test]
    fn an_emptied_queue_gives_back_what_a_burst_took() {
        let (outbox, mut writer) = queue(1, 1000);
        for n in 0..500 {
            assert!(outbox.send(&n));
        }
        while writer.try_recv().is_ok() {}
        let kept = outbox.queue.state.lock().unwrap().messages.capacity();
        assert!(kept <= QUEUE_KEEPS, "{kept}");
        assert_eq!(writer.try_recv(), Err(Empty::Waiting));
    }
}
