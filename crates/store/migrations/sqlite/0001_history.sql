-- The history read models. Every integer is a 64-bit signed value (ids, sequence numbers,
-- microsecond times, ticks, lots, base units); enums are the venue's names as text. Tables keyed
-- by more than one column are clustered on their key (WITHOUT ROWID); `orders.id` is the rowid.

-- The last sequence number whose events are stored: one row, written in the same transaction
-- as the rows it covers.
CREATE TABLE projection (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq BIGINT NOT NULL
);
INSERT INTO projection (id, last_seq) VALUES (1, 0);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    account BIGINT NOT NULL,
    market BIGINT NOT NULL,
    client_id BIGINT,
    side TEXT NOT NULL,
    limit_price BIGINT,
    quantity BIGINT,
    quote_quantity BIGINT,
    time_in_force TEXT NOT NULL,
    self_trade_prevention TEXT NOT NULL,
    status TEXT NOT NULL,
    expiry_reason TEXT,
    executed BIGINT NOT NULL,
    executed_quote BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX orders_by_account ON orders (account, created_at, id);
CREATE INDEX orders_by_account_market ON orders (account, market, created_at, id);

-- Two rows per trade: the taker's and the maker's.
CREATE TABLE fills (
    market BIGINT NOT NULL,
    trade BIGINT NOT NULL,
    is_maker BOOLEAN NOT NULL,
    order_id BIGINT NOT NULL,
    client_id BIGINT,
    account BIGINT NOT NULL,
    side TEXT NOT NULL,
    price BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    fee BIGINT NOT NULL,
    time BIGINT NOT NULL,
    PRIMARY KEY (market, trade, is_maker)
) WITHOUT ROWID;
CREATE INDEX fills_by_account ON fills (account, time, trade, is_maker, market);
CREATE INDEX fills_by_account_market ON fills (account, market, time, trade, is_maker);
CREATE INDEX fills_by_order ON fills (order_id);

-- Trade ids count per market.
CREATE TABLE trades (
    market BIGINT NOT NULL,
    id BIGINT NOT NULL,
    price BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    quote BIGINT NOT NULL,
    buyer_is_maker BOOLEAN NOT NULL,
    time BIGINT NOT NULL,
    PRIMARY KEY (market, id)
) WITHOUT ROWID;
CREATE INDEX trades_by_time ON trades (market, time);

-- Deposits and withdrawals; `position` is the event's index within its command.
CREATE TABLE transfers (
    seq BIGINT NOT NULL,
    position BIGINT NOT NULL,
    kind TEXT NOT NULL,
    account BIGINT NOT NULL,
    asset BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    tx BLOB NOT NULL,
    time BIGINT NOT NULL,
    PRIMARY KEY (seq, position)
) WITHOUT ROWID;
CREATE INDEX transfers_by_account ON transfers (account, kind, seq, position);

-- One-minute candles, kept as trades are stored; longer intervals are aggregated from these.
-- first_trade / last_trade are the ids whose prices are open / close.
CREATE TABLE candles_1m (
    market BIGINT NOT NULL,
    start_secs BIGINT NOT NULL,
    open BIGINT NOT NULL,
    high BIGINT NOT NULL,
    low BIGINT NOT NULL,
    close BIGINT NOT NULL,
    volume BIGINT NOT NULL,
    quote_volume BIGINT NOT NULL,
    trades BIGINT NOT NULL,
    first_trade BIGINT NOT NULL,
    last_trade BIGINT NOT NULL,
    PRIMARY KEY (market, start_secs)
) WITHOUT ROWID;
