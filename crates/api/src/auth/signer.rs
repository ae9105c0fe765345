//! The client side of authentication: signing requests the way Backpack's clients do.
//!
//! Used by tests, the load generator and admin tools. Holding a private key is the only thing
//! here the server itself never needs.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer as _, SigningKey};

use super::error::AuthError;
use super::headers::AuthHeaders;
use super::instruction::instruction_for;
use super::keys::{ApiKey, ApiKeyText, KeyError};
use super::signing::{DEFAULT_WINDOW_MS, RequestParts, signing_string, subscribe_signing_string};

/// Signs requests with one ED25519 key.
#[derive(Clone)]
pub struct Signer {
    key: SigningKey,
    api_key: ApiKey,
}

/// The headers of a signed request, plus the string that was signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `X-API-Key`.
    pub api_key: String,
    /// `X-Signature`.
    pub signature: String,
    /// `X-Timestamp`.
    pub timestamp: String,
    /// `X-Window`; `None` sends no header (the server then assumes 5000).
    pub window: Option<String>,
    /// The signed string, for debugging.
    pub signed: String,
}

impl SignedHeaders {
    /// The headers as the server reads them.
    pub fn auth_headers(&self) -> AuthHeaders<'_> {
        AuthHeaders {
            api_key: Some(&self.api_key),
            signature: Some(&self.signature),
            timestamp: Some(&self.timestamp),
            window: self.window.as_deref(),
            broker_id: None,
        }
    }

    /// `(name, value)` pairs to put on an HTTP request.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        let mut pairs = vec![
            (AuthHeaders::API_KEY, self.api_key.as_str()),
            (AuthHeaders::SIGNATURE, self.signature.as_str()),
            (AuthHeaders::TIMESTAMP, self.timestamp.as_str()),
        ];
        if let Some(window) = &self.window {
            pairs.push((AuthHeaders::WINDOW, window.as_str()));
        }
        pairs
    }

    /// The `"signature"` array of a WebSocket `SUBSCRIBE` frame: `[apiKey, signature, ts, window]`.
    pub fn ws_signature(&self) -> [String; 4] {
        [
            self.api_key.clone(),
            self.signature.clone(),
            self.timestamp.clone(),
            self.window.clone().unwrap_or_else(|| DEFAULT_WINDOW_MS.to_string()),
        ]
    }
}

impl Signer {
    /// From the 32-byte private seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let key = SigningKey::from_bytes(seed);
        let api_key = ApiKey::from_bytes(key.verifying_key().to_bytes());
        Self { key, api_key }
    }

    /// From the base64 secret clients are configured with. Like CCXT, only the first 32 decoded
    /// bytes are the seed, so a 64-byte "seed + public key" secret works too.
    pub fn from_secret_base64(secret: &str) -> Result<Self, KeyError> {
        let bytes = STANDARD.decode(secret.trim()).map_err(|_| KeyError("secret is not base64"))?;
        let seed: [u8; 32] = bytes
            .get(..32)
            .and_then(|seed| seed.try_into().ok())
            .ok_or(KeyError("secret must hold at least 32 bytes"))?;
        Ok(Self::from_seed(&seed))
    }

    /// The API key (public key) to register for this signer.
    pub fn api_key(&self) -> ApiKey {
        self.api_key
    }

    /// The secret in the base64 form clients are configured with.
    pub fn secret_base64(&self) -> String {
        STANDARD.encode(self.key.to_bytes())
    }

    /// The base64 signature of `message`.
    pub fn sign_message(&self, message: &str) -> String {
        STANDARD.encode(self.key.sign(message.as_bytes()).to_bytes())
    }

    /// Signs an HTTP request as it will be sent, with the instruction from the endpoint table
    /// and the parameters taken from its body or query string (raw rendering).
    pub fn sign_request(
        &self,
        request: &RequestParts<'_>,
        timestamp_ms: u64,
        window_ms: Option<u64>,
    ) -> Result<SignedHeaders, AuthError> {
        let instruction = instruction_for(request.method, request.path).ok_or(AuthError::UnknownEndpoint)?;
        let timestamp = timestamp_ms.to_string();
        let window = window_ms.unwrap_or(DEFAULT_WINDOW_MS).to_string();
        let signed = signing_string(request, instruction, &timestamp, &window)?;
        Ok(self.headers(signed, timestamp, window_ms))
    }

    /// Signs `instruction` with `params` the way bpx-py and the SDK do: pairs sorted by key,
    /// values as given.
    pub fn sign_params(
        &self,
        instruction: &str,
        params: &[(&str, &str)],
        timestamp_ms: u64,
        window_ms: Option<u64>,
    ) -> SignedHeaders {
        let window = window_ms.unwrap_or(DEFAULT_WINDOW_MS);
        let signed = client_signing_string(instruction, params, timestamp_ms, window);
        self.headers(signed, timestamp_ms.to_string(), window_ms)
    }

    /// Signs a batch of orders (`POST /api/v1/orders`) the way the clients do.
    pub fn sign_batch(&self, orders: &[&[(&str, &str)]], timestamp_ms: u64, window_ms: Option<u64>) -> SignedHeaders {
        let window = window_ms.unwrap_or(DEFAULT_WINDOW_MS);
        let signed = client_batch_signing_string("orderExecute", orders, timestamp_ms, window);
        self.headers(signed, timestamp_ms.to_string(), window_ms)
    }

    /// Signs a private WebSocket subscription; the window is always sent.
    pub fn sign_subscribe(&self, timestamp_ms: u64, window_ms: u64) -> SignedHeaders {
        let (timestamp, window) = (timestamp_ms.to_string(), window_ms.to_string());
        let signed = subscribe_signing_string(&timestamp, &window);
        self.headers(signed, timestamp, Some(window_ms))
    }

    fn headers(&self, signed: String, timestamp: String, window_ms: Option<u64>) -> SignedHeaders {
        SignedHeaders {
            api_key: self.api_key.to_base64(),
            signature: self.sign_message(&signed),
            timestamp,
            window: window_ms.map(|w| w.to_string()),
            signed,
        }
    }
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        f.debug_struct("Signer").field("api_key", &self.api_key).finish_non_exhaustive()
    }
}

/// The string bpx-py / the SDK sign: `instruction=I`, then `&k=v` for the pairs sorted by key,
/// then `&timestamp=T&window=W`.
pub fn client_signing_string(instruction: &str, params: &[(&str, &str)], timestamp_ms: u64, window_ms: u64) -> String {
    let mut out = format!("instruction={instruction}");
    push_sorted(&mut out, params);
    out.push_str(&format!("&timestamp={timestamp_ms}&window={window_ms}"));
    out
}

/// The batch form: one `instruction=I&<sorted pairs>` per order joined by `&`, then
/// `&timestamp=T&window=W`.
pub fn client_batch_signing_string(
    instruction: &str,
    orders: &[&[(&str, &str)]],
    timestamp_ms: u64,
    window_ms: u64,
) -> String {
    let mut out = String::new();
    for (n, order) in orders.iter().enumerate() {
        if n > 0 {
            out.push('&');
        }
        out.push_str("instruction=");
        out.push_str(instruction);
        push_sorted(&mut out, order);
    }
    out.push_str(&format!("&timestamp={timestamp_ms}&window={window_ms}"));
    out
}

fn push_sorted(out: &mut String, params: &[(&str, &str)]) {
    let mut sorted = params.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    for (key, value) in sorted {
        out.push('&');
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
}
