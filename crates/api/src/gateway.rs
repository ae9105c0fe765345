//! The gateway's side of the pipeline: a request submits a command and awaits its outcome,
//! which the engine thread hands back only after the command is durable and applied.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rucksack_types::{Command, Event, Reject, Seq, Timestamp};
use tokio::sync::oneshot;

use crate::error::ApiError;

/// What became of a submitted command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub seq: Seq,
    pub time: Timestamp,
    pub result: Result<Vec<Event>, Reject>,
}

/// Why a command could not be queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubmitError {
    /// The queue is full: shed load now rather than grow memory.
    Busy,
    /// The pipeline has stopped.
    Stopped,
}

type Submit = Box<dyn Fn(u64, Command) -> Result<(), SubmitError> + Send + Sync>;

pub struct Gateway {
    submit: Submit,
    next_ticket: AtomicU64,
    waiting: Mutex<HashMap<u64, oneshot::Sender<Reply>>>,
}

impl Gateway {
    /// `submit` queues a command under a ticket; outcomes come back through [`Gateway::complete`].
    pub fn new(submit: impl Fn(u64, Command) -> Result<(), SubmitError> + Send + Sync + 'static) -> Gateway {
        Gateway { submit: Box::new(submit), next_ticket: AtomicU64::new(1), waiting: Mutex::new(HashMap::new()) }
    }

    /// Submits a command and waits until it is durable and applied.
    pub async fn execute(&self, command: Command) -> Result<Reply, ApiError> {
        let submitted = std::time::Instant::now();
        let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.waiting_map().insert(ticket, tx);
        if let Err(error) = (self.submit)(ticket, command) {
            self.waiting_map().remove(&ticket);
            return Err(match error {
                SubmitError::Busy => ApiError::busy(),
                SubmitError::Stopped => ApiError::unavailable(),
            });
        }
        let reply = rx.await.map_err(|_| ApiError::unavailable())?;
        metrics::histogram!("rucksack_command_ack_seconds").record(submitted.elapsed().as_secs_f64());
        Ok(reply)
    }

    /// Called on the engine thread with each outcome. Tickets nobody waits for (commands from
    /// timers, bots, admin tools) are ignored.
    pub fn complete(&self, ticket: u64, reply: Reply) {
        if let Some(waiter) = self.waiting_map().remove(&ticket) {
            let _ = waiter.send(reply);
        }
    }

    fn waiting_map(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Reply>>> {
        self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use rucksack_types::{AccountId, MarketId};

    fn command() -> Command {
        Command::CancelAll { account: AccountId(1), market: MarketId(0), scope: rucksack_types::CancelScope::All }
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once() {
        let gateway = Gateway::new(|_, _| Err(SubmitError::Busy));
        let error = gateway.execute(command()).await.unwrap_err();
        assert_eq!((error.status, error.code), (StatusCode::SERVICE_UNAVAILABLE, "TOO_MANY_REQUESTS"));
        assert!(gateway.waiting_map().is_empty(), "a refused request leaves no waiter behind");
    }

    #[tokio::test]
    async fn outcomes_reach_the_request_that_submitted_them() {
        let submitted = std::sync::Arc::new(Mutex::new(Vec::new()));
        let log = submitted.clone();
        let gateway = std::sync::Arc::new(Gateway::new(move |ticket, _| {
            log.lock().unwrap().push(ticket);
            Ok(())
        }));
        let waiting = tokio::spawn({
            let gateway = gateway.clone();
            async move { gateway.execute(command()).await }
        });
        while submitted.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        let ticket = submitted.lock().unwrap()[0];
        gateway.complete(ticket + 1, Reply { seq: Seq(9), time: Timestamp(1), result: Ok(vec![]) });
        gateway.complete(ticket, Reply { seq: Seq(7), time: Timestamp(1), result: Err(Reject::OrderNotFound) });
        let reply = waiting.await.unwrap().unwrap();
        assert_eq!((reply.seq, reply.result), (Seq(7), Err(Reject::OrderNotFound)));
    }
}
