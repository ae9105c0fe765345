//! Key material: the API key (an ED25519 public key) and the permissions granted to it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::VerifyingKey;

/// Malformed key material (API key, signature or secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid key material: {0}")]
pub struct KeyError(pub &'static str);

pub use rucksack_types::{ApiKey, Permissions};

/// The wire form of an [`ApiKey`]: standard padded base64 of the 32 public-key bytes.
pub trait ApiKeyText: Sized {
    /// Parses base64 of exactly 32 bytes that decode to a valid ED25519 point.
    fn from_base64(text: &str) -> Result<Self, KeyError>;
    fn to_base64(&self) -> String;
    fn verifying_key(&self) -> Option<VerifyingKey>;
}

impl ApiKeyText for ApiKey {
    fn from_base64(text: &str) -> Result<ApiKey, KeyError> {
        let bytes = decode_fixed::<32>(text.trim()).ok_or(KeyError("API key must be base64 of 32 bytes"))?;
        VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError("API key is not an ED25519 public key"))?;
        Ok(ApiKey(bytes))
    }

    fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    fn verifying_key(&self) -> Option<VerifyingKey> {
        VerifyingKey::from_bytes(&self.0).ok()
    }
}

/// Decodes standard padded base64 that must hold exactly `N` bytes.
pub(crate) fn decode_fixed<const N: usize>(text: &str) -> Option<[u8; N]> {
    // Reject oversized input before allocating for it.
    if text.len() > N.div_ceil(3) * 4 {
        return None;
    }
    STANDARD.decode(text).ok()?.try_into().ok()
}
