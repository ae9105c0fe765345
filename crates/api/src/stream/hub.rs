//! Subscriptions and fan-out. One task owns every subscription: it receives each engine batch,
//! encodes each frame once, and pushes the shared bytes into the bounded queue of every
//! subscriber. A subscriber whose queue is full is told to go ("slow consumer") instead of
//! slowing the others or growing memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::{mpsc, oneshot};

use rucksack_types::{AccountId, Lots, MarketId, Ticks, Timestamp};

use crate::views::ReadModel;

use super::batch::{Batch, Catalogue, DepthUpdate, Update};
use super::names::{DepthWindow, KlineInterval, Topic};
use super::{frames, positions};

/// One encoded frame, shared by all its subscribers.
pub type Frame = Utf8Bytes;

/// What a client's queue holds: one stream's frames from one engine batch, in order. A batch
/// reaches each subscriber as one queue item per stream, so its writer wakes once per batch
/// and writes the whole run with one flush.
pub type Frames = Arc<[Frame]>;

pub type ClientId = u64;

/// Why the hub tells a client to go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kick {
    SlowConsumer,
}

impl Kick {
    pub const fn reason(self) -> &'static str {
        match self {
            Kick::SlowConsumer => "slow consumer",
        }
    }
}

enum Input {
    Batch(Batch),
    Join { client: ClientId, queue: mpsc::Sender<Frames>, kick: oneshot::Sender<Kick> },
    Subscribe { client: ClientId, topic: Topic, name: Arc<str> },
    Unsubscribe { client: ClientId, topic: Topic },
    Leave { client: ClientId },
}

/// The engine thread's end: sending never blocks and never waits on a lock.
#[derive(Clone, Debug)]
pub struct Sink {
    inputs: mpsc::UnboundedSender<Input>,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Input")
    }
}

impl Sink {
    pub fn send(&self, batch: Batch) {
        // Gone only at shutdown, when nobody listens any more.
        let _ = self.inputs.send(Input::Batch(batch));
    }
}

/// Settings of the fan-out.
#[derive(Clone, Copy, Debug)]
pub struct HubConfig {
    /// Queue items (one stream's frames of one batch) a client may have waiting before it
    /// counts as a slow consumer.
    pub queue_frames: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig { queue_frames: 4_096 }
    }
}

/// The connections' end: join, subscribe, unsubscribe, leave.
#[derive(Clone, Debug)]
pub struct Hub {
    inputs: mpsc::UnboundedSender<Input>,
    next_client: Arc<AtomicU64>,
    config: HubConfig,
}

/// A joined client: its queue of frames and the signal that it must go.
pub struct Membership {
    pub client: ClientId,
    pub frames: mpsc::Receiver<Frames>,
    /// The client's own way into its queue (error replies).
    pub queue: mpsc::Sender<Frames>,
    pub kick: oneshot::Receiver<Kick>,
}

impl Hub {
    pub fn join(&self) -> Membership {
        let client = self.next_client.fetch_add(1, Ordering::Relaxed);
        let (queue, frames) = mpsc::channel(self.config.queue_frames);
        let (kick_tx, kick) = oneshot::channel();
        let _ = self.inputs.send(Input::Join { client, queue: queue.clone(), kick: kick_tx });
        Membership { client, frames, queue, kick }
    }

    pub fn subscribe(&self, client: ClientId, topic: Topic, name: &str) {
        let _ = self.inputs.send(Input::Subscribe { client, topic, name: Arc::from(name) });
    }

    pub fn unsubscribe(&self, client: ClientId, topic: Topic) {
        let _ = self.inputs.send(Input::Unsubscribe { client, topic });
    }

    pub fn leave(&self, client: ClientId) {
        let _ = self.inputs.send(Input::Leave { client });
    }
}

/// The hub's handle, its engine-side sink, and the fan-out task to run on the runtime.
pub fn open(model: ReadModel, config: HubConfig) -> (Hub, Sink, Fanout) {
    let (inputs, receiver) = mpsc::unbounded_channel();
    let hub = Hub { inputs: inputs.clone(), next_client: Arc::new(AtomicU64::new(1)), config };
    (hub, Sink { inputs }, Fanout { receiver, model, state: State::default() })
}

/// Inputs taken from the engine and the connections in one round of the fan-out at most.
const ROUND: usize = 256;

/// The fan-out task.
pub struct Fanout {
    receiver: mpsc::UnboundedReceiver<Input>,
    model: ReadModel,
    state: State,
}

struct Channel {
    name: Arc<str>,
    subscribers: Vec<(ClientId, mpsc::Sender<Frames>)>,
}

struct Client {
    queue: mpsc::Sender<Frames>,
    kick: Option<oneshot::Sender<Kick>>,
    topics: Vec<Topic>,
}

/// Depth changes merged over a window: the last size of each level, `U` of the first change and
/// `u` of the last.
#[derive(Default)]
struct Conflated {
    first: Option<u64>,
    last: u64,
    bids: BTreeMap<Ticks, Lots>,
    asks: BTreeMap<Ticks, Lots>,
    time: Timestamp,
}

/// A kline stream: the candle last sent open, and whether trades arrived since.
#[derive(Default)]
struct KlineState {
    open: Option<Timestamp>,
    dirty: bool,
}

#[derive(Default)]
struct State {
    channels: HashMap<Topic, Channel>,
    clients: HashMap<ClientId, Client>,
    conflated: HashMap<(MarketId, DepthWindow), Conflated>,
    klines: HashMap<(MarketId, KlineInterval), KlineState>,
    catalogue: Arc<Catalogue>,
    /// Latest engine time seen, so candles close on a manual clock too.
    engine_time: Timestamp,
    kicked: Vec<ClientId>,
    /// Frames of the batches taken in this round, per stream in order, not yet queued.
    outgoing: Vec<(Topic, Vec<Frame>)>,
    outgoing_at: HashMap<Topic, usize>,
}

impl Fanout {
    pub async fn run(mut self) {
        let mut conflation = tokio::time::interval(Duration::from_millis(200));
        let mut second = tokio::time::interval(Duration::from_secs(1));
        conflation.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        second.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut ticks: u32 = 0;
        loop {
            tokio::select! {
                input = self.receiver.recv() => match input {
                    Some(input) => {
                        // Everything that queued up meanwhile goes out in the same round, so a
                        // busy engine means fewer, larger writes rather than more of them.
                        self.state.apply(input, &self.model);
                        for _ in 0..ROUND {
                            let Ok(input) = self.receiver.try_recv() else { break };
                            self.state.apply(input, &self.model);
                        }
                        self.state.send_outgoing();
                    }
                    None => return,
                },
                _ = conflation.tick() => {
                    ticks = ticks.wrapping_add(1);
                    self.state.flush_conflated(ticks);
                }
                _ = second.tick() => self.state.every_second(&self.model),
            }
            self.state.kick_slow();
        }
    }
}

impl State {
    fn apply(&mut self, input: Input, model: &ReadModel) {
        if !matches!(input, Input::Batch(_)) {
            // Frames gathered so far go to the subscribers as they were when the frames arose.
            self.send_outgoing();
        }
        match input {
            Input::Batch(batch) => self.batch(batch),
            Input::Join { client, queue, kick } => {
                self.clients.insert(client, Client { queue, kick: Some(kick), topics: Vec::new() });
                metrics::gauge!("rucksack_ws_clients").set(self.clients.len() as f64);
            }
            Input::Subscribe { client, topic, name } => {
                let Some(member) = self.clients.get_mut(&client) else { return };
                if member.topics.contains(&topic) {
                    return;
                }
                member.topics.push(topic);
                let channel = self.channels.entry(topic).or_insert_with(|| Channel { name, subscribers: Vec::new() });
                channel.subscribers.push((client, member.queue.clone()));
                match topic {
                    Topic::Depth(market, window) if window != DepthWindow::Realtime => {
                        self.conflated.entry((market, window)).or_default();
                    }
                    Topic::Kline(market, interval) => {
                        self.klines.entry((market, interval)).or_default();
                    }
                    Topic::Positions(account, market) => self.open_positions(client, account, market, model),
                    _ => {}
                }
            }
            Input::Unsubscribe { client, topic } => {
                if let Some(member) = self.clients.get_mut(&client) {
                    member.topics.retain(|t| *t != topic);
                    self.drop_subscriber(client, topic);
                }
            }
            Input::Leave { client } => self.remove(client),
        }
    }

    /// A position subscription opens with the positions held now, sent to the new subscriber
    /// alone and without an event type.
    fn open_positions(&mut self, client: ClientId, account: AccountId, market: Option<MarketId>, model: &ReadModel) {
        let topic = Topic::Positions(account, market);
        let (Some(channel), Some(member)) = (self.channels.get(&topic), self.clients.get(&client)) else { return };
        let emitted = super::wall_clock();
        let frames: Vec<Frame> = {
            let views = model.read();
            positions::open_positions(&views, account, market)
                .iter()
                .filter_map(|update| {
                    let spec = &views.markets.get(usize::from(update.figures.market.0))?.spec;
                    let data = positions::payload(spec, views.asset(spec.quote)?, update, emitted).to_string();
                    Some(Frame::from(frames::envelope(&channel.name, &data)))
                })
                .collect()
        };
        if frames.is_empty() {
            return;
        }
        if let Err(mpsc::error::TrySendError::Full(_)) = member.queue.try_send(frames.into()) {
            self.kicked.push(client);
        }
    }

    fn drop_subscriber(&mut self, client: ClientId, topic: Topic) {
        let Some(channel) = self.channels.get_mut(&topic) else { return };
        channel.subscribers.retain(|(c, _)| *c != client);
        if channel.subscribers.is_empty() {
            self.channels.remove(&topic);
            match topic {
                Topic::Depth(market, window) => {
                    self.conflated.remove(&(market, window));
                }
                Topic::Kline(market, interval) => {
                    self.klines.remove(&(market, interval));
                }
                _ => {}
            }
        }
    }

    fn remove(&mut self, client: ClientId) {
        if let Some(member) = self.clients.remove(&client) {
            for topic in member.topics {
                self.drop_subscriber(client, topic);
            }
            metrics::gauge!("rucksack_ws_clients").set(self.clients.len() as f64);
        }
    }

    /// Sends `data` to every subscriber of `topic`, wrapped once in that topic's envelope.
    fn deliver(&mut self, topic: Topic, data: &str) {
        let Some(channel) = self.channels.get(&topic) else { return };
        let frame = Frame::from(frames::envelope(&channel.name, data));
        self.send(topic, Arc::from([frame]));
    }

    /// Queues the same `frames` for every subscriber of `topic`.
    fn send(&mut self, topic: Topic, frames: Frames) {
        let Some(channel) = self.channels.get(&topic) else { return };
        for (client, queue) in &channel.subscribers {
            if let Err(mpsc::error::TrySendError::Full(_)) = queue.try_send(frames.clone()) {
                self.kicked.push(*client);
            }
        }
    }

    fn has(&self, topic: Topic) -> bool {
        self.channels.contains_key(&topic)
    }

    fn batch(&mut self, batch: Batch) {
        self.catalogue = batch.catalogue.clone();
        for update in &batch.updates {
            let topics: [Option<Topic>; 2] = match update {
                Update::Depth(depth) => {
                    self.conflate(depth);
                    [Some(Topic::Depth(depth.market, DepthWindow::Realtime)), None]
                }
                Update::BookTicker { market, time, .. } => {
                    self.engine_time = self.engine_time.max(*time);
                    [Some(Topic::BookTicker(*market)), None]
                }
                Update::Trade { market, trade, .. } => {
                    self.engine_time = self.engine_time.max(trade.time);
                    for ((m, _), state) in self.klines.iter_mut() {
                        state.dirty |= m == market;
                    }
                    [Some(Topic::Trade(*market)), None]
                }
                Update::Order(order) => [
                    Some(Topic::Orders(order.order.account, None)),
                    Some(Topic::Orders(order.order.account, Some(order.order.market))),
                ],
                Update::Balance { account, .. } => [Some(Topic::Balances(*account)), None],
                Update::MarkPrice(mark) => {
                    self.engine_time = self.engine_time.max(mark.time);
                    [Some(Topic::MarkPrice(mark.market)), None]
                }
                Update::OpenInterest { market, .. } => [Some(Topic::OpenInterest(*market)), None],
                Update::Liquidation(_) => [Some(Topic::Liquidations), None],
                Update::Position(position) => [
                    Some(Topic::Positions(position.account, None)),
                    Some(Topic::Positions(position.account, Some(position.figures.market))),
                ],
            };
            if !topics.iter().flatten().any(|t| self.has(*t)) {
                continue;
            }
            let Some(data) = frames::update(&batch.catalogue, update, batch.emitted) else { continue };
            for topic in topics.into_iter().flatten() {
                let Some(channel) = self.channels.get(&topic) else { continue };
                let frame = Frame::from(frames::envelope(&channel.name, &data));
                let outgoing = &mut self.outgoing;
                let at = *self.outgoing_at.entry(topic).or_insert_with(|| {
                    outgoing.push((topic, Vec::new()));
                    outgoing.len() - 1
                });
                self.outgoing[at].1.push(frame);
            }
        }
    }

    /// Queues the round's frames: each subscriber gets one item per stream.
    fn send_outgoing(&mut self) {
        self.outgoing_at.clear();
        let outgoing = std::mem::take(&mut self.outgoing);
        for (topic, frames) in outgoing {
            self.send(topic, frames.into());
        }
    }

    fn conflate(&mut self, depth: &DepthUpdate) {
        for window in DepthWindow::CONFLATED.map(|(w, _)| w) {
            let Some(merged) = self.conflated.get_mut(&(depth.market, window)) else { continue };
            merged.first.get_or_insert(depth.first);
            merged.last = depth.last;
            merged.time = depth.time;
            merged.bids.extend(depth.bids.iter().copied());
            merged.asks.extend(depth.asks.iter().copied());
        }
    }

    fn flush_conflated(&mut self, ticks: u32) {
        let due: Vec<(MarketId, DepthWindow)> = self
            .conflated
            .iter()
            .filter(|((_, window), merged)| {
                merged.first.is_some()
                    && DepthWindow::CONFLATED.iter().any(|&(w, n)| w == *window && ticks.is_multiple_of(n))
            })
            .map(|(key, _)| *key)
            .collect();
        for key in due {
            let Some(merged) = self.conflated.get_mut(&key).map(std::mem::take) else { continue };
            let Some(spec) = self.catalogue.market(key.0) else { continue };
            let update = DepthUpdate {
                market: key.0,
                first: merged.first.unwrap_or(merged.last),
                last: merged.last,
                bids: merged.bids.into_iter().collect(),
                asks: merged.asks.into_iter().collect(),
                time: merged.time,
            };
            let data = frames::depth(spec, &update, super::wall_clock());
            self.deliver(Topic::Depth(key.0, key.1), &data);
        }
    }

    /// Tickers, and klines that changed or closed.
    fn every_second(&mut self, model: &ReadModel) {
        let now = super::wall_clock().max(self.engine_time);
        let mut out: Vec<(Topic, String)> = Vec::new();
        {
            let views = model.read();
            for topic in self.channels.keys() {
                if let Topic::Ticker(market) = *topic
                    && let Some(view) = views.markets.get(usize::from(market.0))
                {
                    out.push((*topic, frames::ticker(&views, view, now)));
                }
            }
            for (&(market, interval), state) in self.klines.iter_mut() {
                let Some(view) = views.markets.get(usize::from(market.0)) else { continue };
                let topic = Topic::Kline(market, interval);
                let (start, _) = interval.candle(now);
                if let Some(open) = state.open.filter(|open| *open < start) {
                    out.extend(frames::kline(view, interval, open, true, now).map(|f| (topic, f)));
                    state.open = None;
                }
                if std::mem::take(&mut state.dirty)
                    && let Some(frame) = frames::kline(view, interval, start, false, now)
                {
                    state.open = Some(start);
                    out.push((topic, frame));
                }
            }
        }
        for (topic, data) in out {
            self.deliver(topic, &data);
        }
    }

    fn kick_slow(&mut self) {
        let kicked = std::mem::take(&mut self.kicked);
        for client in kicked {
            if let Some(member) = self.clients.get_mut(&client)
                && let Some(kick) = member.kick.take()
            {
                let _ = kick.send(Kick::SlowConsumer);
                metrics::counter!("rucksack_ws_slow_consumer_disconnects_total").increment(1);
            }
            self.remove(client);
        }
    }
}
