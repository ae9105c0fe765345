-- Perpetual futures' history. Fine units (10^-12 of a tick times a lot) can pass 64 bits, so
-- they are stored as 16-byte little-endian integers; sizes (lots) and quote amounts are 64-bit.

-- Each market's funding at each interval end, and the command that paid it.
CREATE TABLE funding_rates (
    market BIGINT NOT NULL,
    interval_end BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    rate BIGINT NOT NULL,
    mark BYTEA NOT NULL,
    per_lot BYTEA NOT NULL,
    cumulative BYTEA NOT NULL,
    PRIMARY KEY (market, interval_end)
);
-- A funding payment shows the market's latest funding at or before it.
CREATE INDEX funding_rates_by_seq ON funding_rates (market, seq, interval_end);

-- Each realization's non-zero parts by source (RealizePnl, TradingFees, FundingPayment), in
-- quote units, positive when the account received them; `position` is the realization event's
-- index within its command.
CREATE TABLE settlements (
    seq BIGINT NOT NULL,
    position BIGINT NOT NULL,
    source TEXT NOT NULL,
    account BIGINT NOT NULL,
    market BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    time BIGINT NOT NULL,
    PRIMARY KEY (seq, position, source)
);
CREATE INDEX settlements_by_account ON settlements (account, seq, position, source);
CREATE INDEX settlements_by_account_source ON settlements (account, source, seq, position);

-- One row per position lifetime, keyed by the fill that opened it; `closed_at` is null while it
-- is open. `pnl_base` is the engine's realized PnL of the holding when the lifetime opened, so
-- `realized_pnl` counts this lifetime's alone.
CREATE TABLE perp_positions (
    seq BIGINT NOT NULL,
    position BIGINT NOT NULL,
    account BIGINT NOT NULL,
    market BIGINT NOT NULL,
    size BIGINT NOT NULL,
    entry_value BYTEA NOT NULL,
    realized_pnl BYTEA NOT NULL,
    pnl_base BYTEA NOT NULL,
    fees BIGINT NOT NULL,
    opened_at BIGINT NOT NULL,
    closed_at BIGINT,
    PRIMARY KEY (seq, position)
);
CREATE INDEX perp_positions_by_account ON perp_positions (account, seq, position);
CREATE INDEX perp_positions_by_account_market ON perp_positions (account, market, seq, position);
-- At most one open lifetime per account and market; the writer loads them by account.
CREATE UNIQUE INDEX perp_positions_open ON perp_positions (account, market) WHERE closed_at IS NULL;
