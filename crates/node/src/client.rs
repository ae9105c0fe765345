//! A signed API client over the minimal HTTP client: what the demo bots and the tests use to
//! talk to the exchange exactly as an outside trader would.

use serde_json::Value;

use rucksack_api::auth::{RequestParts, Signer};

use crate::http;

pub struct ApiClient {
    pub server: String,
    pub signer: Signer,
}

impl ApiClient {
    pub fn new(server: &str, secret_base64: &str) -> anyhow::Result<ApiClient> {
        let signer = Signer::from_secret_base64(secret_base64).map_err(|e| anyhow::anyhow!("bad API secret: {e}"))?;
        Ok(ApiClient { server: server.to_string(), signer })
    }

    /// Sends a signed request; the query (without `?`) for GET, the JSON body otherwise.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let body_text = body.map(Value::to_string);
        let parts = RequestParts { method, path, query, body: body_text.as_deref().unwrap_or("").as_bytes() };
        let now = rucksack_api::server::now_ms();
        let signed = self.signer.sign_request(&parts, now, None).map_err(|e| anyhow::anyhow!("signing {path}: {e}"))?;
        let target = match query {
            Some(query) => format!("{path}?{query}"),
            None => path.to_string(),
        };
        let response = http::request(&self.server, method, &target, &signed.pairs(), body_text.as_deref())?;
        let value = serde_json::from_str(&response.body).unwrap_or(Value::String(response.body));
        Ok((response.status, value))
    }

    /// A public GET.
    pub fn public(&self, path_and_query: &str) -> anyhow::Result<(u16, Value)> {
        let response = http::request(&self.server, "GET", path_and_query, &[], None)?;
        let value = serde_json::from_str(&response.body).unwrap_or(Value::String(response.body));
        Ok((response.status, value))
    }
}
