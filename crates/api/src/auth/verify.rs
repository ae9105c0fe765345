//! Checking a request's credentials: headers, time window and signature.

use ed25519_dalek::{Signature, VerifyingKey};

use super::error::AuthError;
use super::headers::AuthHeaders;
use super::instruction::{WS_SUBSCRIBE_INSTRUCTION, instruction_for};
use super::keys::{ApiKey, ApiKeyText, decode_fixed};
use super::signing::{
    DEFAULT_WINDOW_MS, MAX_WINDOW_MS, Rendering, RequestParts, signing_candidates, subscribe_signing_string,
};

/// Parsed, well-formed credentials of one request (not yet verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    api_key: ApiKey,
    signature: [u8; 64],
    timestamp_ms: u64,
    window_ms: u64,
    // The header texts as sent: they, not a re-rendering of the numbers, are what was signed.
    timestamp_text: String,
    window_text: String,
}

/// A request whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The key that signed it.
    pub api_key: ApiKey,
    /// The instruction it was signed with.
    pub instruction: &'static str,
    /// `X-Timestamp`.
    pub timestamp_ms: u64,
    /// `X-Window` (or the default).
    pub window_ms: u64,
    /// The decoded signature (what replay protection remembers).
    pub signature: [u8; 64],
    /// Which rendering of the parameters matched.
    pub rendering: Rendering,
}

impl Verified {
    /// Last millisecond at which the request is still inside its window.
    pub fn expires_at_ms(&self) -> u64 {
        self.timestamp_ms.saturating_add(self.window_ms)
    }
}

impl Credentials {
    /// Parses the headers. Missing `X-API-Key`/`X-Signature`/`X-Timestamp` and malformed keys are
    /// `UNAUTHORIZED`; a non-integer timestamp or window, or a window above 60000, is a 400; a
    /// signature that is not base64 of 64 bytes is `INVALID_SIGNATURE`.
    pub fn from_headers(headers: &AuthHeaders<'_>) -> Result<Self, AuthError> {
        let api_key = headers.api_key.ok_or(AuthError::MissingHeader(AuthHeaders::API_KEY))?;
        let signature = headers.signature.ok_or(AuthError::MissingHeader(AuthHeaders::SIGNATURE))?;
        let timestamp = headers.timestamp.ok_or(AuthError::MissingHeader(AuthHeaders::TIMESTAMP))?.trim();

        // Only the encoding is checked here; whether the bytes are a curve point is checked when
        // the key is decompressed for verification, once per key when the caller caches it.
        let api_key = ApiKey(decode_fixed::<32>(api_key.trim()).ok_or(AuthError::InvalidApiKey)?);
        let timestamp_ms = parse_ms(timestamp).ok_or(AuthError::InvalidHeader(AuthHeaders::TIMESTAMP))?;
        let (window_ms, window_text) = match headers.window {
            None => (DEFAULT_WINDOW_MS, DEFAULT_WINDOW_MS.to_string()),
            Some(window) => {
                let window = window.trim();
                let ms = parse_ms(window).ok_or(AuthError::InvalidHeader(AuthHeaders::WINDOW))?;
                (ms, window.to_owned())
            }
        };
        if window_ms > MAX_WINDOW_MS {
            return Err(AuthError::WindowTooLarge);
        }
        let signature = decode_fixed::<64>(signature.trim()).ok_or(AuthError::InvalidSignature)?;
        Ok(Self { api_key, signature, timestamp_ms, window_ms, timestamp_text: timestamp.to_owned(), window_text })
    }

    /// The key the request claims to be signed by.
    pub fn api_key(&self) -> &ApiKey {
        &self.api_key
    }

    /// `X-Timestamp`.
    pub fn timestamp_ms(&self) -> u64 {
        self.timestamp_ms
    }

    /// `X-Window` or the default.
    pub fn window_ms(&self) -> u64 {
        self.window_ms
    }

    /// Rejects a request outside its window: expired when `now_ms > timestamp + window`, from the
    /// future when `timestamp > now_ms + window` (the venue documents no bound; the window is
    /// the natural tolerance for clock skew).
    pub fn check_time(&self, now_ms: u64) -> Result<(), AuthError> {
        if now_ms > self.timestamp_ms.saturating_add(self.window_ms) {
            return Err(AuthError::Expired);
        }
        if self.timestamp_ms > now_ms.saturating_add(self.window_ms) {
            return Err(AuthError::FromFuture);
        }
        Ok(())
    }

    /// Verifies the signature over the request (not the time: see [`Credentials::check_time`]).
    pub fn verify_request(&self, request: &RequestParts<'_>) -> Result<Verified, AuthError> {
        let key = self.api_key.verifying_key().ok_or(AuthError::InvalidApiKey)?;
        self.verify_request_with(&key, request)
    }

    /// [`Credentials::verify_request`] with the claimed key already decompressed (decompressing
    /// costs about a third of a verification, so gateways keep them).
    pub fn verify_request_with(&self, key: &VerifyingKey, request: &RequestParts<'_>) -> Result<Verified, AuthError> {
        let instruction = instruction_for(request.method, request.path).ok_or(AuthError::UnknownEndpoint)?;
        let candidates = signing_candidates(request, instruction, &self.timestamp_text, &self.window_text)?;
        self.verify_candidates(key, instruction, candidates)
    }

    /// Verifies the signature of a private WebSocket subscription.
    pub fn verify_subscribe(&self) -> Result<Verified, AuthError> {
        let key = self.api_key.verifying_key().ok_or(AuthError::InvalidApiKey)?;
        self.verify_subscribe_with(&key)
    }

    /// [`Credentials::verify_subscribe`] with the claimed key already decompressed.
    pub fn verify_subscribe_with(&self, key: &VerifyingKey) -> Result<Verified, AuthError> {
        let message = subscribe_signing_string(&self.timestamp_text, &self.window_text);
        self.verify_candidates(key, WS_SUBSCRIBE_INSTRUCTION, [(Rendering::Raw, message)])
    }

    fn verify_candidates(
        &self,
        key: &VerifyingKey,
        instruction: &'static str,
        candidates: impl IntoIterator<Item = (Rendering, String)>,
    ) -> Result<Verified, AuthError> {
        let signature = Signature::from_bytes(&self.signature);
        let rendering = candidates
            .into_iter()
            .find(|(_, message)| key.verify_strict(message.as_bytes(), &signature).is_ok())
            .map(|(rendering, _)| rendering)
            .ok_or(AuthError::InvalidSignature)?;
        Ok(Verified {
            api_key: self.api_key,
            instruction,
            timestamp_ms: self.timestamp_ms,
            window_ms: self.window_ms,
            signature: self.signature,
            rendering,
        })
    }
}

/// Parses headers, checks the window at `now_ms`, and verifies the signature over the request.
/// Does not look the key up, rate-limit or check for replays: see
/// [`Authenticator`](super::Authenticator) for the full sequence.
pub fn verify_request(
    request: &RequestParts<'_>,
    headers: &AuthHeaders<'_>,
    now_ms: u64,
) -> Result<Verified, AuthError> {
    let credentials = Credentials::from_headers(headers)?;
    credentials.check_time(now_ms)?;
    credentials.verify_request(request)
}

/// [`verify_request`] for a private WebSocket `SUBSCRIBE` (headers from
/// [`AuthHeaders::from_ws_signature`]).
pub fn verify_subscribe(headers: &AuthHeaders<'_>, now_ms: u64) -> Result<Verified, AuthError> {
    let credentials = Credentials::from_headers(headers)?;
    credentials.check_time(now_ms)?;
    credentials.verify_subscribe()
}

/// A millisecond count: decimal digits only (no sign, no exponent), fitting in `u64`.
fn parse_ms(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}
