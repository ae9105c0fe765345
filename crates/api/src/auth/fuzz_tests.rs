//! Property tests: arbitrary input never panics the verifier, and whatever a client signs verifies.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

const TS: u64 = 1_700_000_000_000;

fn signer() -> Signer {
    Signer::from_seed(&[42; 32])
}

/// Any JSON document, nested a few levels.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        any::<String>().prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        any::<String>().prop_map(String::into_bytes),
    ]
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["GET", "POST", "DELETE", "PATCH", "PUT", "get", "SUBSCRIBE"]).prop_map(String::from),
        any::<String>(),
    ]
}

fn path() -> impl Strategy<Value = String> {
    let known: Vec<String> = SIGNED_ENDPOINTS.iter().map(|(_, p, _)| (*p).to_owned()).collect();
    prop_oneof![4 => prop::sample::select(known), 1 => any::<String>()]
}

fn header(valid: String) -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![Just(valid), any::<String>(), "[0-9]{0,25}", "[A-Za-z0-9+/]{0,90}={0,2}",])
}

/// Form-encodes like Python `requests`: unreserved bytes kept, space as `+`, the rest `%XX`.
fn form_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b' ' => out.push('+'),
            b if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) => out.push(char::from(b)),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Python `urllib.parse.quote(text, safe='')`, as CCXT applies to every key and value.
fn ccxt_quote(text: &str) -> String {
    form_encode(text).replace('+', "%20")
}

fn is_python_bool(value: &str) -> bool {
    value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Nothing a client can send makes verification panic, and a bad signature costs a bounded
    /// number of verifications.
    #[test]
    fn verifier_never_panics(
        method in method(),
        path in path(),
        query in prop::option::of(any::<String>()),
        body in body(),
        api_key in header(signer().api_key().to_base64()),
        signature in header("AAAA".repeat(21) + "AA=="),
        timestamp in header(TS.to_string()),
        window in header("5000".to_owned()),
        broker_id in prop::option::of(any::<String>()),
        now in prop_oneof![Just(TS), any::<u64>()],
    ) {
        let request = RequestParts::new(&method, &path, query.as_deref(), &body);
        let headers = AuthHeaders {
            api_key: api_key.as_deref(),
            signature: signature.as_deref(),
            timestamp: timestamp.as_deref(),
            window: window.as_deref(),
            broker_id: broker_id.as_deref(),
        };
        let result = verify_request(&request, &headers, now);
        if let Err(err) = &result {
            prop_assert!(matches!(err.status(), 400 | 401 | 403 | 404 | 429));
            prop_assert!(!err.code().is_empty());
        }
        if let Ok(candidates) = signing_candidates(&request, "orderExecute", "1", "5000") {
            prop_assert!(!candidates.is_empty() && candidates.len() <= 12);
        }
        let _ = verify_subscribe(&headers, now);
    }

    /// Arbitrary bytes as the body of every signed endpoint, including the batch one.
    #[test]
    fn arbitrary_bodies_never_panic(body in body(), endpoint in prop::sample::select(SIGNED_ENDPOINTS.to_vec())) {
        let (method, path, instruction) = endpoint;
        let request = RequestParts::new(method, path, None, &body);
        let _ = signing_string(&request, instruction, "1", "5000");
        let signed = signer().sign_message("anything");
        let key = signer().api_key().to_base64();
        let headers = AuthHeaders { api_key: Some(&key), signature: Some(&signed), timestamp: Some("1"), ..AuthHeaders::default() };
        prop_assert!(verify_request(&request, &headers, 1).is_err());
    }

    /// Arbitrary query strings: rebuilding never panics, and the order of distinct keys does
    /// not matter.
    #[test]
    fn arbitrary_queries_never_panic(query in any::<String>(), pairs in prop::collection::btree_map("[a-z]{1,6}", ".*", 0..6)) {
        let request = RequestParts::new("GET", "/api/v1/orders", Some(&query), b"");
        let _ = signing_candidates(&request, "orderQueryAll", "1", "5000");

        let forward: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", form_encode(v))).collect();
        let backward: Vec<String> = forward.iter().rev().cloned().collect();
        let a = signing_string(&RequestParts::new("GET", "/api/v1/orders", Some(&forward.join("&")), b""), "x", "1", "2");
        let b = signing_string(&RequestParts::new("GET", "/api/v1/orders", Some(&backward.join("&")), b""), "x", "1", "2");
        prop_assert_eq!(a, b);
    }

    /// Whatever object body a client signs (bpx-py style: sorted pairs, raw values) verifies,
    /// whatever the key order in the body.
    #[test]
    fn signed_bodies_verify(
        params in prop::collection::btree_map("[a-zA-Z]{1,10}", prop_oneof![
            any::<String>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<bool>().prop_map(serde_json::Value::from),
        ], 0..8),
        reverse in any::<bool>(),
    ) {
        let rendered: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.clone(), match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            }))
            .collect();
        let pairs: Vec<(&str, &str)> = rendered.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let signed = signer().sign_params("orderExecute", &pairs, TS, Some(5000));

        let mut entries: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{}:{}", serde_json::Value::from(k.as_str()), v))
            .collect();
        if reverse {
            entries.reverse();
        }
        let body = format!("{{{}}}", entries.join(","));
        let request = RequestParts::new("POST", "/api/v1/order", None, body.as_bytes());
        let verified = verify_request(&request, &signed.auth_headers(), TS);
        prop_assert!(verified.is_ok(), "{:?} for {}", verified, body);
    }

    /// Whatever query a client signs verifies: raw values (bpx-py, form-encoded on the wire) and
    /// CCXT's percent-encoded values (also percent-encoded on the wire).
    #[test]
    fn signed_queries_verify(
        params in prop::collection::btree_map("[a-zA-Z]{1,10}", any::<String>(), 0..8),
    ) {
        let params: BTreeMap<String, String> = params.into_iter().filter(|(_, v)| !is_python_bool(v)).collect();
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", form_encode(v))).collect();
        let query = query.join("&");
        let request = RequestParts::new("GET", "/wapi/v1/history/orders", Some(&query), b"");

        let signed = signer().sign_params("orderHistoryQueryAll", &pairs, TS, Some(5000));
        let verified = verify_request(&request, &signed.auth_headers(), TS);
        prop_assert!(verified.is_ok(), "{:?} for {}", verified, query);

        let encoded: Vec<(String, String)> = params.iter().map(|(k, v)| (ccxt_quote(k), ccxt_quote(v))).collect();
        let encoded_pairs: Vec<(&str, &str)> = encoded.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let signed = signer().sign_params("orderHistoryQueryAll", &encoded_pairs, TS, Some(5000));
        let ccxt_query: Vec<String> = encoded.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let ccxt_query = ccxt_query.join("&");
        let ccxt_request = RequestParts::new("GET", "/wapi/v1/history/orders", Some(&ccxt_query), b"");
        let verified = verify_request(&ccxt_request, &signed.auth_headers(), TS);
        prop_assert!(verified.is_ok(), "{:?} for {:?}", verified, ccxt_query);
    }

    /// A valid signature over one request never verifies another.
    #[test]
    fn changed_value_fails(value in "[A-Za-z0-9_]{1,12}", other in "[A-Za-z0-9_]{1,12}") {
        prop_assume!(value != other);
        let signed = signer().sign_params("orderCancel", &[("symbol", &value)], TS, Some(5000));
        let body = format!("{{\"symbol\":\"{other}\"}}");
        let request = RequestParts::new("DELETE", "/api/v1/order", None, body.as_bytes());
        prop_assert_eq!(verify_request(&request, &signed.auth_headers(), TS), Err(AuthError::InvalidSignature));
    }
}
