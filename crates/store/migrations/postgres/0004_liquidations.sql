-- Liquidations on the record: which orders the exchange placed, the positions it moved outside
-- the book, and the insurance fund's every change. Fine prices (10^-12 of a tick) can pass 64
-- bits, so they are 16-byte little-endian integers.

-- Backpack's systemOrderType of an order the exchange placed, and of its fills; null for users'
-- own orders.
ALTER TABLE orders ADD COLUMN system_order_type TEXT;
ALTER TABLE fills ADD COLUMN system_order_type TEXT;

-- Backstop and auto-deleveraging transfers, two rows per transfer (each account's side, which
-- differ); `position` is the transfer event's index within its command.
CREATE TABLE position_transfers (
    seq BIGINT NOT NULL,
    position BIGINT NOT NULL,
    side TEXT NOT NULL,
    account BIGINT NOT NULL,
    counterparty BIGINT NOT NULL,
    market BIGINT NOT NULL,
    system_order_type TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    price BYTEA NOT NULL,
    time BIGINT NOT NULL,
    -- Numbered with the market's trades.
    trade_id BIGINT NOT NULL,
    PRIMARY KEY (seq, position, side)
);
CREATE INDEX position_transfers_by_account ON position_transfers (account, time, seq, position);
CREATE INDEX position_transfers_by_account_market ON position_transfers (account, market, time, seq, position);

-- Every change of the insurance fund, with the balance after it.
CREATE TABLE insurance_fund (
    seq BIGINT NOT NULL,
    position BIGINT NOT NULL,
    asset BIGINT NOT NULL,
    account BIGINT NOT NULL,
    reason TEXT NOT NULL,
    change BIGINT NOT NULL,
    balance BIGINT NOT NULL,
    time BIGINT NOT NULL,
    PRIMARY KEY (seq, position)
);
CREATE INDEX insurance_fund_by_asset ON insurance_fund (asset, seq, position);
