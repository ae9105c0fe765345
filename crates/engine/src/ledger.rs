//! The account ledger: per account and asset an available and a locked balance, the house's
//! fee and dust accounts, and custody totals (what came in minus what went out), which the
//! books must always balance against.

use std::collections::{BTreeMap, BTreeSet};

use rucksack_types::{AccountId, AccountSettings, Amount, ApiKey, AssetId, Permissions, TxId};
use rustc_hash::FxHashMap;

use crate::book::arena::{AccountIndex, Handle, NIL};
use crate::lending::PoolPosition;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Balance {
    /// Free to trade or withdraw.
    pub available: Amount,
    /// Reserved by open orders.
    pub locked: Amount,
}

#[derive(Clone, Debug)]
pub(crate) struct Account {
    pub id: AccountId,
    pub balances: Vec<Balance>,
    /// The account's open orders, oldest first (so in order-id order).
    pub orders_head: Handle,
    pub orders_tail: Handle,
    pub settings: AccountSettings,
    /// Per asset: the account's lend or borrow in the asset's pool.
    pub positions: Vec<PoolPosition>,
    /// Positions and open-order sums in perpetual markets, in market order.
    pub perps: Vec<crate::perp::PerpHolding>,
    pub margin_memo: crate::margin_check::MarginMemo,
}

/// Money that entered and left the venue for one asset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Custody {
    pub deposited: i128,
    pub withdrawn: i128,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Ledger {
    pub accounts: Vec<Account>,
    index: FxHashMap<AccountId, AccountIndex>,
    /// Per asset: fees collected minus rebates paid.
    pub fees: Vec<Amount>,
    /// Per asset: rounding residue (a buyer's cost rounded up, a seller's proceeds rounded down).
    pub dust: Vec<Amount>,
    pub custody: Vec<Custody>,
    /// Per asset: the insurance fund, paid by liquidation fees and backstop shares, paying
    /// deficits of bankrupt accounts.
    pub insurance: Vec<Amount>,
    pub deposits_seen: BTreeSet<TxId>,
    pub withdrawals_seen: BTreeSet<TxId>,
    /// API keys and the account and permissions each acts with.
    pub api_keys: BTreeMap<ApiKey, (AccountId, Permissions)>,
}

impl Ledger {
    pub fn asset_count(&self) -> usize {
        self.fees.len()
    }

    pub fn add_asset(&mut self) {
        self.fees.push(Amount::ZERO);
        self.dust.push(Amount::ZERO);
        self.custody.push(Custody::default());
        self.insurance.push(Amount::ZERO);
        for account in &mut self.accounts {
            account.balances.push(Balance::default());
            account.positions.push(PoolPosition::None);
        }
    }

    /// The id a newly created account gets: one past the highest id in use.
    pub fn next_account_id(&self) -> AccountId {
        AccountId(self.accounts.iter().map(|a| a.id.0).max().unwrap_or(0) + 1)
    }

    pub fn find(&self, id: AccountId) -> Option<AccountIndex> {
        self.index.get(&id).copied()
    }

    pub fn find_or_open(&mut self, id: AccountId) -> AccountIndex {
        if let Some(index) = self.find(id) {
            return index;
        }
        let index = self.accounts.len() as AccountIndex;
        self.accounts.push(Account {
            id,
            balances: vec![Balance::default(); self.asset_count()],
            orders_head: NIL,
            orders_tail: NIL,
            settings: AccountSettings::default(),
            positions: vec![PoolPosition::None; self.asset_count()],
            perps: Vec::new(),
            margin_memo: Default::default(),
        });
        self.index.insert(id, index);
        index
    }

    pub fn account(&self, index: AccountIndex) -> &Account {
        &self.accounts[index as usize]
    }

    pub fn account_mut(&mut self, index: AccountIndex) -> &mut Account {
        &mut self.accounts[index as usize]
    }

    pub fn balance(&self, index: AccountIndex, asset: AssetId) -> Balance {
        self.accounts[index as usize].balances[usize::from(asset.0)]
    }

    pub fn balance_mut(&mut self, index: AccountIndex, asset: AssetId) -> &mut Balance {
        &mut self.accounts[index as usize].balances[usize::from(asset.0)]
    }
}
