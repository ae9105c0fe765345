//! The whole authentication sequence of a signed request, in the order a gateway needs it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{PoisonError, RwLock};

use ed25519_dalek::VerifyingKey;

use super::error::AuthError;
use super::headers::AuthHeaders;
use super::instruction::permission_for;
use super::keys::{ApiKey, ApiKeyText, Permissions};
use super::rate_limit::{RateLimitConfig, RateLimiter};
use super::replay::ReplayGuard;
use super::signing::RequestParts;
use super::verify::{Credentials, Verified};

/// Which verified requests [`ReplayGuard`] protects.
///
/// Clients timestamp in milliseconds and ED25519 is deterministic, so two identical requests
/// sent in the same millisecond carry the same signature: with [`ReplayScope::All`] the second
/// is refused. CCXT Pro signs every private `SUBSCRIBE` identically within a millisecond, and
/// concurrent identical reads are common, so by default only state-changing requests are
/// protected — those are what a replay could harm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplayScope {
    /// Every signed request, including queries and subscriptions.
    All,
    /// Requests whose instruction needs `TRADE` or `WITHDRAW`.
    #[default]
    Mutations,
    /// None.
    Off,
}

/// Settings of an [`Authenticator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthConfig {
    /// Token buckets per key and per IP.
    pub rate_limits: RateLimitConfig,
    /// Hard cap on requests remembered for replay protection.
    pub replay_capacity: usize,
    /// Which requests replay protection covers.
    pub replay_scope: ReplayScope,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            rate_limits: RateLimitConfig::default(),
            replay_capacity: ReplayGuard::DEFAULT_CAPACITY,
            replay_scope: ReplayScope::default(),
        }
    }
}

/// A verified request and the account its key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated<T> {
    /// What was verified.
    pub verified: Verified,
    /// What the key lookup returned.
    pub account: T,
}

/// Rate limiting, credential checks, signature verification, permissions and replay protection,
/// shared by all connections of a gateway.
#[derive(Debug)]
pub struct Authenticator {
    limiter: RateLimiter,
    replay: ReplayGuard,
    scope: ReplayScope,
    /// Decompressed public keys of registered keys, filled on first use (bounded by the
    /// registered keys, since only keys the lookup knows are decompressed).
    keys: RwLock<HashMap<ApiKey, VerifyingKey>>,
}

impl Authenticator {
    /// An authenticator with the given settings.
    pub fn new(config: AuthConfig) -> Self {
        Self {
            limiter: RateLimiter::new(config.rate_limits),
            replay: ReplayGuard::new(config.replay_capacity),
            scope: config.replay_scope,
            keys: RwLock::new(HashMap::new()),
        }
    }

    fn verifying_key(&self, key: &ApiKey) -> Result<VerifyingKey, AuthError> {
        if let Some(known) = self.keys.read().unwrap_or_else(PoisonError::into_inner).get(key) {
            return Ok(*known);
        }
        let decompressed = key.verifying_key().ok_or(AuthError::InvalidApiKey)?;
        self.keys.write().unwrap_or_else(PoisonError::into_inner).insert(*key, decompressed);
        Ok(decompressed)
    }

    /// Per-IP limit; call it for every request, public ones included, before anything else.
    pub fn check_ip(&self, ip: IpAddr, now_ms: u64) -> Result<(), AuthError> {
        self.limiter.check_ip(ip, now_ms)
    }

    /// Authenticates a signed REST request.
    ///
    /// Order: headers → time window → key lookup (`lookup` returns the account and the key's
    /// permissions, or `None` for an unknown key) → signature → permission → per-key rate limit
    /// → replay. The key's bucket and the replay cache are touched only after the signature
    /// verified, so forged requests can neither drain a victim's quota nor fill the cache.
    pub fn authenticate<T>(
        &self,
        request: &RequestParts<'_>,
        headers: &AuthHeaders<'_>,
        now_ms: u64,
        lookup: impl FnOnce(&ApiKey) -> Option<(T, Permissions)>,
    ) -> Result<Authenticated<T>, AuthError> {
        let credentials = Credentials::from_headers(headers)?;
        credentials.check_time(now_ms)?;
        let (account, permissions) = lookup(credentials.api_key()).ok_or(AuthError::UnknownApiKey)?;
        let key = self.verifying_key(credentials.api_key())?;
        let verified = credentials.verify_request_with(&key, request)?;
        self.admit(verified, account, permissions, now_ms)
    }

    /// Authenticates a private WebSocket `SUBSCRIBE` (headers from
    /// [`AuthHeaders::from_ws_signature`]), with the same sequence as
    /// [`Authenticator::authenticate`].
    pub fn authenticate_subscribe<T>(
        &self,
        headers: &AuthHeaders<'_>,
        now_ms: u64,
        lookup: impl FnOnce(&ApiKey) -> Option<(T, Permissions)>,
    ) -> Result<Authenticated<T>, AuthError> {
        let credentials = Credentials::from_headers(headers)?;
        credentials.check_time(now_ms)?;
        let (account, permissions) = lookup(credentials.api_key()).ok_or(AuthError::UnknownApiKey)?;
        let key = self.verifying_key(credentials.api_key())?;
        let verified = credentials.verify_subscribe_with(&key)?;
        self.admit(verified, account, permissions, now_ms)
    }

    fn admit<T>(
        &self,
        verified: Verified,
        account: T,
        permissions: Permissions,
        now_ms: u64,
    ) -> Result<Authenticated<T>, AuthError> {
        let needed = permission_for(verified.instruction).ok_or(AuthError::UnknownEndpoint)?;
        if !permissions.contains(needed) {
            return Err(AuthError::Forbidden);
        }
        self.limiter.check_key(&verified.api_key, now_ms)?;
        let protect = match self.scope {
            ReplayScope::All => true,
            ReplayScope::Mutations => needed != Permissions::READ,
            ReplayScope::Off => false,
        };
        if protect {
            self.replay.check(&verified, now_ms)?;
        }
        Ok(Authenticated { verified, account })
    }

    /// The rate limiter (for weighted limits or periodic eviction).
    pub fn limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    /// The replay guard (for periodic eviction).
    pub fn replay_guard(&self) -> &ReplayGuard {
        &self.replay
    }
}

impl Default for Authenticator {
    fn default() -> Self {
        Self::new(AuthConfig::default())
    }
}
