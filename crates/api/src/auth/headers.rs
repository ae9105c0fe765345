//! The authentication headers of a request, however the caller stores them.

/// The header values that authenticate a request. Absent headers are `None`; checking them is
/// [`Credentials::from_headers`](super::Credentials::from_headers)' job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthHeaders<'a> {
    /// `X-API-Key`.
    pub api_key: Option<&'a str>,
    /// `X-Signature`.
    pub signature: Option<&'a str>,
    /// `X-Timestamp`.
    pub timestamp: Option<&'a str>,
    /// `X-Window`.
    pub window: Option<&'a str>,
    /// `X-Broker-Id`: accepted and ignored (CCXT sends `1400` on every private request).
    pub broker_id: Option<&'a str>,
}

impl<'a> AuthHeaders<'a> {
    /// `X-API-Key`.
    pub const API_KEY: &'static str = "X-API-Key";
    /// `X-Signature`.
    pub const SIGNATURE: &'static str = "X-Signature";
    /// `X-Timestamp`.
    pub const TIMESTAMP: &'static str = "X-Timestamp";
    /// `X-Window`.
    pub const WINDOW: &'static str = "X-Window";
    /// `X-Broker-Id`.
    pub const BROKER_ID: &'static str = "X-Broker-Id";

    /// Reads the headers through a lookup function, called with lower-case names
    /// (`"x-api-key"`, ...). Header maps that fold case (like `http::HeaderMap`) can be used
    /// directly: `AuthHeaders::from_fn(|name| map.get(name).and_then(|v| v.to_str().ok()))`.
    pub fn from_fn(mut lookup: impl FnMut(&'static str) -> Option<&'a str>) -> Self {
        Self {
            api_key: lookup("x-api-key"),
            signature: lookup("x-signature"),
            timestamp: lookup("x-timestamp"),
            window: lookup("x-window"),
            broker_id: lookup("x-broker-id"),
        }
    }

    /// Picks the headers out of `(name, value)` pairs, matching names case-insensitively. When a
    /// header repeats, the first occurrence wins.
    pub fn from_pairs<I>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut headers = Self::default();
        for (name, value) in pairs {
            let slot = if name.eq_ignore_ascii_case(Self::API_KEY) {
                &mut headers.api_key
            } else if name.eq_ignore_ascii_case(Self::SIGNATURE) {
                &mut headers.signature
            } else if name.eq_ignore_ascii_case(Self::TIMESTAMP) {
                &mut headers.timestamp
            } else if name.eq_ignore_ascii_case(Self::WINDOW) {
                &mut headers.window
            } else if name.eq_ignore_ascii_case(Self::BROKER_ID) {
                &mut headers.broker_id
            } else {
                continue;
            };
            if slot.is_none() {
                *slot = Some(value);
            }
        }
        headers
    }

    /// From the `"signature"` array of a private WebSocket `SUBSCRIBE` frame:
    /// `[apiKey, signature, timestamp, window]` (a missing window means the default). Numbers in
    /// that array must be passed as their decimal text.
    pub fn from_ws_signature(parts: &[&'a str]) -> Self {
        Self {
            api_key: parts.first().copied(),
            signature: parts.get(1).copied(),
            timestamp: parts.get(2).copied(),
            window: parts.get(3).copied(),
            broker_id: None,
        }
    }
}
