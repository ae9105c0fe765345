//! Backpack-compatible request authentication, independent of any HTTP framework.
//!
//! A signed request carries `X-API-Key` (base64 ED25519 public key), `X-Signature` (base64
//! signature), `X-Timestamp` (ms) and optionally `X-Window` (ms, default 5000, max 60000). The
//! signature covers a string rebuilt from the request:
//!
//! ```text
//! instruction=<instr>&<k1>=<v1>&<k2>=<v2>...&timestamp=<T>&window=<W>
//! ```
//!
//! with the parameters taken from the JSON body (POST/PATCH/DELETE) or the query string (GET, and
//! requests without a body), keys sorted by byte order. See [`signing_string`] for the exact rules
//! and the alternative renderings that are also accepted.
//!
//! The pieces:
//! * [`instruction_for`] — which instruction a (method, path) is signed with;
//! * [`signing_string`] / [`signing_candidates`] — rebuild the signed string;
//! * [`verify_request`] / [`verify_subscribe`] — check headers, time window and signature;
//! * [`ReplayGuard`] — reject a signature seen before, until its window has passed;
//! * [`RateLimiter`] — token buckets per API key and per IP;
//! * [`Authenticator`] — all of the above in the order a gateway needs them;
//! * [`Signer`] — the client side, for tests, the load generator and admin tools.
//!
//! Nothing here reads a clock: every time-dependent call takes `now_ms` (Unix ms).

mod authenticator;
mod error;
mod headers;
mod instruction;
mod keys;
mod rate_limit;
mod replay;
mod signer;
mod signing;
mod verify;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;

pub use authenticator::{AuthConfig, Authenticated, Authenticator, ReplayScope};
pub use error::AuthError;
pub use headers::AuthHeaders;
pub use instruction::{SIGNED_ENDPOINTS, WS_SUBSCRIBE_INSTRUCTION, instruction_for, permission_for};
pub use keys::{ApiKey, ApiKeyText, KeyError, Permissions};
pub use rate_limit::{Quota, RateLimitConfig, RateLimiter, TokenBuckets};
pub use replay::ReplayGuard;
pub use signer::{SignedHeaders, Signer, client_batch_signing_string, client_signing_string};
pub use signing::{
    DEFAULT_WINDOW_MS, MAX_WINDOW_MS, Rendering, RequestParts, signing_candidates, signing_string,
    subscribe_signing_string,
};
pub use verify::{Credentials, Verified, verify_request, verify_subscribe};

pub(crate) use signing::form_decode;
