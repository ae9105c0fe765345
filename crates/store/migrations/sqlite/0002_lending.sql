-- The money market's history. Share counts can pass 64 bits, so they are stored as 16-byte
-- little-endian integers.

-- Every movement between an account and a pool; `position` is the event's index within its
-- command. `shares` and `value` are the account's position after it (positive: a lend,
-- negative: a borrow).
CREATE TABLE pool_movements (
    seq BIGINT NOT NULL,
    position BIGINT NOT NULL,
    account BIGINT NOT NULL,
    asset BIGINT NOT NULL,
    action TEXT NOT NULL,
    source TEXT NOT NULL,
    amount BIGINT NOT NULL,
    entry_fee BIGINT NOT NULL,
    shares BLOB NOT NULL,
    value BLOB NOT NULL,
    time BIGINT NOT NULL,
    PRIMARY KEY (seq, position)
) WITHOUT ROWID;
CREATE INDEX pool_movements_by_account ON pool_movements (account, asset, seq, position);

-- Each hour's interest charge on a pool, with the pool's totals after it: every position's part
-- of the charge follows from its shares.
CREATE TABLE pool_hours (
    asset BIGINT NOT NULL,
    hour BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    utilization BIGINT NOT NULL,
    borrow_rate BIGINT NOT NULL,
    lend_rate BIGINT NOT NULL,
    interest BIGINT NOT NULL,
    fee BIGINT NOT NULL,
    dust BIGINT NOT NULL,
    lent BIGINT NOT NULL,
    lend_shares BLOB NOT NULL,
    borrowed BIGINT NOT NULL,
    borrow_shares BLOB NOT NULL,
    PRIMARY KEY (asset, hour)
) WITHOUT ROWID;
