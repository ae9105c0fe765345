-- What each position lifetime closed, what its own liquidation closed, and the liquidation fees
-- it paid. Rows written before this migration read 0 until `rucksack history rebuild`.
ALTER TABLE perp_positions ADD COLUMN closed_volume BIGINT NOT NULL DEFAULT 0;
ALTER TABLE perp_positions ADD COLUMN liquidated BIGINT NOT NULL DEFAULT 0;
ALTER TABLE perp_positions ADD COLUMN liquidation_fees BIGINT NOT NULL DEFAULT 0;
