//! `rucksack admin`: operator commands against a running server, authorised by the admin token.

use std::path::Path;

use anyhow::Context;
use serde_json::{Value, json};

use rucksack_api::auth::{ApiKeyText, Permissions, Signer};

use crate::http;

/// Where the admin token comes from: the flag, `RUCKSACK_ADMIN_TOKEN`, or the data directory.
pub fn resolve_token(flag: Option<String>, data_dir: &Path) -> anyhow::Result<String> {
    if let Some(token) = flag.or_else(|| std::env::var("RUCKSACK_ADMIN_TOKEN").ok()) {
        return Ok(token);
    }
    let path = data_dir.join("admin.token");
    std::fs::read_to_string(&path)
        .map(|t| t.trim().to_string())
        .with_context(|| format!("no admin token: pass --token, set RUCKSACK_ADMIN_TOKEN, or point --data-dir at the server's data ({} is unreadable)", path.display()))
}

pub struct Admin {
    pub server: String,
    pub token: String,
}

impl Admin {
    /// An admin route's JSON answer; any other status than 200 is an error carrying the
    /// server's answer.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let bearer = format!("Bearer {}", self.token);
        let body = body.map(Value::to_string);
        let response = http::request(&self.server, method, path, &[("Authorization", &bearer)], body.as_deref())?;
        anyhow::ensure!(response.status == 200, "{path} answered {}: {}", response.status, response.body);
        Ok(serde_json::from_str(&response.body)?)
    }

    fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.call("POST", path, Some(body))
    }

    /// Creates an account with a fresh ED25519 key; the secret never leaves this process.
    pub fn create_account(&self, funds: &[(String, String)]) -> anyhow::Result<Value> {
        self.create_account_with(funds, Permissions::ALL)
    }

    /// Creates an account whose key may only do what `permissions` allows.
    pub fn create_account_with(&self, funds: &[(String, String)], permissions: Permissions) -> anyhow::Result<Value> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness for a key: {e}"))?;
        let signer = Signer::from_seed(&seed);
        let (secret, public) = (signer.secret_base64(), signer.api_key().to_base64());
        let names: Vec<&str> =
            [(Permissions::READ, "read"), (Permissions::TRADE, "trade"), (Permissions::WITHDRAW, "withdraw")]
                .into_iter()
                .filter(|(p, _)| permissions.contains(*p))
                .map(|(_, name)| name)
                .collect();
        let created = self.post("/admin/v1/accounts", &json!({ "apiKey": public, "permissions": names }))?;
        let account = created["accountId"].as_u64().ok_or_else(|| anyhow::anyhow!("unexpected reply {created}"))?;
        for (asset, amount) in funds {
            self.fund(account, asset, amount)?;
        }
        Ok(json!({ "accountId": account, "apiKey": public, "apiSecret": secret }))
    }

    /// Credits a deposit under a fresh transaction id.
    pub fn fund(&self, account: u64, asset: &str, amount: &str) -> anyhow::Result<Value> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let tx: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        self.post(
            "/admin/v1/deposits",
            &json!({ "accountId": account, "asset": asset, "amount": amount, "txId": format!("admin-{tx}") }),
        )
    }

    /// Pins the demo oracle's price for `asset` and makes it the index price.
    pub fn set_price(&self, asset: &str, price: &str) -> anyhow::Result<Value> {
        self.post("/admin/v1/prices", &json!({ "asset": asset, "price": price }))
    }

    /// Publishes an index price without pinning the oracle: what the oracle itself does.
    pub fn publish_index_price(&self, asset: &str, price: &str) -> anyhow::Result<Value> {
        self.post("/admin/v1/prices", &json!({ "asset": asset, "price": price, "pin": false }))
    }

    /// Moves a manual clock forward by `seconds`.
    pub fn advance_clock(&self, seconds: u64) -> anyhow::Result<Value> {
        self.post("/admin/v1/clock", &json!({ "seconds": seconds }))
    }

    pub fn markets(&self) -> anyhow::Result<Value> {
        let response = http::request(&self.server, "GET", "/api/v1/markets", &[], None)?;
        anyhow::ensure!(response.status == 200, "markets answered {}: {}", response.status, response.body);
        Ok(serde_json::from_str(&response.body)?)
    }
}

/// Parses `ASSET=AMOUNT`.
pub fn parse_fund(text: &str) -> anyhow::Result<(String, String)> {
    let (asset, amount) = text.split_once('=').ok_or_else(|| anyhow::anyhow!("expected ASSET=AMOUNT, got {text}"))?;
    anyhow::ensure!(!asset.is_empty() && !amount.is_empty(), "expected ASSET=AMOUNT, got {text}");
    Ok((asset.to_string(), amount.to_string()))
}

/// Parses a duration like `90s`, `15m`, `1h` or `2d` into seconds.
pub fn parse_duration(text: &str) -> anyhow::Result<u64> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| anyhow::anyhow!("expected a duration like 90s, 15m, 1h or 2d"))?;
    let scale = match unit {
        "s" | "" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => anyhow::bail!("unknown duration unit {unit:?} (use s, m, h or d)"),
    };
    number.checked_mul(scale).ok_or_else(|| anyhow::anyhow!("duration too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_funds_parse() {
        assert_eq!(parse_duration("90s").unwrap(), 90);
        assert_eq!(parse_duration("15m").unwrap(), 900);
        assert_eq!(parse_duration("1h").unwrap(), 3_600);
        assert_eq!(parse_duration("2d").unwrap(), 172_800);
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("h").is_err());
        assert_eq!(parse_fund("USDC=10.5").unwrap(), ("USDC".to_string(), "10.5".to_string()));
        assert!(parse_fund("USDC").is_err());
    }
}
