//! One WebSocket connection: a reader that turns SUBSCRIBE/UNSUBSCRIBE frames into hub
//! subscriptions, and a writer that drains everything queued, feeds it, and flushes once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::time::Instant;

use rucksack_types::AccountId;

use crate::auth::AuthHeaders;
use crate::server::{Shared, now_ms};

use super::frames;
use super::hub::{ClientId, Frame, Kick, Membership};
use super::names::StreamName;

/// How often the server pings, and how long a client may go without answering.
const PING_EVERY: Duration = Duration::from_secs(60);
const PONG_WITHIN: Duration = Duration::from_secs(120);
/// Most queue items (runs of frames) written between two flushes.
const DRAIN_AT_MOST: usize = 1_024;
/// Socket write buffer: writes go out once this much is buffered, or at the flush.
const WRITE_BUFFER: usize = 64 * 1024;
/// Socket read buffer. Clients only send subscriptions and pongs, and every read attempt
/// zero-fills the buffer's free space first, so it is kept small.
const READ_BUFFER: usize = 4 * 1024;
/// How long a Close frame may take to go out to a client that is being dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// The error code of a refused private subscription (the venue's is not documented).
const INVALID_SIGNATURE: u16 = 4001;
/// Close code for a client dropped by the server's policy (RFC 6455 §7.4.1).
const POLICY: u16 = 1008;

/// `GET /ws` (and `/`) with an upgrade: one streaming session.
pub async fn upgrade(State(state): State<Shared>, upgrade: WebSocketUpgrade) -> Response {
    upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(4 * WRITE_BUFFER + 1_048_576)
        .on_upgrade(move |socket| run(state, socket))
}

async fn run(state: Shared, socket: WebSocket) {
    let Membership { client, mut frames, queue, mut kick } = state.hub.join();
    let (mut sink, mut stream) = socket.split();
    // Milliseconds since `started` at the last pong.
    let started = Instant::now();
    let last_pong = AtomicU64::new(0);

    let reader = async {
        let mut account = None;
        while let Some(Ok(message)) = stream.next().await {
            match message {
                Message::Text(text) => {
                    for reply in request(&state, client, text.as_str(), &mut account) {
                        // A client too slow to take its own error replies is dropped by the hub.
                        let _ = queue.try_send(Arc::from([Frame::from(reply)]));
                    }
                }
                Message::Pong(_) => last_pong.store(started.elapsed().as_millis() as u64, Ordering::Relaxed),
                Message::Close(_) => break,
                _ => {}
            }
        }
    };

    let writer = async {
        let mut drained = Vec::with_capacity(DRAIN_AT_MOST);
        // Looked up once: a lookup by name per write shows in the fan-out's profile.
        let frames_delivered = metrics::counter!("rucksack_ws_frames_delivered_total");
        let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
        loop {
            enum Step {
                Frames,
                Ping,
                Kicked(Kick),
                Gone,
            }
            let step = tokio::select! {
                biased;
                kicked = &mut kick => kicked.map_or(Step::Gone, Step::Kicked),
                n = frames.recv_many(&mut drained, DRAIN_AT_MOST) => if n == 0 { Step::Gone } else { Step::Frames },
                _ = ping.tick() => Step::Ping,
            };
            let written = match step {
                Step::Frames => {
                    let n: usize = drained.iter().map(|frames| frames.len()).sum();
                    let write = async {
                        for frames in drained.drain(..) {
                            for frame in frames.iter() {
                                sink.feed(Message::Text(frame.clone())).await?;
                            }
                        }
                        sink.flush().await
                    };
                    // A client that stopped reading blocks the write; the hub's kick ends it.
                    let outcome = tokio::select! {
                        biased;
                        kicked = &mut kick => Err(kicked.ok()),
                        result = write => result.map_err(|_| None),
                    };
                    if outcome.is_ok() {
                        frames_delivered.increment(n as u64);
                    }
                    outcome
                }
                Step::Ping
                    if started.elapsed().saturating_sub(Duration::from_millis(last_pong.load(Ordering::Relaxed)))
                        > PONG_WITHIN =>
                {
                    Err(None)
                }
                Step::Ping => sink.send(Message::Ping(Default::default())).await.map_err(|_| None),
                Step::Kicked(kick) => Err(Some(kick)),
                Step::Gone => Err(None),
            };
            match written {
                Ok(()) => {}
                Err(Some(kick)) => {
                    let close = CloseFrame { code: POLICY, reason: kick.reason().into() };
                    let _ = tokio::time::timeout(CLOSE_GRACE, sink.send(Message::Close(Some(close)))).await;
                    return;
                }
                Err(None) => {
                    let _ = tokio::time::timeout(CLOSE_GRACE, sink.send(Message::Close(None))).await;
                    return;
                }
            }
        }
    };

    tokio::select! {
        _ = reader => {}
        _ = writer => {}
    }
    state.hub.leave(client);
}

/// Text of one element of a `"signature"` array (numbers are accepted as their decimal text).
fn signature_parts(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|part| match part {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        })
        .collect()
}

/// Verifies the subscribe signature of a request, returning the account it proves.
fn authenticate(state: &Shared, request: &Value) -> Option<AccountId> {
    let parts = signature_parts(request.get("signature")?)?;
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let headers = AuthHeaders::from_ws_signature(&parts);
    state
        .auth
        .authenticate_subscribe(&headers, now_ms(), |key| state.model.read().api_keys.get(key).copied())
        .ok()
        .map(|authenticated| authenticated.account)
}

/// Applies one client frame, returning the error replies it earns.
pub(crate) fn request(state: &Shared, client: ClientId, text: &str, account: &mut Option<AccountId>) -> Vec<String> {
    let parse_error = || vec![frames::error(4002, "Parse error")];
    let Ok(request) = serde_json::from_str::<Value>(text) else { return parse_error() };
    let subscribe = match request.get("method").and_then(Value::as_str) {
        Some(method) if method.eq_ignore_ascii_case("SUBSCRIBE") => true,
        Some(method) if method.eq_ignore_ascii_case("UNSUBSCRIBE") => false,
        _ => return parse_error(),
    };
    let Some(params) = request.get("params").and_then(Value::as_array) else { return parse_error() };
    let Some(names) = params.iter().map(Value::as_str).collect::<Option<Vec<&str>>>() else { return parse_error() };

    let mut replies = Vec::new();
    let mut signed: Option<Option<AccountId>> = None;
    for name in names {
        let parsed = match StreamName::parse(name) {
            Ok(parsed) => parsed,
            Err(error) => {
                replies.push(frames::error(error.code(), &error.to_string()));
                continue;
            }
        };
        let market = match parsed.symbol() {
            Some(symbol) => match state.model.read().market_by_symbol(symbol) {
                Some(market) => Some(market.spec.id),
                // Unknown symbols get no reply and no data, as on the venue.
                None => continue,
            },
            None => None,
        };
        let mut owner = None;
        if parsed.is_private() {
            let proved = *signed.get_or_insert_with(|| authenticate(state, &request));
            match (proved, subscribe) {
                (Some(proved), _) => {
                    *account = Some(proved);
                    owner = Some(proved);
                }
                // Unsubscribing needs no new proof: the connection already proved its account.
                (None, false) if account.is_some() && request.get("signature").is_none() => owner = *account,
                (None, _) => {
                    replies.push(frames::error(INVALID_SIGNATURE, "Invalid signature"));
                    continue;
                }
            }
        }
        let Some(topic) = parsed.topic(market, owner) else { continue };
        if subscribe {
            state.hub.subscribe(client, topic, name);
        } else {
            state.hub.unsubscribe(client, topic);
        }
    }
    replies.dedup();
    replies
}
