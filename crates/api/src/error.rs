//! Errors as the venue sends them: `{"code": <ApiErrorCode>, "message": ...}` with an HTTP
//! status. Success bodies never carry a top-level `code`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rucksack_types::{FieldError, Reject};

use crate::auth::AuthError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_CLIENT_REQUEST", message)
    }

    pub fn invalid_symbol() -> ApiError {
        ApiError::bad_request("Invalid market symbol")
    }

    pub fn invalid_asset() -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_ASSET", "Invalid asset")
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND", message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN", message)
    }

    pub fn busy() -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "TOO_MANY_REQUESTS", "Server is busy, try again")
    }

    pub fn unavailable() -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "SERVER_ERROR", "The exchange is shutting down")
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> ApiError {
        let code = match error.field {
            "price" | "triggerPrice" => "INVALID_PRICE",
            "quantity" | "quoteQuantity" | "amount" => "INVALID_QUANTITY",
            _ => "INVALID_CLIENT_REQUEST",
        };
        ApiError::new(StatusCode::BAD_REQUEST, code, error.to_string())
    }
}

impl From<Reject> for ApiError {
    fn from(reject: Reject) -> ApiError {
        let status = match reject {
            Reject::UnknownAccount => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, reject.code(), reject.to_string())
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> ApiError {
        let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::UNAUTHORIZED);
        ApiError::new(status, error.code(), error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        metrics::counter!("rucksack_rejected_requests_total", "code" => self.code).increment(1);
        let body = serde_json::json!({ "code": self.code, "message": self.message });
        (self.status, axum::Json(body)).into_response()
    }
}
