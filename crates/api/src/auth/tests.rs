use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;

/// Seed of the reference test vectors: bytes 01 02 .. 20.
fn seed() -> [u8; 32] {
    std::array::from_fn(|i| i as u8 + 1)
}

fn signer() -> Signer {
    Signer::from_seed(&seed())
}

const VECTOR_API_KEY: &str = "ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ=";
const VECTOR_SECRET: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
const TS: u64 = 1_614_550_000_000;
const TS_TEXT: &str = "1614550000000";

fn headers<'a>(api_key: &'a str, signature: &'a str, timestamp: &'a str, window: Option<&'a str>) -> AuthHeaders<'a> {
    AuthHeaders {
        api_key: Some(api_key),
        signature: Some(signature),
        timestamp: Some(timestamp),
        window,
        broker_id: None,
    }
}

/// The signed string the verifier rebuilds for `request`, in canonical form.
fn rebuilt(request: &RequestParts<'_>) -> String {
    let instruction = instruction_for(request.method, request.path).expect("signed endpoint");
    signing_string(request, instruction, TS_TEXT, "5000").expect("rebuildable")
}

/// Signs `message` with the test seed and verifies `request` against it at `TS`.
fn verify_signed(request: &RequestParts<'_>, message: &str) -> Result<Verified, AuthError> {
    let signature = signer().sign_message(message);
    verify_request(request, &headers(VECTOR_API_KEY, &signature, TS_TEXT, Some("5000")), TS)
}

// ---- reference test vectors (§2.6) ------------------------------------------------------------

#[test]
fn vector_keys_match_seed() {
    let signer = signer();
    assert_eq!(signer.api_key().to_base64(), VECTOR_API_KEY);
    assert_eq!(signer.secret_base64(), VECTOR_SECRET);
    assert_eq!(Signer::from_secret_base64(VECTOR_SECRET).unwrap().api_key(), signer.api_key());
    assert_eq!(ApiKey::from_base64(VECTOR_API_KEY).unwrap(), signer.api_key());
}

#[test]
fn vector_order_cancel() {
    let request = RequestParts::new("DELETE", "/api/v1/order", None, br#"{"orderId":"28","symbol":"BTC_USDT"}"#);
    let expected = "instruction=orderCancel&orderId=28&symbol=BTC_USDT&timestamp=1614550000000&window=5000";
    assert_eq!(rebuilt(&request), expected);
    let signature = "E7UijHVsR5NAdTGNA8aOPfAGdwe6Qu5oVcEJPNdG8Kx9HxV2pX+U3IsodvFn1MUHh0CuD+AhMMnJJvtPEat9DA==";
    assert_eq!(signer().sign_message(expected), signature);
    let verified = verify_request(&request, &headers(VECTOR_API_KEY, signature, TS_TEXT, Some("5000")), TS).unwrap();
    assert_eq!(verified.instruction, "orderCancel");
    assert_eq!(verified.rendering, Rendering::Raw);
    assert_eq!(verified.expires_at_ms(), TS + 5000);
    // Without X-Window the default 5000 is what was signed.
    verify_request(&request, &headers(VECTOR_API_KEY, signature, TS_TEXT, None), TS).unwrap();
}

#[test]
fn vector_ccxt_order_execute() {
    let body = br#"{"clientId":123,"orderType":"Limit","postOnly":true,"price":"150.5","quantity":"1.5","side":"Bid","symbol":"SOL_USDC","timeInForce":"GTC"}"#;
    let request = RequestParts::new("POST", "/api/v1/order", None, body);
    let expected = "instruction=orderExecute&clientId=123&orderType=Limit&postOnly=true&price=150.5&quantity=1.5\
                    &side=Bid&symbol=SOL_USDC&timeInForce=GTC&timestamp=1614550000000&window=5000";
    assert_eq!(rebuilt(&request), expected);
    let signature = "MT86MIr8M/J23aWb7JsIFO3xRdfXAV1C7SQPuLcGx/R6WOoNcl5Bpdbh/h+Zjymem/dpnzF9pC8NkTm/4mzxDA==";
    assert_eq!(signer().sign_message(expected), signature);
    // CCXT also sends X-Broker-Id, which is ignored.
    let mut h = headers(VECTOR_API_KEY, signature, TS_TEXT, Some("5000"));
    h.broker_id = Some("1400");
    assert_eq!(verify_request(&request, &h, TS).unwrap().instruction, "orderExecute");
}

#[test]
fn vector_ccxt_fill_history() {
    let query = "fillType=User&from=1700000000000&limit=100&symbol=SOL_USDC";
    let request = RequestParts::new("GET", "/wapi/v1/history/fills", Some(query), b"");
    let expected = "instruction=fillHistoryQueryAll&fillType=User&from=1700000000000&limit=100&symbol=SOL_USDC\
                    &timestamp=1614550000000&window=5000";
    assert_eq!(rebuilt(&request), expected);
    let signature = "xJ0XJ7odwsDvb0QnICkyAms6yJ2NtocqA/3Qg0RLwN9jO5gkw1vs662V+U09aDno6v281M+c7bbarJjrH6KXCw==";
    assert_eq!(signer().sign_message(expected), signature);
    verify_request(&request, &headers(VECTOR_API_KEY, signature, TS_TEXT, Some("5000")), TS).unwrap();
}

#[test]
fn vector_balance_query_without_params() {
    let expected = "instruction=balanceQuery&timestamp=1614550000000&window=5000";
    for query in [None, Some("")] {
        let request = RequestParts::new("GET", "/api/v1/capital", query, b"");
        assert_eq!(rebuilt(&request), expected);
        verify_signed(&request, expected).unwrap();
    }
    // bpx-py and the SDK send a JSON content type on GET too; a stray body is not signed.
    let request = RequestParts::new("GET", "/api/v1/capital", None, b"{}");
    assert_eq!(rebuilt(&request), expected);
}

#[test]
fn vector_batch_orders() {
    let body = br#"[
        {"symbol":"SOL_USDC_PERP","side":"Bid","orderType":"Limit","price":"141","quantity":"12"},
        {"symbol":"SOL_USDC_PERP","side":"Bid","orderType":"Limit","price":"140","quantity":"11"}
    ]"#;
    let request = RequestParts::new("POST", "/api/v1/orders", None, body);
    let expected = "instruction=orderExecute&orderType=Limit&price=141&quantity=12&side=Bid&symbol=SOL_USDC_PERP\
                    &instruction=orderExecute&orderType=Limit&price=140&quantity=11&side=Bid&symbol=SOL_USDC_PERP\
                    &timestamp=1614550000000&window=5000";
    assert_eq!(rebuilt(&request), expected);
    let verified = verify_signed(&request, expected).unwrap();
    assert_eq!(verified.instruction, "orderExecute");
    // The client-side builder produces the same string.
    let order_1: &[(&str, &str)] =
        &[("symbol", "SOL_USDC_PERP"), ("side", "Bid"), ("orderType", "Limit"), ("price", "141"), ("quantity", "12")];
    let order_2: &[(&str, &str)] =
        &[("symbol", "SOL_USDC_PERP"), ("side", "Bid"), ("orderType", "Limit"), ("price", "140"), ("quantity", "11")];
    assert_eq!(signer().sign_batch(&[order_1, order_2], TS, Some(5000)).signed, expected);
}

// ---- rendering rules --------------------------------------------------------------------------

#[test]
fn query_true_false_normalised_case_insensitively() {
    // bpx-py sends Python booleans in the query string but signs them lower-case.
    let request =
        RequestParts::new("GET", "/api/v1/account/limits/order", Some("symbol=SOL_USDC&side=Bid&reduceOnly=True"), b"");
    let signed = client_signing_string(
        "maxOrderQuantity",
        &[("symbol", "SOL_USDC"), ("side", "Bid"), ("reduceOnly", "true")],
        TS,
        5000,
    );
    assert_eq!(
        signed,
        "instruction=maxOrderQuantity&reduceOnly=true&side=Bid&symbol=SOL_USDC&timestamp=1614550000000&window=5000"
    );
    assert_eq!(rebuilt(&request), signed);
    verify_signed(&request, &signed).unwrap();

    let request = RequestParts::new(
        "GET",
        "/api/v1/account/limits/withdrawal",
        Some("symbol=SOL&autoBorrow=FALSE&autoLendRedeem=tRuE"),
        b"",
    );
    assert_eq!(
        rebuilt(&request),
        "instruction=maxWithdrawalQuantity&autoBorrow=false&autoLendRedeem=true&symbol=SOL\
         &timestamp=1614550000000&window=5000"
    );
}

#[test]
fn query_values_are_percent_decoded() {
    // requests (bpx-py) form-encodes: space as '+', '/' as %2F.
    let request = RequestParts::new("GET", "/wapi/v1/capital/withdrawals", Some("clientId=a+b%2Fc&limit=10"), b"");
    let signed = client_signing_string("withdrawalQueryAll", &[("clientId", "a b/c"), ("limit", "10")], TS, 5000);
    assert_eq!(rebuilt(&request), signed);
    assert_eq!(verify_signed(&request, &signed).unwrap().rendering, Rendering::Raw);
}

#[test]
fn ccxt_percent_encoded_rendering_accepted() {
    let body = br#"{"address":"bc1/q x+y","blockchain":"Bitcoin","quantity":"0.5","symbol":"BTC"}"#;
    let request = RequestParts::new("POST", "/wapi/v1/capital/withdrawals", None, body);
    // What CCXT signs (urlencode with quote_via=quote, which also encodes '/').
    let ccxt = "instruction=withdraw&address=bc1%2Fq%20x%2By&blockchain=Bitcoin&quantity=0.5&symbol=BTC\
                &timestamp=1614550000000&window=5000";
    assert_eq!(verify_signed(&request, ccxt).unwrap().rendering, Rendering::PercentEncoded);
    // quote() with its default safe='/' keeps the slash.
    let slash_kept = ccxt.replace("%2F", "/");
    assert_eq!(verify_signed(&request, &slash_kept).unwrap().rendering, Rendering::PercentEncoded);
    // The raw form is still the canonical one.
    let raw = "instruction=withdraw&address=bc1/q x+y&blockchain=Bitcoin&quantity=0.5&symbol=BTC\
               &timestamp=1614550000000&window=5000";
    assert_eq!(rebuilt(&request), raw);
    assert_eq!(verify_signed(&request, raw).unwrap().rendering, Rendering::Raw);
    // Non-ASCII is encoded as UTF-8 bytes; a query value is decoded then re-encoded the same way.
    let request = RequestParts::new("GET", "/wapi/v1/history/orders", Some("symbol=%C3%A9t%C3%A9"), b"");
    let ccxt = "instruction=orderHistoryQueryAll&symbol=%C3%A9t%C3%A9&timestamp=1614550000000&window=5000";
    assert_eq!(verify_signed(&request, ccxt).unwrap().rendering, Rendering::PercentEncoded);
    let raw = "instruction=orderHistoryQueryAll&symbol=été&timestamp=1614550000000&window=5000";
    assert_eq!(verify_signed(&request, raw).unwrap().rendering, Rendering::Raw);
}

#[test]
fn reordered_json_keys_and_whitespace_still_verify() {
    let signed = "instruction=orderCancel&orderId=28&symbol=BTC_USDT&timestamp=1614550000000&window=5000";
    for body in [
        &br#"{"symbol":"BTC_USDT","orderId":"28"}"#[..],
        br#"  { "symbol" : "BTC_USDT" ,
              "orderId" : "28" }  "#,
    ] {
        let request = RequestParts::new("DELETE", "/api/v1/order", None, body);
        verify_signed(&request, signed).unwrap();
    }
}

#[test]
fn numbers_keep_the_text_sent() {
    let body = br#"{"symbol":"SOL_USDC","side":"Bid","orderType":"Limit","price":150.50,"quantity":1e-05,"clientId":18446744073709551615123}"#;
    let request = RequestParts::new("POST", "/api/v1/order", None, body);
    assert_eq!(
        rebuilt(&request),
        "instruction=orderExecute&clientId=18446744073709551615123&orderType=Limit&price=150.50&quantity=1e-05\
         &side=Bid&symbol=SOL_USDC&timestamp=1614550000000&window=5000"
    );
}

#[test]
fn null_values_skipped_with_fallbacks() {
    // The SDK sends `"price": null` for a limit order without price and signs `price=None`.
    let body =
        br#"{"orderType":"Limit","postOnly":false,"price":null,"quantity":"1","side":"Bid","symbol":"SOL_USDC"}"#;
    let request = RequestParts::new("POST", "/api/v1/order", None, body);
    let canonical = "instruction=orderExecute&orderType=Limit&postOnly=false&quantity=1&side=Bid&symbol=SOL_USDC\
                     &timestamp=1614550000000&window=5000";
    assert_eq!(rebuilt(&request), canonical);
    assert_eq!(verify_signed(&request, canonical).unwrap().rendering, Rendering::Raw);
    let python = "instruction=orderExecute&orderType=Limit&postOnly=false&price=None&quantity=1&side=Bid\
                  &symbol=SOL_USDC&timestamp=1614550000000&window=5000";
    assert_eq!(verify_signed(&request, python).unwrap().rendering, Rendering::Fallback);
    let rust = python.replace("None", "null");
    assert_eq!(verify_signed(&request, &rust).unwrap().rendering, Rendering::Fallback);
}

#[test]
fn nested_values_rendered_as_compact_json() {
    let body = br#"{"address":"0xabc","blockchain":"Ethereum","quantity":"10","symbol":"USDC",
        "recipientInformation": { "withdrawal_address_id" : 7, "tags" : [ "a b", 2 ] }}"#;
    let request = RequestParts::new("POST", "/wapi/v1/capital/withdrawals", None, body);
    assert_eq!(
        rebuilt(&request),
        "instruction=withdraw&address=0xabc&blockchain=Ethereum&quantity=10\
         &recipientInformation={\"withdrawal_address_id\":7,\"tags\":[\"a b\",2]}&symbol=USDC\
         &timestamp=1614550000000&window=5000"
    );
}

#[test]
fn strings_needing_json_escapes_accept_rust_client_form() {
    // The official Rust client renders body values with `Value::to_string()` minus the quotes.
    let body = br#"{"clientId":"a\"b\\c","symbol":"SOL_USDC"}"#;
    let request = RequestParts::new("DELETE", "/api/v1/order", None, body);
    let raw = "instruction=orderCancel&clientId=a\"b\\c&symbol=SOL_USDC&timestamp=1614550000000&window=5000";
    assert_eq!(rebuilt(&request), raw);
    let rust = "instruction=orderCancel&clientId=a\\\"b\\\\c&symbol=SOL_USDC&timestamp=1614550000000&window=5000";
    assert_eq!(verify_signed(&request, rust).unwrap().rendering, Rendering::Fallback);
}

#[test]
fn query_and_body_together_accept_rust_client_form() {
    let request =
        RequestParts::new("DELETE", "/api/v1/order", Some("b=2&a=1"), br#"{"symbol":"SOL_USDC","orderId":"9"}"#);
    // Canonical: the body alone.
    let body_only = "instruction=orderCancel&orderId=9&symbol=SOL_USDC&timestamp=1614550000000&window=5000";
    assert_eq!(rebuilt(&request), body_only);
    // Rust client: sorted query pairs, then sorted body pairs.
    let rust = "instruction=orderCancel&a=1&b=2&orderId=9&symbol=SOL_USDC&timestamp=1614550000000&window=5000";
    assert_eq!(verify_signed(&request, rust).unwrap().rendering, Rendering::Fallback);
}

#[test]
fn repeated_query_keys_best_effort() {
    let query = "marketType=SPOT&marketType=PERP&symbol=SOL_USDC";
    let request = RequestParts::new("GET", "/wapi/v1/history/orders", Some(query), b"");
    let all = "instruction=orderHistoryQueryAll&marketType=SPOT&marketType=PERP&symbol=SOL_USDC\
               &timestamp=1614550000000&window=5000";
    assert_eq!(rebuilt(&request), all);
    let last_wins =
        "instruction=orderHistoryQueryAll&marketType=PERP&symbol=SOL_USDC&timestamp=1614550000000&window=5000";
    let ccxt_list = "instruction=orderHistoryQueryAll&marketType=%5B%27SPOT%27%2C%20%27PERP%27%5D&symbol=SOL_USDC\
                     &timestamp=1614550000000&window=5000";
    let python_list = "instruction=orderHistoryQueryAll&marketType=['SPOT', 'PERP']&symbol=SOL_USDC\
                       &timestamp=1614550000000&window=5000";
    for signed in [all, last_wins, ccxt_list, python_list] {
        verify_signed(&request, signed).unwrap();
    }
}

#[test]
fn delete_without_body_signs_the_query() {
    let request = RequestParts::new("DELETE", "/api/v1/orders", Some("symbol=SOL_USDC"), b"");
    assert_eq!(rebuilt(&request), "instruction=orderCancelAll&symbol=SOL_USDC&timestamp=1614550000000&window=5000");
    let request = RequestParts::new("DELETE", "/api/v1/orders", Some("symbol=SOL_USDC"), b" \n");
    assert_eq!(rebuilt(&request), "instruction=orderCancelAll&symbol=SOL_USDC&timestamp=1614550000000&window=5000");
}

#[test]
fn malformed_bodies_rejected() {
    for body in [&b"[1,2]"[..], b"\"x\"", b"42", b"{", b"not json", b"{\"a\":1}{", b"\xff\xfe"] {
        let request = RequestParts::new("POST", "/api/v1/order", None, body);
        let err = signing_string(&request, "orderExecute", TS_TEXT, "5000").unwrap_err();
        assert_eq!(err, AuthError::MalformedBody, "{body:?}");
        assert_eq!((err.status(), err.code()), (400, "INVALID_CLIENT_REQUEST"));
    }
    // Arrays are only valid on the batch endpoint, and only of objects.
    let request = RequestParts::new("POST", "/api/v1/orders", None, b"[{\"a\":\"1\"}, 3]");
    assert_eq!(signing_string(&request, "orderExecute", TS_TEXT, "5000"), Err(AuthError::MalformedBody));
    // Deep nesting neither overflows the stack nor is rejected: the nested value is kept as text.
    let deep = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let request = RequestParts::new("POST", "/api/v1/order", None, deep.as_bytes());
    let rebuilt = signing_string(&request, "orderExecute", TS_TEXT, "5000").expect("nested value kept");
    assert_eq!(rebuilt.len(), "instruction=orderExecute&a=&timestamp=1614550000000&window=5000".len() + 200_000);
    let unbalanced = format!("{{\"a\":{}", "[".repeat(100_000));
    let request = RequestParts::new("POST", "/api/v1/order", None, unbalanced.as_bytes());
    assert!(signing_string(&request, "orderExecute", TS_TEXT, "5000").is_err());
    let deep_batch = "[".repeat(100_000);
    let request = RequestParts::new("POST", "/api/v1/orders", None, deep_batch.as_bytes());
    assert_eq!(signing_string(&request, "orderExecute", TS_TEXT, "5000"), Err(AuthError::MalformedBody));
}

// ---- header handling and rejections -----------------------------------------------------------

fn cancel_request() -> RequestParts<'static> {
    RequestParts::new("DELETE", "/api/v1/order", None, br#"{"orderId":"28","symbol":"BTC_USDT"}"#)
}

const CANCEL_SIGNATURE: &str =
    "E7UijHVsR5NAdTGNA8aOPfAGdwe6Qu5oVcEJPNdG8Kx9HxV2pX+U3IsodvFn1MUHh0CuD+AhMMnJJvtPEat9DA==";

#[test]
fn header_names_in_any_case() {
    let pairs = [
        ("content-type", "application/json"),
        ("x-api-key", VECTOR_API_KEY),
        ("X-SIGNATURE", CANCEL_SIGNATURE),
        ("x-TimeStamp", TS_TEXT),
        ("X-window", "5000"),
        ("x-broker-id", "1400"),
        ("X-Api-Key", "ignored: first occurrence wins"),
    ];
    let h = AuthHeaders::from_pairs(pairs);
    assert_eq!(h.broker_id, Some("1400"));
    verify_request(&cancel_request(), &h, TS).unwrap();

    let h = AuthHeaders::from_fn(|name| pairs.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| *v));
    verify_request(&cancel_request(), &h, TS).unwrap();
}

#[test]
fn missing_headers_are_unauthorized() {
    let full = headers(VECTOR_API_KEY, CANCEL_SIGNATURE, TS_TEXT, Some("5000"));
    let cases = [
        (AuthHeaders { api_key: None, ..full }, "X-API-Key"),
        (AuthHeaders { signature: None, ..full }, "X-Signature"),
        (AuthHeaders { timestamp: None, ..full }, "X-Timestamp"),
    ];
    for (h, name) in cases {
        let err = verify_request(&cancel_request(), &h, TS).unwrap_err();
        assert_eq!(err, AuthError::MissingHeader(name));
        assert_eq!((err.status(), err.code()), (401, "UNAUTHORIZED"));
        assert_eq!(err.to_string(), format!("Missing {name} header"));
    }
}

#[test]
fn malformed_headers_rejected() {
    let cases = [
        (headers("not base64!", CANCEL_SIGNATURE, TS_TEXT, None), AuthError::InvalidApiKey),
        (headers("AAAA", CANCEL_SIGNATURE, TS_TEXT, None), AuthError::InvalidApiKey),
        (headers(VECTOR_API_KEY, "AAAA", TS_TEXT, None), AuthError::InvalidSignature),
        (headers(VECTOR_API_KEY, "%%%", TS_TEXT, None), AuthError::InvalidSignature),
        (headers(VECTOR_API_KEY, CANCEL_SIGNATURE, "-1", None), AuthError::InvalidHeader("X-Timestamp")),
        (headers(VECTOR_API_KEY, CANCEL_SIGNATURE, "1.6e12", None), AuthError::InvalidHeader("X-Timestamp")),
        (
            headers(VECTOR_API_KEY, CANCEL_SIGNATURE, "99999999999999999999999", None),
            AuthError::InvalidHeader("X-Timestamp"),
        ),
        (headers(VECTOR_API_KEY, CANCEL_SIGNATURE, TS_TEXT, Some("")), AuthError::InvalidHeader("X-Window")),
        (headers(VECTOR_API_KEY, CANCEL_SIGNATURE, TS_TEXT, Some("5s")), AuthError::InvalidHeader("X-Window")),
    ];
    for (h, expected) in cases {
        assert_eq!(verify_request(&cancel_request(), &h, TS), Err(expected.clone()), "{h:?}");
        assert_eq!(Credentials::from_headers(&h), Err(expected));
    }
    // Unpadded base64 is not accepted either (clients send padded standard base64).
    let unpadded = CANCEL_SIGNATURE.trim_end_matches('=');
    assert_eq!(
        verify_request(&cancel_request(), &headers(VECTOR_API_KEY, unpadded, TS_TEXT, None), TS),
        Err(AuthError::InvalidSignature)
    );
}

#[test]
fn expired_request_rejected() {
    let h = headers(VECTOR_API_KEY, CANCEL_SIGNATURE, TS_TEXT, Some("5000"));
    verify_request(&cancel_request(), &h, TS + 5000).unwrap();
    let err = verify_request(&cancel_request(), &h, TS + 5001).unwrap_err();
    assert_eq!(err, AuthError::Expired);
    assert_eq!(
        (err.status(), err.code(), err.to_string().as_str()),
        (401, "INVALID_CLIENT_REQUEST", "Request has expired")
    );
}

#[test]
fn future_request_rejected() {
    let h = headers(VECTOR_API_KEY, CANCEL_SIGNATURE, TS_TEXT, Some("5000"));
    verify_request(&cancel_request(), &h, TS - 5000).unwrap();
    let err = verify_request(&cancel_request(), &h, TS - 5001).unwrap_err();
    assert_eq!(err, AuthError::FromFuture);
    assert_eq!((err.status(), err.code()), (401, "INVALID_CLIENT_REQUEST"));
}

#[test]
fn window_too_large_rejected() {
    let signer = signer();
    let ok = signer.sign_request(&cancel_request(), TS, Some(60_000)).unwrap();
    verify_request(&cancel_request(), &ok.auth_headers(), TS + 60_000).unwrap();
    let too_large = signer.sign_request(&cancel_request(), TS, Some(60_001)).unwrap();
    let err = verify_request(&cancel_request(), &too_large.auth_headers(), TS).unwrap_err();
    assert_eq!(err, AuthError::WindowTooLarge);
    assert_eq!((err.status(), err.code()), (400, "INVALID_CLIENT_REQUEST"));
}

#[test]
fn wrong_key_rejected() {
    let other = Signer::from_seed(&[9; 32]);
    let signed = other.sign_request(&cancel_request(), TS, Some(5000)).unwrap();
    // Signed by another key but presented under the vector key.
    let h = headers(VECTOR_API_KEY, &signed.signature, TS_TEXT, Some("5000"));
    let err = verify_request(&cancel_request(), &h, TS).unwrap_err();
    assert_eq!(err, AuthError::InvalidSignature);
    assert_eq!(
        (err.status(), err.code(), err.to_string().as_str()),
        (401, "INVALID_SIGNATURE", "Invalid signature, could not verify signature")
    );
    // Under its own key it verifies.
    verify_request(&cancel_request(), &signed.auth_headers(), TS).unwrap();
}

#[test]
fn tampered_body_rejected() {
    let h = headers(VECTOR_API_KEY, CANCEL_SIGNATURE, TS_TEXT, Some("5000"));
    for body in [
        &br#"{"orderId":"29","symbol":"BTC_USDT"}"#[..],
        br#"{"orderId":"28","symbol":"BTC_USDC"}"#,
        br#"{"orderId":"28","symbol":"BTC_USDT","extra":"1"}"#,
        br#"{"orderId":28,"symbol":"BTC_USDT","clientId":null,"x":"y"}"#,
        br#"{"orderId":"28"}"#,
    ] {
        let request = RequestParts::new("DELETE", "/api/v1/order", None, body);
        assert_eq!(verify_request(&request, &h, TS), Err(AuthError::InvalidSignature));
    }
    // Same body on another endpoint (another instruction).
    let request = RequestParts::new("DELETE", "/api/v1/orders", None, cancel_request().body);
    assert_eq!(verify_request(&request, &h, TS), Err(AuthError::InvalidSignature));
    // Other timestamp or window than signed.
    let h2 = headers(VECTOR_API_KEY, CANCEL_SIGNATURE, "1614550000001", Some("5000"));
    assert_eq!(verify_request(&cancel_request(), &h2, TS), Err(AuthError::InvalidSignature));
    let h3 = headers(VECTOR_API_KEY, CANCEL_SIGNATURE, TS_TEXT, Some("5001"));
    assert_eq!(verify_request(&cancel_request(), &h3, TS), Err(AuthError::InvalidSignature));
    // A flipped bit in the signature.
    let mut sig = signer().sign_request(&cancel_request(), TS, Some(5000)).unwrap();
    sig.signature = sig.signature.replacen('E', "F", 1);
    assert_eq!(verify_request(&cancel_request(), &sig.auth_headers(), TS), Err(AuthError::InvalidSignature));
}

#[test]
fn tampered_query_rejected() {
    let query = "fillType=User&from=1700000000000&limit=100&symbol=SOL_USDC";
    let signature = "xJ0XJ7odwsDvb0QnICkyAms6yJ2NtocqA/3Qg0RLwN9jO5gkw1vs662V+U09aDno6v281M+c7bbarJjrH6KXCw==";
    let h = headers(VECTOR_API_KEY, signature, TS_TEXT, Some("5000"));
    verify_request(&RequestParts::new("GET", "/wapi/v1/history/fills", Some(query), b""), &h, TS).unwrap();
    for tampered in [
        "fillType=User&from=1700000000000&limit=101&symbol=SOL_USDC",
        "fillType=User&from=1700000000000&limit=100",
        "fillType=User&from=1700000000000&limit=100&symbol=SOL_USDC&offset=0",
        "fillType=User&from=1700000000000&limit=100&symbol=SOL_USDT",
    ] {
        let request = RequestParts::new("GET", "/wapi/v1/history/fills", Some(tampered), b"");
        assert_eq!(verify_request(&request, &h, TS), Err(AuthError::InvalidSignature), "{tampered}");
    }
    // Reordered query pairs are fine: the keys are sorted.
    let reordered = "symbol=SOL_USDC&limit=100&from=1700000000000&fillType=User";
    verify_request(&RequestParts::new("GET", "/wapi/v1/history/fills", Some(reordered), b""), &h, TS).unwrap();
}

#[test]
fn unknown_endpoint_rejected() {
    let h = headers(VECTOR_API_KEY, CANCEL_SIGNATURE, TS_TEXT, Some("5000"));
    let request = RequestParts::new("GET", "/api/v1/depth", Some("symbol=SOL_USDC"), b"");
    let err = verify_request(&request, &h, TS).unwrap_err();
    assert_eq!((err, 404), (AuthError::UnknownEndpoint, AuthError::UnknownEndpoint.status()));
}

// ---- WebSocket --------------------------------------------------------------------------------

#[test]
fn ws_subscribe_round_trip() {
    let signed = signer().sign_subscribe(TS, 5000);
    assert_eq!(signed.signed, "instruction=subscribe&timestamp=1614550000000&window=5000");
    let parts = signed.ws_signature();
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    let verified = verify_subscribe(&AuthHeaders::from_ws_signature(&refs), TS + 10).unwrap();
    assert_eq!(verified.instruction, "subscribe");
    // Another timestamp than signed fails; a missing window means 5000.
    let other_ts = [refs[0], refs[1], "1614550000001", refs[3]];
    assert_eq!(verify_subscribe(&AuthHeaders::from_ws_signature(&other_ts), TS), Err(AuthError::InvalidSignature));
    verify_subscribe(&AuthHeaders::from_ws_signature(&refs[..3]), TS).unwrap();
    assert_eq!(
        verify_subscribe(&AuthHeaders::from_ws_signature(&refs[..1]), TS),
        Err(AuthError::MissingHeader("X-Signature"))
    );
}

// ---- replay protection ------------------------------------------------------------------------

#[test]
fn replay_rejected_then_new_signature_accepted_after_window() {
    let guard = ReplayGuard::new(1000);
    let signer = signer();
    let first = signer.sign_request(&cancel_request(), TS, Some(5000)).unwrap();
    let verified = verify_request(&cancel_request(), &first.auth_headers(), TS).unwrap();
    guard.check(&verified, TS).unwrap();
    let again = verify_request(&cancel_request(), &first.auth_headers(), TS + 100).unwrap();
    let err = guard.check(&again, TS + 100).unwrap_err();
    assert_eq!(err, AuthError::Replayed);
    assert_eq!(
        (err.status(), err.code(), err.to_string().as_str()),
        (401, "INVALID_CLIENT_REQUEST", "Request has already been used")
    );
    // Once the window has passed the old request is expired anyway, and forgotten.
    let later = TS + 5001;
    assert_eq!(verify_request(&cancel_request(), &first.auth_headers(), later), Err(AuthError::Expired));
    assert_eq!(guard.check(&verified, later), Err(AuthError::Expired));
    // The same request signed anew (new timestamp) is accepted.
    let second = signer.sign_request(&cancel_request(), later, Some(5000)).unwrap();
    let verified = verify_request(&cancel_request(), &second.auth_headers(), later).unwrap();
    guard.check(&verified, later).unwrap();
    assert_eq!(guard.len(), 1);
    assert_eq!(guard.check(&verified, later + 1), Err(AuthError::Replayed));
}

#[test]
fn replay_guard_evicts_and_caps() {
    let key = signer().api_key();
    let guard = ReplayGuard::with_shards(3, 1);
    for n in 0..3u8 {
        guard.check_and_record(&key, &[n; 64], TS + 10, TS).unwrap();
    }
    let err = guard.check_and_record(&key, &[9; 64], TS + 10, TS).unwrap_err();
    assert_eq!(err, AuthError::ReplayCacheFull);
    assert_eq!((err.status(), err.code()), (429, "TOO_MANY_REQUESTS"));
    // Still valid at TS + 10; gone at TS + 11.
    assert_eq!(guard.check_and_record(&key, &[0; 64], TS + 20, TS + 10), Err(AuthError::Replayed));
    guard.evict_expired(TS + 11);
    assert!(guard.is_empty());
    guard.check_and_record(&key, &[9; 64], TS + 30, TS + 11).unwrap();
    // A caller whose clock lags cannot revive an entry another caller already saw expire.
    assert_eq!(guard.check_and_record(&key, &[1; 64], TS + 10, TS + 5), Err(AuthError::Expired));
    // Keys are part of the identity: the same signature bytes under another key are distinct.
    let other = Signer::from_seed(&[9; 32]).api_key();
    let guard = ReplayGuard::with_shards(10, 1);
    guard.check_and_record(&key, &[5; 64], TS + 10, TS).unwrap();
    guard.check_and_record(&other, &[5; 64], TS + 10, TS).unwrap();
}

#[test]
fn replay_guard_is_shared_between_threads() {
    let guard = ReplayGuard::new(10_000);
    let key = signer().api_key();
    let accepted = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for n in 0..500u16 {
                    let mut sig = [0u8; 64];
                    sig[..2].copy_from_slice(&n.to_le_bytes());
                    if guard.check_and_record(&key, &sig, TS + 5000, TS).is_ok() {
                        accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    // Each of the 500 signatures is accepted exactly once across the four threads.
    assert_eq!(accepted.into_inner(), 500);
}

// ---- rate limiting ----------------------------------------------------------------------------

#[test]
fn rate_limiter_allows_burst_then_rejects_then_refills() {
    let limiter = RateLimiter::new(RateLimitConfig {
        per_key: Quota::per_second(10, 5),
        per_ip: Quota::per_minute(30, 2),
        max_buckets: 100,
    });
    let key = signer().api_key();
    for _ in 0..5 {
        limiter.check_key(&key, TS).unwrap();
    }
    let err = limiter.check_key(&key, TS).unwrap_err();
    assert_eq!(err, AuthError::RateLimited { retry_after_ms: 100 });
    assert_eq!((err.status(), err.code(), err.retry_after_ms()), (429, "TOO_MANY_REQUESTS", Some(100)));
    // 10 per second: one token per 100 ms.
    assert_eq!(limiter.check_key(&key, TS + 99), Err(AuthError::RateLimited { retry_after_ms: 1 }));
    limiter.check_key(&key, TS + 100).unwrap();
    assert!(limiter.check_key(&key, TS + 100).is_err());
    // Refills to the burst, not beyond.
    for _ in 0..5 {
        limiter.check_key(&key, TS + 10_000).unwrap();
    }
    assert!(limiter.check_key(&key, TS + 10_000).is_err());
    // A clock that steps back neither refills nor panics.
    assert!(limiter.check_key(&key, TS).is_err());

    // Per IP: 30 per minute = one per 2 s; IPv6 grouped by /64; other keys and IPs are separate.
    let v6 = |last: u16| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, last));
    limiter.check_ip(v6(1), TS).unwrap();
    limiter.check_ip(v6(2), TS).unwrap();
    assert_eq!(limiter.check_ip(v6(3), TS), Err(AuthError::RateLimited { retry_after_ms: 2000 }));
    limiter.check_ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), TS).unwrap();
    limiter.check_ip(v6(3), TS + 2000).unwrap();
    limiter.check_key(&Signer::from_seed(&[9; 32]).api_key(), TS).unwrap();
    // A weight above the burst can never pass.
    assert_eq!(
        limiter.check_key_weighted(&key, 6, TS + 60_000),
        Err(AuthError::RateLimited { retry_after_ms: u64::MAX })
    );
}

#[test]
fn rate_limiter_memory_is_bounded() {
    let buckets: TokenBuckets<u32> = TokenBuckets::new(Quota::per_second(1, 1), 16 * 4);
    let mut refused = 0;
    for n in 0..1000u32 {
        if buckets.check(n, TS).is_err() {
            refused += 1;
        }
    }
    // Never more buckets than the cap; the rest are refused, not remembered.
    assert!(buckets.len() <= 64, "{}", buckets.len());
    assert!(refused >= 1000 - 64);
    // Once they have refilled, idle buckets are dropped and new clients get in.
    buckets.evict_idle(TS + 1000);
    assert!(buckets.is_empty());
    buckets.check(5000, TS + 1000).unwrap();
    // Growth alone also triggers sweeps: a steady stream of one-off clients stays bounded.
    let buckets: TokenBuckets<u32> = TokenBuckets::new(Quota::per_second(1, 1), 16 * 1024);
    for n in 0..20_000u32 {
        buckets.check(n, TS + u64::from(n) * 10).unwrap();
    }
    assert!(buckets.len() < 16 * 300, "{}", buckets.len());
}

// ---- tables, keys, permissions, errors --------------------------------------------------------

#[test]
fn instruction_table_matches_reference() {
    let expected = [
        ("GET", "/api/v1/account", "accountQuery"),
        ("PATCH", "/api/v1/account", "accountUpdate"),
        ("POST", "/api/v1/account/convertDust", "convertDust"),
        ("GET", "/api/v1/account/limits/borrow", "maxBorrowQuantity"),
        ("GET", "/api/v1/account/limits/order", "maxOrderQuantity"),
        ("GET", "/api/v1/account/limits/withdrawal", "maxWithdrawalQuantity"),
        ("GET", "/api/v1/borrowLend/positions", "borrowLendPositionQuery"),
        ("POST", "/api/v1/borrowLend", "borrowLendExecute"),
        ("GET", "/api/v1/borrowLend/position/liquidationPrice", "borrowLendPositionLiquidationPrice"),
        ("GET", "/api/v1/capital", "balanceQuery"),
        ("GET", "/api/v1/capital/collateral", "collateralQuery"),
        ("GET", "/wapi/v1/capital/deposits", "depositQueryAll"),
        ("GET", "/wapi/v1/capital/deposit/address", "depositAddressQuery"),
        ("GET", "/wapi/v1/capital/withdrawals", "withdrawalQueryAll"),
        ("POST", "/wapi/v1/capital/withdrawals", "withdraw"),
        ("GET", "/wapi/v1/capital/withdrawals/delay", "withdrawalDelayQuery"),
        ("POST", "/wapi/v1/capital/withdrawals/delay", "withdrawalDelayCreate"),
        ("PATCH", "/wapi/v1/capital/withdrawals/delay", "withdrawalDelayUpdate"),
        ("GET", "/api/v1/position", "positionQuery"),
        ("GET", "/api/v1/order", "orderQuery"),
        ("POST", "/api/v1/order", "orderExecute"),
        ("DELETE", "/api/v1/order", "orderCancel"),
        ("GET", "/api/v1/orders", "orderQueryAll"),
        ("POST", "/api/v1/orders", "orderExecute"),
        ("DELETE", "/api/v1/orders", "orderCancelAll"),
        ("GET", "/wapi/v1/history/orders", "orderHistoryQueryAll"),
        ("GET", "/wapi/v1/history/fills", "fillHistoryQueryAll"),
        ("GET", "/wapi/v1/history/funding", "fundingHistoryQueryAll"),
        ("GET", "/wapi/v1/history/borrowLend", "borrowHistoryQueryAll"),
        ("GET", "/wapi/v1/history/interest", "interestHistoryQueryAll"),
        ("GET", "/wapi/v1/history/borrowLend/positions", "borrowPositionHistoryQueryAll"),
        ("GET", "/wapi/v1/history/dust", "dustHistoryQueryAll"),
        ("GET", "/wapi/v1/history/settlement", "settlementHistoryQueryAll"),
        ("GET", "/wapi/v1/history/position", "positionHistoryQueryAll"),
        ("GET", "/wapi/v1/history/pnl", "pnlHistoryQueryAll"),
        ("GET", "/wapi/v1/history/strategies", "strategyHistoryQueryAll"),
        ("GET", "/wapi/v1/history/rfq", "rfqHistoryQueryAll"),
        ("GET", "/wapi/v1/history/quote", "quoteHistoryQueryAll"),
        ("GET", "/wapi/v1/history/rfq/fill", "rfqFillHistoryQueryAll"),
        ("GET", "/wapi/v1/history/quote/fill", "quoteFillHistoryQueryAll"),
        ("GET", "/api/v1/rfqs", "rfqQuery"),
        ("POST", "/api/v1/rfq", "rfqSubmit"),
        ("POST", "/api/v1/rfq/quote", "quoteSubmit"),
        ("POST", "/api/v1/rfq/accept", "quoteAccept"),
        ("POST", "/api/v1/rfq/refresh", "rfqRefresh"),
        ("POST", "/api/v1/rfq/cancel", "rfqCancel"),
        ("GET", "/api/v1/strategy", "strategyQuery"),
        ("POST", "/api/v1/strategy", "strategyCreate"),
        ("DELETE", "/api/v1/strategy", "strategyCancel"),
        ("GET", "/api/v1/strategies", "strategyQueryAll"),
        ("DELETE", "/api/v1/strategies", "strategyCancelAll"),
        ("POST", "/api/v1/vault/mint", "vaultMint"),
        ("POST", "/api/v1/vault/redeem", "vaultRedeemRequest"),
        ("DELETE", "/api/v1/vault/redeem", "vaultRedeemCancel"),
        ("GET", "/api/v1/vault/redeems/pending", "vaultPendingRedeemsQuery"),
        ("GET", "/api/v1/vault/nav", "vaultNavQuery"),
        ("GET", "/wapi/v1/history/vault/mint", "vaultMintHistoryQueryAll"),
        ("GET", "/wapi/v1/history/vault/redeem", "vaultRedeemHistoryQueryAll"),
        ("POST", "/wapi/v1/user/2fa", "issueTwoFactorToken"),
    ];
    for (method, path, instruction) in expected {
        assert_eq!(instruction_for(method, path), Some(instruction), "{method} {path}");
        assert_eq!(instruction_for(&method.to_lowercase(), path), Some(instruction));
    }
    assert_eq!(SIGNED_ENDPOINTS.len(), expected.len());
    assert_eq!(instruction_for("SUBSCRIBE", ""), Some("subscribe"));
    assert_eq!(instruction_for("UNSUBSCRIBE", "/"), Some("subscribe"));
    for (method, path) in [
        ("GET", "/api/v1/depth"),
        ("GET", "/api/v1/markets"),
        ("PUT", "/api/v1/order"),
        ("GET", "/api/v1/order/"),
        ("GET", "/api/v1/ORDER"),
        ("POST", "/api/v1/capital"),
    ] {
        assert_eq!(instruction_for(method, path), None, "{method} {path}");
    }
}

#[test]
fn permissions_per_instruction() {
    for (instruction, permission) in [
        ("orderExecute", Permissions::TRADE),
        ("orderCancel", Permissions::TRADE),
        ("orderCancelAll", Permissions::TRADE),
        ("borrowLendExecute", Permissions::TRADE),
        ("accountUpdate", Permissions::TRADE),
        ("withdraw", Permissions::WITHDRAW),
        ("withdrawalDelayUpdate", Permissions::WITHDRAW),
        ("balanceQuery", Permissions::READ),
        ("orderQuery", Permissions::READ),
        ("fillHistoryQueryAll", Permissions::READ),
        ("withdrawalQueryAll", Permissions::READ),
        ("subscribe", Permissions::READ),
    ] {
        assert_eq!(permission_for(instruction), Some(permission), "{instruction}");
    }
    assert_eq!(permission_for("noSuchInstruction"), None);
    for (_, _, instruction) in SIGNED_ENDPOINTS {
        assert!(permission_for(instruction).is_some(), "{instruction}");
    }

    let trader = Permissions::READ | Permissions::TRADE;
    assert!(trader.contains(Permissions::TRADE) && !trader.contains(Permissions::WITHDRAW));
    assert!(Permissions::ALL.contains(trader) && !trader.contains(Permissions::ALL));
    assert_eq!(trader.to_string(), "read,trade");
    assert_eq!("read, TRADE".parse::<Permissions>(), Ok(trader));
    assert_eq!("".parse::<Permissions>(), Ok(Permissions::NONE));
    assert!("admin".parse::<Permissions>().is_err());
    assert_eq!(Permissions::from_bits(trader.bits()), Some(trader));
    assert_eq!(Permissions::from_bits(8), None);
    assert_eq!(Permissions::ALL.difference(Permissions::WITHDRAW), trader);
    assert!(Permissions::NONE.is_empty());
}

#[test]
fn api_key_parsing() {
    let key = ApiKey::from_base64(VECTOR_API_KEY).unwrap();
    assert_eq!(key.to_base64(), VECTOR_API_KEY);
    assert_eq!(ApiKey::from_bytes(*key.as_bytes()), key);
    for bad in
        ["", "AAAA", "ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ", "ebVWLo_mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ="]
    {
        assert!(ApiKey::from_base64(bad).is_err(), "{bad}");
    }
    // y = 2 is not the y-coordinate of any curve point.
    let mut y2 = [0u8; 32];
    y2[0] = 2;
    let not_a_point = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, y2);
    assert!(ApiKey::from_base64(&not_a_point).is_err());
    // CCXT accepts a 64-byte secret (seed + public key) and uses the first 32 bytes.
    let mut long = seed().to_vec();
    long.extend_from_slice(key.as_bytes());
    let long = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, long);
    assert_eq!(Signer::from_secret_base64(&long).unwrap().api_key(), key);
    assert!(Signer::from_secret_base64("AAAA").is_err());
    assert!(!format!("{:?}", signer()).contains(VECTOR_SECRET));
}

#[test]
fn error_codes_statuses_and_messages() {
    let cases = [
        (AuthError::MissingHeader("X-API-Key"), "UNAUTHORIZED", 401),
        (AuthError::InvalidApiKey, "UNAUTHORIZED", 401),
        (AuthError::UnknownApiKey, "UNAUTHORIZED", 401),
        (AuthError::InvalidSignature, "INVALID_SIGNATURE", 401),
        (AuthError::Expired, "INVALID_CLIENT_REQUEST", 401),
        (AuthError::FromFuture, "INVALID_CLIENT_REQUEST", 401),
        (AuthError::Replayed, "INVALID_CLIENT_REQUEST", 401),
        (AuthError::WindowTooLarge, "INVALID_CLIENT_REQUEST", 400),
        (AuthError::InvalidHeader("X-Window"), "INVALID_CLIENT_REQUEST", 400),
        (AuthError::MalformedBody, "INVALID_CLIENT_REQUEST", 400),
        (AuthError::Forbidden, "FORBIDDEN", 403),
        (AuthError::UnknownEndpoint, "RESOURCE_NOT_FOUND", 404),
        (AuthError::RateLimited { retry_after_ms: 5 }, "TOO_MANY_REQUESTS", 429),
        (AuthError::ReplayCacheFull, "TOO_MANY_REQUESTS", 429),
    ];
    for (err, code, status) in cases {
        assert_eq!((err.code(), err.status()), (code, status), "{err:?}");
        assert!(!err.to_string().is_empty());
    }
    assert_eq!(AuthError::UnknownApiKey.to_string(), "Invalid API key");
    assert_eq!(AuthError::RateLimited { retry_after_ms: 5 }.to_string(), "Too many requests");
}

// ---- the whole sequence -----------------------------------------------------------------------

#[test]
fn authenticator_full_sequence() {
    let auth = Authenticator::new(AuthConfig {
        rate_limits: RateLimitConfig {
            per_key: Quota::per_second(1, 3),
            per_ip: Quota::per_second(1, 1),
            max_buckets: 64,
        },
        ..AuthConfig::default()
    });
    let trader = signer();
    let reader = Signer::from_seed(&[7; 32]);
    let lookup = |key: &ApiKey| {
        if *key == trader.api_key() {
            Some(("trader", Permissions::READ | Permissions::TRADE))
        } else if *key == reader.api_key() {
            Some(("reader", Permissions::READ))
        } else {
            None
        }
    };

    auth.check_ip(IpAddr::V4(Ipv4Addr::LOCALHOST), TS).unwrap();
    assert!(auth.check_ip(IpAddr::V4(Ipv4Addr::LOCALHOST), TS).is_err());

    // A trade by a trading key is accepted once.
    let signed = trader.sign_request(&cancel_request(), TS, Some(5000)).unwrap();
    let ok = auth.authenticate(&cancel_request(), &signed.auth_headers(), TS, lookup).unwrap();
    assert_eq!((ok.account, ok.verified.instruction), ("trader", "orderCancel"));
    assert_eq!(auth.authenticate(&cancel_request(), &signed.auth_headers(), TS + 1, lookup), Err(AuthError::Replayed));

    // Identical reads in the same millisecond are not replay-checked by default.
    let balance = RequestParts::new("GET", "/api/v1/capital", None, b"");
    let signed = trader.sign_request(&balance, TS, None).unwrap();
    auth.authenticate(&balance, &signed.auth_headers(), TS, lookup).unwrap();
    // The trader's bucket (burst 3) is now empty: the cancel, the refused replay (checked after
    // the rate limit) and the read each took a token.
    assert_eq!(
        auth.authenticate(&balance, &signed.auth_headers(), TS, lookup),
        Err(AuthError::RateLimited { retry_after_ms: 999 })
    );

    // A read-only key may read but not trade.
    let signed = reader.sign_request(&cancel_request(), TS, Some(5000)).unwrap();
    assert_eq!(auth.authenticate(&cancel_request(), &signed.auth_headers(), TS, lookup), Err(AuthError::Forbidden));
    let signed = reader.sign_request(&balance, TS, None).unwrap();
    auth.authenticate(&balance, &signed.auth_headers(), TS, lookup).unwrap();

    // Unknown key; forged signature (does not consume the victim's quota).
    let stranger = Signer::from_seed(&[8; 32]);
    let signed = stranger.sign_request(&balance, TS, None).unwrap();
    assert_eq!(auth.authenticate(&balance, &signed.auth_headers(), TS, lookup), Err(AuthError::UnknownApiKey));
    let mut forged = signed.clone();
    forged.api_key = reader.api_key().to_base64();
    for _ in 0..10 {
        assert_eq!(auth.authenticate(&balance, &forged.auth_headers(), TS, lookup), Err(AuthError::InvalidSignature));
    }
    let signed = reader.sign_request(&balance, TS + 1, None).unwrap();
    auth.authenticate(&balance, &signed.auth_headers(), TS + 1, lookup).unwrap();

    // WebSocket subscription.
    let signed = reader.sign_subscribe(TS, 5000);
    let parts = signed.ws_signature();
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    let ok = auth.authenticate_subscribe(&AuthHeaders::from_ws_signature(&refs), TS, lookup).unwrap();
    assert_eq!(ok.account, "reader");
}
