//! Rebuilding the string a client signed from the request it sent.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use super::error::AuthError;
use super::instruction::WS_SUBSCRIBE_INSTRUCTION;

/// Window used in the signed string when `X-Window` is absent.
pub const DEFAULT_WINDOW_MS: u64 = 5000;
/// Largest accepted `X-Window`.
pub const MAX_WINDOW_MS: u64 = 60_000;

/// The batch endpoint, whose JSON-array body is signed order by order.
const BATCH_PATH: &str = "/api/v1/orders";
/// Upper bound on renderings tried per request, so a bad signature costs a bounded number of
/// verifications.
const MAX_CANDIDATES: usize = 12;

/// The parts of an HTTP request that the signature covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestParts<'a> {
    /// HTTP method, e.g. `"GET"` (compared case-insensitively).
    pub method: &'a str,
    /// Path without the query string, e.g. `"/api/v1/order"`.
    pub path: &'a str,
    /// The raw (still percent-encoded) query string, without the `?`.
    pub query: Option<&'a str>,
    /// The raw body; empty when there is none.
    pub body: &'a [u8],
}

impl<'a> RequestParts<'a> {
    /// A request with every part given.
    pub const fn new(method: &'a str, path: &'a str, query: Option<&'a str>, body: &'a [u8]) -> Self {
        Self { method, path, query, body }
    }
}

/// Which rendering of the parameter values a signature matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rendering {
    /// Raw values (bpx-py, backpack-exchange-sdk, the official Rust client).
    Raw,
    /// Percent-encoded values, as CCXT builds them with `urllib.parse.urlencode(quote_via=quote)`.
    PercentEncoded,
    /// A best-effort variant for inputs clients do not sign consistently: explicit nulls
    /// (`None`/`null`), strings needing JSON escapes (Rust client), repeated query keys, or a
    /// request with both a query string and a body.
    Fallback,
}

/// The signed string in its canonical (raw) rendering — what bpx-py, the SDK and the Rust client
/// sign, and what CCXT signs whenever its percent-encoding changes nothing.
///
/// Rules:
/// * Parameters come from the JSON body for non-GET requests with a non-empty body (top-level
///   object keys), otherwise from the query string. Keys are sorted by byte order; keys whose
///   value is JSON `null` are left out.
/// * Values: strings as their decoded text, numbers as the exact text sent, booleans as
///   `true`/`false`, nested objects and arrays as their JSON text with insignificant whitespace
///   removed (key order and number text as sent; no client signs these consistently).
/// * Query values are form-decoded (`%XX`, `+` as space) and `True`/`False` (any case) become
///   `true`/`false`: bpx-py and the SDK put Python booleans in query strings but sign them
///   lower-case.
/// * `POST /api/v1/orders` with a JSON array body: one `instruction=<instruction>&<sorted params>`
///   per order, joined by `&`.
/// * Then `&timestamp=<timestamp>&window=<window>`, with the header texts as sent.
pub fn signing_string(
    request: &RequestParts<'_>,
    instruction: &str,
    timestamp: &str,
    window: &str,
) -> Result<String, AuthError> {
    let extracted = extract(request)?;
    Ok(render(instruction, &extracted.params, RAW, timestamp, window))
}

/// Every rendering worth trying for a request, canonical first, without duplicates: the raw
/// string of [`signing_string`]; CCXT's percent-encoded form (unreserved characters kept,
/// everything else `%XX`, including `/` — and, should a client keep `/`, that variant too); then
/// fallbacks, only when the request contains what they are for (see [`Rendering::Fallback`]).
pub fn signing_candidates(
    request: &RequestParts<'_>,
    instruction: &str,
    timestamp: &str,
    window: &str,
) -> Result<Vec<(Rendering, String)>, AuthError> {
    let extracted = extract(request)?;
    let params = &extracted.params;
    let traits = Traits::of(params);
    let mut out: Vec<(Rendering, String)> = Vec::new();
    let mut push = |rendering: Rendering, params: &Params, style: Style| {
        let text = render(instruction, params, style, timestamp, window);
        if out.len() < MAX_CANDIDATES && !out.iter().any(|(_, existing)| *existing == text) {
            out.push((rendering, text));
        }
    };
    push(Rendering::Raw, params, RAW);
    push(Rendering::PercentEncoded, params, CCXT);
    if traits.slash {
        push(Rendering::PercentEncoded, params, Style { encode: Encode::PercentKeepSlash, ..CCXT });
    }
    if traits.null {
        push(Rendering::Fallback, params, Style { nulls: Nulls::Python, ..RAW });
        push(Rendering::Fallback, params, Style { nulls: Nulls::Json, ..RAW });
    }
    if traits.needs_escape {
        push(Rendering::Fallback, params, RUST);
    }
    if traits.repeated_key {
        push(Rendering::Fallback, params, Style { repeats: Repeats::LastWins, ..RAW });
        push(Rendering::Fallback, params, Style { repeats: Repeats::PythonList, ..RAW });
        push(Rendering::Fallback, params, Style { repeats: Repeats::PythonList, ..CCXT });
    }
    if let Some(combined) = &extracted.query_then_body {
        push(Rendering::Fallback, combined, RUST);
    }
    Ok(out)
}

/// The signed string of a private WebSocket subscription: `instruction=subscribe&timestamp=T&window=W`.
pub fn subscribe_signing_string(timestamp: &str, window: &str) -> String {
    format!("instruction={WS_SUBSCRIBE_INSTRUCTION}&timestamp={timestamp}&window={window}")
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    /// A string; percent-encoded and escaped according to the style.
    Str(String),
    /// Number, boolean or nested JSON text, rendered verbatim (CCXT still percent-encodes it).
    Literal(String),
    Null,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Param {
    key: String,
    value: Value,
}

#[derive(Debug)]
enum Params {
    /// One sorted parameter list.
    Flat(Vec<Param>),
    /// The batch endpoint: one sorted list per order.
    Batch(Vec<Vec<Param>>),
}

struct Extracted {
    params: Params,
    /// For a non-GET request with both a query string and a body: the official Rust client signs
    /// the query pairs (sorted) followed by the body pairs (sorted).
    query_then_body: Option<Params>,
}

fn extract(request: &RequestParts<'_>) -> Result<Extracted, AuthError> {
    let query = request.query.map(parse_query).unwrap_or_default();
    let body = trim_json_whitespace(request.body);
    if request.method.eq_ignore_ascii_case("GET") || body.is_empty() {
        return Ok(Extracted { params: Params::Flat(query), query_then_body: None });
    }
    let batch = request.method.eq_ignore_ascii_case("POST") && request.path == BATCH_PATH;
    let params = match body.first() {
        Some(b'{') => Params::Flat(parse_object(body)?),
        Some(b'[') if batch => {
            let orders: Vec<BTreeMap<String, &RawValue>> =
                serde_json::from_slice(body).map_err(|_| AuthError::MalformedBody)?;
            if orders.is_empty() {
                Params::Flat(Vec::new())
            } else {
                Params::Batch(orders.into_iter().map(object_params).collect::<Result<_, _>>()?)
            }
        }
        _ if body == b"null" => Params::Flat(Vec::new()),
        _ => return Err(AuthError::MalformedBody),
    };
    let query_then_body = match &params {
        Params::Flat(body_params) if !query.is_empty() => {
            let mut combined = query;
            combined.extend(body_params.iter().cloned());
            Some(Params::Flat(combined))
        }
        _ => None,
    };
    Ok(Extracted { params, query_then_body })
}

fn trim_json_whitespace(bytes: &[u8]) -> &[u8] {
    let is_ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let start = bytes.iter().position(|b| !is_ws(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !is_ws(b)).map_or(start, |i| i + 1);
    &bytes[start..end]
}

fn parse_object(body: &[u8]) -> Result<Vec<Param>, AuthError> {
    let map: BTreeMap<String, &RawValue> = serde_json::from_slice(body).map_err(|_| AuthError::MalformedBody)?;
    object_params(map)
}

/// A JSON object's entries, already in byte order of keys (`BTreeMap<String, _>`); duplicate
/// keys keep the last value, as every JSON parser the clients use does.
fn object_params(map: BTreeMap<String, &RawValue>) -> Result<Vec<Param>, AuthError> {
    map.into_iter().map(|(key, raw)| Ok(Param { key, value: json_value(raw)? })).collect()
}

fn json_value(raw: &RawValue) -> Result<Value, AuthError> {
    let text = raw.get();
    Ok(match text.as_bytes().first() {
        Some(b'"') => Value::Str(serde_json::from_str(text).map_err(|_| AuthError::MalformedBody)?),
        Some(b'{' | b'[') => Value::Literal(minify_json(text)),
        _ if text == "null" => Value::Null,
        // Numbers keep the exact text sent: that is what a client signed with `str(value)`.
        _ => Value::Literal(text.to_owned()),
    })
}

/// Removes whitespace outside strings from (already validated) JSON text.
fn minify_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

fn parse_query(query: &str) -> Vec<Param> {
    let mut params: Vec<Param> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = form_decode(value);
            let value = if value.eq_ignore_ascii_case("true") {
                "true".to_owned()
            } else if value.eq_ignore_ascii_case("false") {
                "false".to_owned()
            } else {
                value
            };
            Param { key: form_decode(key), value: Value::Str(value) }
        })
        .collect();
    // Stable, so repeated keys keep their order.
    params.sort_by(|a, b| a.key.cmp(&b.key));
    params
}

/// `application/x-www-form-urlencoded` decoding as Python's `unquote_plus`: `+` is a space,
/// malformed `%` escapes stay literal, invalid UTF-8 becomes U+FFFD.
pub(crate) fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let digit = |at: usize| bytes.get(at).copied().and_then(hex);
                match (digit(i + 1), digit(i + 2)) {
                    (Some(hi), Some(lo)) => {
                        out.push(hi << 4 | lo);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy)]
enum Encode {
    Raw,
    /// Python `quote(value, safe='')`: only `A-Z a-z 0-9 _ . - ~` stay as they are.
    Percent,
    /// Python `quote(value)` (default `safe='/'`).
    PercentKeepSlash,
}

#[derive(Debug, Clone, Copy)]
enum Nulls {
    Skip,
    /// Python's `str(None)`.
    Python,
    /// JSON / Rust `null`.
    Json,
}

#[derive(Debug, Clone, Copy)]
enum Repeats {
    /// Every pair, in the order sent.
    Keep,
    /// Only the last pair of a repeated key (a `BTreeMap` built from the pairs).
    LastWins,
    /// One pair whose value is Python's `str(list)`: `['a', 'b']`.
    PythonList,
}

#[derive(Debug, Clone, Copy)]
struct Style {
    encode: Encode,
    nulls: Nulls,
    /// Strings rendered as JSON string contents (`serde_json::Value::to_string` with the quotes
    /// trimmed), as the official Rust client does.
    json_escape: bool,
    repeats: Repeats,
}

const RAW: Style = Style { encode: Encode::Raw, nulls: Nulls::Skip, json_escape: false, repeats: Repeats::Keep };
const CCXT: Style = Style { encode: Encode::Percent, ..RAW };
const RUST: Style = Style { nulls: Nulls::Json, json_escape: true, repeats: Repeats::LastWins, ..RAW };

struct Traits {
    null: bool,
    slash: bool,
    needs_escape: bool,
    repeated_key: bool,
}

impl Traits {
    fn of(params: &Params) -> Self {
        let lists: Vec<&[Param]> = match params {
            Params::Flat(list) => vec![list.as_slice()],
            Params::Batch(orders) => orders.iter().map(Vec::as_slice).collect(),
        };
        let values = || lists.iter().flat_map(|list| list.iter().map(|p| &p.value));
        Self {
            null: values().any(|v| *v == Value::Null),
            slash: values().any(|v| matches!(v, Value::Str(s) | Value::Literal(s) if s.contains('/'))),
            needs_escape: values().any(|v| matches!(v, Value::Str(s) if s.chars().any(needs_json_escape))),
            repeated_key: lists.iter().any(|list| list.windows(2).any(|w| w[0].key == w[1].key)),
        }
    }
}

fn needs_json_escape(c: char) -> bool {
    c == '"' || c == '\\' || c < ' '
}

fn render(instruction: &str, params: &Params, style: Style, timestamp: &str, window: &str) -> String {
    let mut out = String::with_capacity(128);
    match params {
        Params::Flat(list) => {
            out.push_str("instruction=");
            out.push_str(instruction);
            render_params(&mut out, list, style);
        }
        Params::Batch(orders) => {
            for (n, order) in orders.iter().enumerate() {
                if n > 0 {
                    out.push('&');
                }
                out.push_str("instruction=");
                out.push_str(instruction);
                render_params(&mut out, order, style);
            }
        }
    }
    out.push_str("&timestamp=");
    out.push_str(timestamp);
    out.push_str("&window=");
    out.push_str(window);
    out
}

fn render_params(out: &mut String, params: &[Param], style: Style) {
    for group in params.chunk_by(|a, b| a.key == b.key) {
        let key = &group[0].key;
        match style.repeats {
            Repeats::Keep => group.iter().for_each(|p| render_pair(out, key, &p.value, style)),
            Repeats::LastWins => render_pair(out, key, &group[group.len() - 1].value, style),
            Repeats::PythonList if group.len() > 1 => {
                let items: Vec<String> = group
                    .iter()
                    .map(|p| match &p.value {
                        Value::Str(s) => format!("'{s}'"),
                        Value::Literal(s) => s.clone(),
                        Value::Null => "None".to_owned(),
                    })
                    .collect();
                let list = Value::Str(format!("[{}]", items.join(", ")));
                render_pair(out, key, &list, Style { json_escape: false, ..style });
            }
            Repeats::PythonList => render_pair(out, key, &group[0].value, style),
        }
    }
}

fn render_pair(out: &mut String, key: &str, value: &Value, style: Style) {
    let text: std::borrow::Cow<'_, str> = match value {
        Value::Null => match style.nulls {
            Nulls::Skip => return,
            Nulls::Python => "None".into(),
            Nulls::Json => "null".into(),
        },
        Value::Str(s) if style.json_escape => {
            let quoted = serde_json::Value::String(s.clone()).to_string();
            quoted[1..quoted.len() - 1].to_owned().into()
        }
        Value::Str(s) | Value::Literal(s) => s.as_str().into(),
    };
    out.push('&');
    encode_into(out, key, style.encode);
    out.push('=');
    encode_into(out, &text, style.encode);
}

fn encode_into(out: &mut String, text: &str, encode: Encode) {
    let keep_slash = match encode {
        Encode::Raw => {
            out.push_str(text);
            return;
        }
        Encode::Percent => false,
        Encode::PercentKeepSlash => true,
    };
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~') || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
}
