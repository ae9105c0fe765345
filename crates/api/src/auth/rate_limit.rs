//! Token-bucket rate limiting per API key and per client IP.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, PoisonError};

use super::error::AuthError;
use super::keys::ApiKey;

const SHARDS: usize = 16;
/// A full table is swept at most this often, so a flood of new clients cannot make every
/// request pay for a sweep.
const FULL_SWEEP_INTERVAL_MS: u64 = 100;
const MIN_SWEEP_LEN: usize = 64;
/// What a client refused because the table is full is told to wait.
const TABLE_FULL_RETRY_MS: u64 = 1000;

/// A rate: `tokens` per `period_ms`, refilled continuously, holding at most `burst` tokens.
/// A request costs one token unless weighted.
///
/// Integer arithmetic only: a bucket's level is kept in units of `1 / period_ms` token, so each
/// elapsed millisecond adds exactly `tokens` units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    tokens: u64,
    period_ms: u64,
    burst: u64,
}

impl Quota {
    /// `tokens` per `period_ms` (both at least 1), at most `burst` (at least 1) at once.
    pub const fn new(tokens: u32, period_ms: u32, burst: u32) -> Self {
        const fn at_least_one(n: u32) -> u64 {
            if n == 0 { 1 } else { n as u64 }
        }
        Self { tokens: at_least_one(tokens), period_ms: at_least_one(period_ms), burst: at_least_one(burst) }
    }

    /// `rate` requests per second, `burst` at once.
    pub const fn per_second(rate: u32, burst: u32) -> Self {
        Self::new(rate, 1000, burst)
    }

    /// `rate` requests per minute, `burst` at once.
    pub const fn per_minute(rate: u32, burst: u32) -> Self {
        Self::new(rate, 60_000, burst)
    }

    fn capacity(&self) -> u64 {
        self.burst.saturating_mul(self.period_ms)
    }

    fn cost(&self, weight: u32) -> u64 {
        u64::from(weight).saturating_mul(self.period_ms)
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// In units of `1 / period_ms` token.
    level: u64,
    last_ms: u64,
}

impl Bucket {
    fn level_at(&self, quota: &Quota, now_ms: u64) -> u64 {
        let elapsed = now_ms.saturating_sub(self.last_ms);
        self.level.saturating_add(elapsed.saturating_mul(quota.tokens)).min(quota.capacity())
    }

    /// A bucket that has refilled completely is the same as no bucket, so it can be dropped.
    fn is_idle(&self, quota: &Quota, now_ms: u64) -> bool {
        self.level_at(quota, now_ms) >= quota.capacity()
    }
}

/// Token buckets keyed by `K`, one [`Quota`] for all, at most `max_buckets` of them.
///
/// Buckets that have refilled completely are dropped by periodic sweeps. When the table is full
/// of active buckets, a request from a new key is refused (`TOO_MANY_REQUESTS`) rather than
/// letting the table grow or resetting someone's bucket.
pub struct TokenBuckets<K> {
    quota: Quota,
    per_shard_max: usize,
    hasher: RandomState,
    shards: Box<[Mutex<BucketShard<K>>]>,
}

struct BucketShard<K> {
    buckets: HashMap<K, Bucket>,
    sweep_at_len: usize,
    last_full_sweep_ms: Option<u64>,
}

impl<K: Hash + Eq> TokenBuckets<K> {
    /// Buckets with `quota`, at most `max_buckets` in total.
    pub fn new(quota: Quota, max_buckets: usize) -> Self {
        let per_shard_max = max_buckets.div_ceil(SHARDS).max(1);
        Self {
            quota,
            per_shard_max,
            hasher: RandomState::new(),
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(BucketShard {
                        buckets: HashMap::new(),
                        sweep_at_len: MIN_SWEEP_LEN.min(per_shard_max),
                        last_full_sweep_ms: None,
                    })
                })
                .collect(),
        }
    }

    /// The quota every bucket follows.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// Takes one token from `key`'s bucket.
    pub fn check(&self, key: K, now_ms: u64) -> Result<(), AuthError> {
        self.check_weighted(key, 1, now_ms)
    }

    /// Takes `weight` tokens from `key`'s bucket, or refuses with the wait until it could.
    /// A weight above the burst can never pass.
    pub fn check_weighted(&self, key: K, weight: u32, now_ms: u64) -> Result<(), AuthError> {
        let quota = &self.quota;
        let cost = quota.cost(weight);
        let index = (self.hasher.hash_one(&key) % SHARDS as u64) as usize;
        let mut shard = self.shards[index].lock().unwrap_or_else(PoisonError::into_inner);
        if !shard.buckets.contains_key(&key) {
            shard.make_room(quota, self.per_shard_max, now_ms)?;
        }
        let bucket = shard.buckets.entry(key).or_insert(Bucket { level: quota.capacity(), last_ms: now_ms });
        let level = bucket.level_at(quota, now_ms);
        // Clocks of concurrent callers may disagree slightly; never move a bucket back in time.
        bucket.last_ms = bucket.last_ms.max(now_ms);
        if level >= cost {
            bucket.level = level - cost;
            Ok(())
        } else {
            bucket.level = level;
            let retry_after_ms = if cost > quota.capacity() { u64::MAX } else { (cost - level).div_ceil(quota.tokens) };
            Err(AuthError::RateLimited { retry_after_ms })
        }
    }

    /// Drops every bucket that has refilled completely at `now_ms`.
    pub fn evict_idle(&self, now_ms: u64) {
        for shard in self.shards.iter() {
            let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            shard.buckets.retain(|_, bucket| !bucket.is_idle(&self.quota, now_ms));
        }
    }

    /// Number of buckets held.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).buckets.len()).sum()
    }

    /// Whether no bucket is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Hash + Eq> BucketShard<K> {
    /// Before adding a bucket: sweep idle ones when the shard has grown enough since the last
    /// sweep (amortised O(1) per insert), and refuse if it is still full.
    fn make_room(&mut self, quota: &Quota, max: usize, now_ms: u64) -> Result<(), AuthError> {
        let len = self.buckets.len();
        if len < self.sweep_at_len {
            return Ok(());
        }
        let full = len >= max;
        if full && self.last_full_sweep_ms.is_some_and(|t| now_ms < t.saturating_add(FULL_SWEEP_INTERVAL_MS)) {
            return Err(AuthError::RateLimited { retry_after_ms: TABLE_FULL_RETRY_MS });
        }
        self.buckets.retain(|_, bucket| !bucket.is_idle(quota, now_ms));
        let len = self.buckets.len();
        self.sweep_at_len = len.saturating_mul(2).clamp(MIN_SWEEP_LEN.min(max), max);
        if len >= max {
            self.last_full_sweep_ms = Some(now_ms);
            return Err(AuthError::RateLimited { retry_after_ms: TABLE_FULL_RETRY_MS });
        }
        self.last_full_sweep_ms = None;
        Ok(())
    }
}

impl<K> std::fmt::Debug for TokenBuckets<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenBuckets")
            .field("quota", &self.quota)
            .field("per_shard_max", &self.per_shard_max)
            .finish_non_exhaustive()
    }
}

/// Limits for [`RateLimiter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Per API key. Backpack allows 2000 requests per minute per subaccount.
    pub per_key: Quota,
    /// Per client IP (IPv6 clients are grouped by /64).
    pub per_ip: Quota,
    /// Hard cap on buckets of each kind.
    pub max_buckets: usize,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self { per_key: Quota::per_minute(2000, 200), per_ip: Quota::per_minute(6000, 600), max_buckets: 1 << 20 }
    }
}

/// Token buckets per API key and per client IP. Thread-safe; `now_ms` is passed in.
#[derive(Debug)]
pub struct RateLimiter {
    keys: TokenBuckets<[u8; 32]>,
    ips: TokenBuckets<IpAddr>,
}

impl RateLimiter {
    /// A limiter with the given limits.
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            keys: TokenBuckets::new(config.per_key, config.max_buckets),
            ips: TokenBuckets::new(config.per_ip, config.max_buckets),
        }
    }

    /// Takes one request from `key`'s bucket.
    pub fn check_key(&self, key: &ApiKey, now_ms: u64) -> Result<(), AuthError> {
        self.keys.check(*key.as_bytes(), now_ms)
    }

    /// Takes `weight` requests from `key`'s bucket (for endpoints that count more).
    pub fn check_key_weighted(&self, key: &ApiKey, weight: u32, now_ms: u64) -> Result<(), AuthError> {
        self.keys.check_weighted(*key.as_bytes(), weight, now_ms)
    }

    /// Takes one request from the bucket of `ip` (its /64 for IPv6; IPv4-mapped IPv6 as IPv4).
    pub fn check_ip(&self, ip: IpAddr, now_ms: u64) -> Result<(), AuthError> {
        self.ips.check(ip_bucket(ip), now_ms)
    }

    /// Drops buckets that have refilled completely (also done as tables grow).
    pub fn evict_idle(&self, now_ms: u64) {
        self.keys.evict_idle(now_ms);
        self.ips.evict_idle(now_ms);
    }

    /// Buckets held, per key and per IP.
    pub fn bucket_counts(&self) -> (usize, usize) {
        (self.keys.len(), self.ips.len())
    }
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new(RateLimitConfig::default())
    }
}

/// One IPv6 host usually owns a whole /64, so limiting single addresses would be no limit.
fn ip_bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}
