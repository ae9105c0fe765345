//! Which instruction each signed endpoint is signed with, and which permission it needs.

use super::keys::Permissions;

/// Instruction of a private WebSocket `SUBSCRIBE` (and `UNSUBSCRIBE`, which CCXT re-signs the
/// same way).
pub const WS_SUBSCRIBE_INSTRUCTION: &str = "subscribe";

/// Every signed REST endpoint as `(method, path, instruction)`.
///
/// From Backpack's OpenAPI "Instruction" lines, plus the values clients use where the spec shows
/// none (withdrawal delay, liquidation price: SDK; vault history, 2FA: official Rust client;
/// `history/pnl`: removed from the venue, still sent by bpx-py).
pub const SIGNED_ENDPOINTS: &[(&str, &str, &str)] = &[
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
    ("GET", "/wapi/v1/history/vault/mint", "vaultMintHistoryQueryAll"),
    ("GET", "/wapi/v1/history/vault/redeem", "vaultRedeemHistoryQueryAll"),
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
    ("POST", "/wapi/v1/user/2fa", "issueTwoFactorToken"),
];

/// The instruction a request to `method` `path` is signed with, or `None` for public endpoints.
///
/// `path` excludes the query string and must match exactly (no trailing-slash folding). The
/// method is compared case-insensitively. WebSocket frames use their frame method: `SUBSCRIBE`
/// and `UNSUBSCRIBE` map to `subscribe` whatever the path.
pub fn instruction_for(method: &str, path: &str) -> Option<&'static str> {
    if method.eq_ignore_ascii_case("SUBSCRIBE") || method.eq_ignore_ascii_case("UNSUBSCRIBE") {
        return Some(WS_SUBSCRIBE_INSTRUCTION);
    }
    SIGNED_ENDPOINTS
        .iter()
        .find(|(m, p, _)| *p == path && m.eq_ignore_ascii_case(method))
        .map(|(_, _, instruction)| *instruction)
}

/// The permission an instruction requires, or `None` for an instruction this server does not
/// know (callers should refuse those).
///
/// Anything that moves funds off the venue or weakens its protection needs `WITHDRAW`; anything
/// that changes positions, orders, loans or account settings needs `TRADE`; queries and
/// WebSocket subscriptions need `READ`.
pub fn permission_for(instruction: &str) -> Option<Permissions> {
    let permission = match instruction {
        "withdraw" | "withdrawalDelayCreate" | "withdrawalDelayUpdate" | "issueTwoFactorToken" => Permissions::WITHDRAW,
        "orderExecute" | "orderCancel" | "orderCancelAll" | "accountUpdate" | "convertDust" | "borrowLendExecute"
        | "rfqSubmit" | "quoteSubmit" | "quoteAccept" | "rfqRefresh" | "rfqCancel" | "strategyCreate"
        | "strategyCancel" | "strategyCancelAll" | "vaultMint" | "vaultRedeemRequest" | "vaultRedeemCancel" => {
            Permissions::TRADE
        }
        WS_SUBSCRIBE_INSTRUCTION => Permissions::READ,
        other => {
            let known_query = SIGNED_ENDPOINTS.iter().any(|(_, _, i)| *i == other);
            if !known_query {
                return None;
            }
            Permissions::READ
        }
    };
    Some(permission)
}
