//! The money market: one pool per asset.
//!
//! A pool keeps exact integer totals: `lent` (what lenders can claim), `borrowed` (what
//! borrowers owe) and the house's `fee_claim` and `dust_claim` on interest not yet collected.
//! Its cash, the tokens physically in it, is `lent + fee_claim + dust_claim - borrowed` and
//! never negative. Accounts hold shares; an account's lend is its pro-rata part of `lent`
//! rounded down, its debt its part of `borrowed` rounded up, so the sum over accounts never
//! exceeds what the pool can pay and never falls short of what it is owed.
//!
//! Interest changes only the totals: charging an hour adds the interest to `borrowed` and
//! splits the same amount between `lent`, the fee and dust, so the cost is O(1) per pool and no
//! account is visited. Share prices (`lent / lend_shares`, `borrowed / borrow_shares`) are the
//! pool's indices; every operation rounds so they never fall.

use rucksack_types::money::{Overflow, mul_div};
use rucksack_types::{Amount, Fraction, LendingSpec, Rounding};

#[cfg(test)]
mod tests;

/// Shares minted per unit when a pool side is empty, so later share prices keep precision.
const SHARES_PER_UNIT: i128 = 1_000_000;
/// Hours in the year interest rates are quoted over.
pub const HOURS_PER_YEAR: i128 = 24 * 365;
pub const MICROS_PER_HOUR: u64 = 3_600_000_000;

/// An account's stake in one pool. One account never lends and borrows the same asset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PoolPosition {
    #[default]
    None,
    Lend(i128),
    Borrow(i128),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pool {
    pub lent: Amount,
    pub borrowed: Amount,
    pub lend_shares: i128,
    pub borrow_shares: i128,
    /// The exchange's part of interest, owed to it by the pool until cash allows collecting it.
    pub fee_claim: Amount,
    /// Rounding residue of interest and borrows, likewise.
    pub dust_claim: Amount,
}

/// What a pool operation moved; the caller applies the account side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Movement {
    /// Shares minted (lend, borrow) or burnt (redeem, repay).
    pub shares: i128,
    /// What left (lend, repay) or reached (redeem, borrow) the account's available balance.
    pub amount: Amount,
    /// Units the account paid that the pool did not take: rounding residue for the dust account.
    pub dust: Amount,
}

/// One hour's interest on a pool, split to the unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InterestSplit {
    pub interest: Amount,
    pub lenders: Amount,
    pub fee: Amount,
    pub dust: Amount,
}

impl Pool {
    /// Tokens held by the pool.
    pub fn cash(&self) -> i128 {
        i128::from(self.lent.0) + i128::from(self.fee_claim.0) + i128::from(self.dust_claim.0)
            - i128::from(self.borrowed.0)
    }

    /// Everything the pool owes: lenders' claims plus the house's.
    fn supply(&self) -> i128 {
        i128::from(self.lent.0) + i128::from(self.fee_claim.0) + i128::from(self.dust_claim.0)
    }

    /// Borrowed over supplied, rounded up; zero for an empty pool.
    pub fn utilization(&self) -> Fraction {
        utilization(i128::from(self.borrowed.0), self.supply())
    }

    /// What `shares` of the lend side are worth, rounded down.
    pub fn lend_value(&self, shares: i128) -> Amount {
        share_value(shares, self.lent, self.lend_shares, Rounding::Down)
    }

    /// What `shares` of the borrow side owe, rounded up.
    pub fn debt_value(&self, shares: i128) -> Amount {
        share_value(shares, self.borrowed, self.borrow_shares, Rounding::Up)
    }

    /// Puts `amount` into the pool. Shares are rounded down and the pool credits only what they
    /// are worth (rounded up, at most `amount`); the rest is dust.
    pub fn lend(&mut self, amount: Amount) -> Result<Movement, Overflow> {
        let (shares, credited) = if self.lend_shares == 0 {
            (i128::from(amount.0).checked_mul(SHARES_PER_UNIT).ok_or(Overflow)?, amount)
        } else {
            let shares = mul_div(i128::from(amount.0), self.lend_shares, i128::from(self.lent.0), Rounding::Down)?;
            (shares, share_value(shares, self.lent, self.lend_shares, Rounding::Up))
        };
        if shares <= 0 {
            return Err(Overflow);
        }
        self.lent = self.lent.checked_add(credited)?;
        self.lend_shares = self.lend_shares.checked_add(shares).ok_or(Overflow)?;
        Ok(Movement { shares, amount, dust: amount.checked_sub(credited)? })
    }

    /// Takes up to `amount` out of a lend of `position` shares: exactly `amount` when the lend
    /// is worth that much, else all of it.
    pub fn redeem(&mut self, position: i128, amount: Amount) -> Result<Movement, Overflow> {
        let worth = self.lend_value(position);
        let (shares, paid) = if amount >= worth {
            (position, worth)
        } else {
            let shares = mul_div(i128::from(amount.0), self.lend_shares, i128::from(self.lent.0), Rounding::Up)?;
            (shares.min(position), amount)
        };
        self.lent = self.lent.checked_sub(paid)?;
        self.lend_shares -= shares;
        Ok(Movement { shares, amount: paid, dust: Amount::ZERO })
    }

    /// Lends `amount` out of the pool, adding `entry_fee` to the debt. The debt is rounded up
    /// to whole shares; that residue is dust, and the fee is split like interest.
    pub fn borrow(&mut self, amount: Amount, entry_fee: Amount, spec: &LendingSpec) -> Result<Movement, Overflow> {
        let owed = amount.checked_add(entry_fee)?;
        let (shares, debt) = if self.borrow_shares == 0 {
            (i128::from(owed.0).checked_mul(SHARES_PER_UNIT).ok_or(Overflow)?, owed)
        } else {
            let shares = mul_div(i128::from(owed.0), self.borrow_shares, i128::from(self.borrowed.0), Rounding::Up)?;
            (shares, share_value(shares, self.borrowed, self.borrow_shares, Rounding::Up))
        };
        self.borrowed = self.borrowed.checked_add(debt)?;
        self.borrow_shares = self.borrow_shares.checked_add(shares).ok_or(Overflow)?;
        let split = split_interest(entry_fee, spec)?;
        self.credit_interest(&split)?;
        self.dust_claim = self.dust_claim.checked_add(debt.checked_sub(owed)?)?;
        Ok(Movement { shares, amount, dust: Amount::ZERO })
    }

    /// Pays back up to `amount` of a borrow of `position` shares: all of it when `amount`
    /// covers the debt, else the whole shares `amount` buys. What the account pays beyond what
    /// the pool's total falls by (at most one unit of rounding) is dust.
    pub fn repay(&mut self, position: i128, amount: Amount) -> Result<Movement, Overflow> {
        let debt = self.debt_value(position);
        let shares = if amount >= debt {
            position
        } else {
            mul_div(i128::from(amount.0), self.borrow_shares, i128::from(self.borrowed.0), Rounding::Down)?
                .min(position)
        };
        if shares == 0 {
            return Err(Overflow);
        }
        let cost = if shares == position { debt } else { self.debt_value(shares) };
        let reduction = share_value(shares, self.borrowed, self.borrow_shares, Rounding::Down);
        self.borrowed = self.borrowed.checked_sub(reduction)?;
        self.borrow_shares -= shares;
        Ok(Movement { shares, amount: cost, dust: cost.checked_sub(reduction)? })
    }

    /// Writes off a borrow of `position` shares nobody can repay: the pool's lenders (then the
    /// house's claims) bear it, pro rata, so its cash does not change. The borrow side's share
    /// price does not fall; the lend side's does. Returns the debt written off.
    pub fn write_off(&mut self, position: i128) -> Amount {
        let written_off = share_value(position, self.borrowed, self.borrow_shares, Rounding::Down);
        self.borrowed.0 -= written_off.0;
        self.borrow_shares -= position;
        let mut left = written_off.0;
        for claim in [&mut self.lent, &mut self.fee_claim, &mut self.dust_claim] {
            let take = left.min(claim.0);
            claim.0 -= take;
            left -= take;
        }
        written_off
    }

    /// Charges one hour at `annual_rate` on everything borrowed.
    pub fn charge_hour(&mut self, annual_rate: Fraction, spec: &LendingSpec) -> Result<InterestSplit, Overflow> {
        let interest = Amount::from_i128(mul_div(
            i128::from(self.borrowed.0),
            i128::from(annual_rate.0),
            i128::from(Fraction::ONE.0) * HOURS_PER_YEAR,
            Rounding::Up,
        )?)?;
        self.borrowed = self.borrowed.checked_add(interest)?;
        let split = split_interest(interest, spec)?;
        self.credit_interest(&split)?;
        Ok(split)
    }

    fn credit_interest(&mut self, split: &InterestSplit) -> Result<(), Overflow> {
        if self.lend_shares == 0 {
            // No lender to earn it: the house keeps the lenders' part as fee.
            self.fee_claim = self.fee_claim.checked_add(split.lenders)?;
        } else {
            self.lent = self.lent.checked_add(split.lenders)?;
        }
        self.fee_claim = self.fee_claim.checked_add(split.fee)?;
        self.dust_claim = self.dust_claim.checked_add(split.dust)?;
        Ok(())
    }

    /// Hands the house as much of its claims as the pool's cash allows; returns (fee, dust).
    pub fn collect_claims(&mut self) -> (Amount, Amount) {
        let cash = self.cash().max(0);
        let fee = Amount(i128::from(self.fee_claim.0).min(cash) as i64);
        let dust = Amount(i128::from(self.dust_claim.0).min(cash - i128::from(fee.0)) as i64);
        self.fee_claim.0 -= fee.0;
        self.dust_claim.0 -= dust.0;
        (fee, dust)
    }

    /// The most a redemption can take without leaving utilization above `limit` or the pool
    /// short of cash.
    pub fn max_redeemable(&self, limit: Fraction) -> Amount {
        let borrowed = i128::from(self.borrowed.0);
        // utilization(b, s) = ceil(b / s) <= limit  <=>  s >= ceil(b * ONE / limit)
        let least_supply = if borrowed == 0 || limit.0 <= 0 {
            if borrowed == 0 { 0 } else { i128::MAX }
        } else {
            mul_div(borrowed, i128::from(Fraction::ONE.0), i128::from(limit.0), Rounding::Up).unwrap_or(i128::MAX)
        };
        let by_throttle = self.supply().saturating_sub(least_supply);
        Amount(by_throttle.min(self.cash()).clamp(0, i128::from(i64::MAX)) as i64)
    }

    /// Utilization if `borrowed` and `supply` changed by the given amounts.
    pub fn utilization_after(&self, borrowed_delta: i128, supply_delta: i128) -> Fraction {
        utilization(i128::from(self.borrowed.0) + borrowed_delta, self.supply() + supply_delta)
    }
}

/// Lenders get `interest * (1 - fee)` rounded down, the exchange `interest * fee` rounded down,
/// and the unit or so left over is dust.
pub fn split_interest(interest: Amount, spec: &LendingSpec) -> Result<InterestSplit, Overflow> {
    let total = i128::from(interest.0);
    let lenders = Amount::from_i128(Fraction(Fraction::ONE.0 - spec.fee.0).of(total, Rounding::Down)?)?;
    let fee = Amount::from_i128(spec.fee.of(total, Rounding::Down)?)?;
    let dust = interest.checked_sub(lenders)?.checked_sub(fee)?;
    Ok(InterestSplit { interest, lenders, fee, dust })
}

/// The annual lend rate a pool pays at `utilization`: `borrow rate * U * (1 - fee)`, down.
pub fn lend_rate(borrow_rate: Fraction, utilization: Fraction, fee: Fraction) -> Fraction {
    let earned = Fraction(utilization.of(i128::from(borrow_rate.0), Rounding::Down).unwrap_or(0) as i64);
    Fraction(Fraction(Fraction::ONE.0 - fee.0).of(i128::from(earned.0), Rounding::Down).unwrap_or(0) as i64)
}

/// Interest on `debt` at `annual_rate` for `micros`, rounded up: a borrow's entry fee.
pub fn interest_for(debt: Amount, annual_rate: Fraction, micros: u64) -> Result<Amount, Overflow> {
    let per_year = mul_div(i128::from(debt.0), i128::from(annual_rate.0), i128::from(Fraction::ONE.0), Rounding::Up)?;
    Amount::from_i128(mul_div(
        per_year,
        i128::from(micros),
        HOURS_PER_YEAR * i128::from(MICROS_PER_HOUR),
        Rounding::Up,
    )?)
}

fn utilization(borrowed: i128, supply: i128) -> Fraction {
    if borrowed <= 0 {
        return Fraction::ZERO;
    }
    if supply <= 0 {
        return Fraction::ONE;
    }
    Fraction::ratio(borrowed, supply, Rounding::Up).unwrap_or(Fraction::ONE)
}

fn share_value(shares: i128, total: Amount, total_shares: i128, rounding: Rounding) -> Amount {
    if total_shares == 0 || shares == 0 {
        return Amount::ZERO;
    }
    // shares <= total_shares, so the value is at most `total` and fits.
    mul_div(shares, i128::from(total.0), total_shares, rounding).map_or(total, |v| Amount(v as i64))
}
