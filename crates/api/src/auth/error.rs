//! Authentication failures and their Backpack wire form (`{"code": ..., "message": ...}` + status).

/// Why a request was not authenticated. `Display` is the wire `message`; [`AuthError::code`] and
/// [`AuthError::status`] give the Backpack error code and HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A required header (`X-API-Key`, `X-Signature`, `X-Timestamp`) is absent.
    #[error("Missing {0} header")]
    MissingHeader(&'static str),
    /// `X-API-Key` is not the base64 of a valid 32-byte ED25519 public key.
    #[error("Invalid API key")]
    InvalidApiKey,
    /// The key is well formed but not registered (or revoked).
    #[error("Invalid API key")]
    UnknownApiKey,
    /// `X-Timestamp` or `X-Window` is not a non-negative integer.
    #[error("Invalid {0} header")]
    InvalidHeader(&'static str),
    /// `X-Window` exceeds [`MAX_WINDOW_MS`](super::MAX_WINDOW_MS).
    #[error("Invalid X-Window header: the window must not exceed 60000 ms")]
    WindowTooLarge,
    /// `now > timestamp + window`.
    #[error("Request has expired")]
    Expired,
    /// `timestamp > now + window`: the client clock is ahead by more than the window.
    #[error("Request timestamp is too far in the future")]
    FromFuture,
    /// The signature does not verify against any accepted rendering of the request, or is not
    /// the base64 of 64 bytes.
    #[error("Invalid signature, could not verify signature")]
    InvalidSignature,
    /// The same (key, signature) was already accepted within its window.
    #[error("Request has already been used")]
    Replayed,
    /// The body of a signed request is not a JSON object (or, for the batch endpoint, an array
    /// of objects), so no signed string can be rebuilt from it.
    #[error("Invalid request body")]
    MalformedBody,
    /// No instruction is defined for this method and path.
    #[error("Not Found")]
    UnknownEndpoint,
    /// The key lacks the permission the instruction needs.
    #[error("API key does not have permission for this request")]
    Forbidden,
    /// A token bucket (per key or per IP) is empty.
    #[error("Too many requests")]
    RateLimited {
        /// Milliseconds until the bucket holds enough for one request.
        retry_after_ms: u64,
    },
    /// The replay cache is at its hard cap; new requests are refused rather than letting it grow.
    #[error("Too many requests")]
    ReplayCacheFull,
}

impl AuthError {
    /// The Backpack `ApiErrorCode` for the error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingHeader(_) | Self::InvalidApiKey | Self::UnknownApiKey => "UNAUTHORIZED",
            // The venue's FAQ lists INVALID_CLIENT_REQUEST for bad signatures, but CCXT maps that
            // code to BadRequest; INVALID_SIGNATURE is a valid ApiErrorCode that CCXT (and the
            // SDK's error classes) treat as an authentication failure, which is what it is.
            Self::InvalidSignature => "INVALID_SIGNATURE",
            Self::InvalidHeader(_)
            | Self::WindowTooLarge
            | Self::Expired
            | Self::FromFuture
            | Self::Replayed
            | Self::MalformedBody => "INVALID_CLIENT_REQUEST",
            Self::UnknownEndpoint => "RESOURCE_NOT_FOUND",
            Self::Forbidden => "FORBIDDEN",
            Self::RateLimited { .. } | Self::ReplayCacheFull => "TOO_MANY_REQUESTS",
        }
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            Self::MissingHeader(_)
            | Self::InvalidApiKey
            | Self::UnknownApiKey
            | Self::InvalidSignature
            | Self::Expired
            | Self::FromFuture
            | Self::Replayed => 401,
            Self::InvalidHeader(_) | Self::WindowTooLarge | Self::MalformedBody => 400,
            Self::Forbidden => 403,
            Self::UnknownEndpoint => 404,
            Self::RateLimited { .. } | Self::ReplayCacheFull => 429,
        }
    }

    /// For 429 answers: how long the client should wait, in ms (for a `Retry-After` header).
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_ms } => Some(*retry_after_ms),
            Self::ReplayCacheFull => Some(1000),
            _ => None,
        }
    }
}
