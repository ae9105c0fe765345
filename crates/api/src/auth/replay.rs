//! Refusing a signed request that has been seen before.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::{Mutex, PoisonError};

use super::error::AuthError;
use super::keys::ApiKey;
use super::verify::Verified;

const DEFAULT_SHARDS: usize = 16;

/// Remembers every accepted (API key, signature) pair until its window has passed
/// (`timestamp + window`), and refuses a second use of one.
///
/// Memory is bounded: entries leave as time passes, and a shard that is full of live entries
/// refuses new requests with `TOO_MANY_REQUESTS` instead of growing. Each entry is a 128-bit
/// fingerprint of the pair under per-process random SipHash keys (so nobody can aim a collision
/// at someone else's request), kept in a hash set plus a min-heap ordered by expiry.
///
/// Safe to share between threads; the state is split in independently locked shards.
pub struct ReplayGuard {
    shards: Box<[Mutex<Shard>]>,
    per_shard_capacity: usize,
    hash_hi: RandomState,
    hash_lo: RandomState,
}

#[derive(Default)]
struct Shard {
    seen: HashSet<u128>,
    by_expiry: BinaryHeap<Reverse<(u64, u128)>>,
    /// Latest `now_ms` seen: callers' clocks may differ by a few ms, and expiry must never move
    /// backwards, or an evicted pair could be accepted again.
    latest_now_ms: u64,
}

impl ReplayGuard {
    /// Default hard cap on remembered requests (about 70 MB of memory when full).
    pub const DEFAULT_CAPACITY: usize = 1 << 20;

    /// A guard remembering at most `capacity` live requests.
    pub fn new(capacity: usize) -> Self {
        Self::with_shards(capacity, DEFAULT_SHARDS)
    }

    /// A guard with an explicit shard count (`capacity` is split evenly between shards).
    pub fn with_shards(capacity: usize, shards: usize) -> Self {
        let shards = shards.max(1);
        Self {
            shards: (0..shards).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard_capacity: capacity.div_ceil(shards).max(1),
            hash_hi: RandomState::new(),
            hash_lo: RandomState::new(),
        }
    }

    /// Records a verified request, or refuses it as a replay (or when the cache is full).
    pub fn check(&self, verified: &Verified, now_ms: u64) -> Result<(), AuthError> {
        self.check_and_record(&verified.api_key, &verified.signature, verified.expires_at_ms(), now_ms)
    }

    /// Records `(api_key, signature)` as used until `expires_at_ms`, or refuses it:
    /// `Replayed` if it is already recorded, `Expired` if `expires_at_ms` has passed,
    /// `ReplayCacheFull` if the cap is reached.
    pub fn check_and_record(
        &self,
        api_key: &ApiKey,
        signature: &[u8; 64],
        expires_at_ms: u64,
        now_ms: u64,
    ) -> Result<(), AuthError> {
        let fingerprint = self.fingerprint(api_key, signature);
        // The low bits pick the shard; they are uniformly distributed.
        let index = (fingerprint % self.shards.len() as u128) as usize;
        let mut shard = self.shards[index].lock().unwrap_or_else(PoisonError::into_inner);
        shard.evict(now_ms);
        if expires_at_ms < shard.latest_now_ms {
            return Err(AuthError::Expired);
        }
        if shard.seen.contains(&fingerprint) {
            return Err(AuthError::Replayed);
        }
        if shard.seen.len() >= self.per_shard_capacity {
            return Err(AuthError::ReplayCacheFull);
        }
        shard.seen.insert(fingerprint);
        shard.by_expiry.push(Reverse((expires_at_ms, fingerprint)));
        Ok(())
    }

    /// Drops every entry whose window has passed at `now_ms` (also done on each check of the
    /// same shard; call this from a timer to release memory when traffic stops).
    pub fn evict_expired(&self, now_ms: u64) {
        for shard in self.shards.iter() {
            shard.lock().unwrap_or_else(PoisonError::into_inner).evict(now_ms);
        }
    }

    /// Number of remembered requests.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).seen.len()).sum()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn fingerprint(&self, api_key: &ApiKey, signature: &[u8; 64]) -> u128 {
        let half = |state: &RandomState| {
            let mut hasher = state.build_hasher();
            hasher.write(api_key.as_bytes());
            hasher.write(signature);
            hasher.finish()
        };
        (u128::from(half(&self.hash_hi)) << 64) | u128::from(half(&self.hash_lo))
    }
}

impl Default for ReplayGuard {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl std::fmt::Debug for ReplayGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayGuard")
            .field("shards", &self.shards.len())
            .field("per_shard_capacity", &self.per_shard_capacity)
            .finish_non_exhaustive()
    }
}

impl Shard {
    fn evict(&mut self, now_ms: u64) {
        self.latest_now_ms = self.latest_now_ms.max(now_ms);
        // A request is valid while now <= timestamp + window, so an entry can go once
        // expires_at < now.
        while let Some(Reverse((expires_at, fingerprint))) = self.by_expiry.peek().copied() {
            if expires_at >= self.latest_now_ms {
                break;
            }
            self.by_expiry.pop();
            self.seen.remove(&fingerprint);
        }
    }
}
