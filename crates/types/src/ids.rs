//! Identifiers. Each is its own type so an order id can never be passed where an account id is
//! expected.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A trading account (Backpack's subaccount): the owner of balances and orders.
    AccountId(u64)
);
id_type!(
    /// An asset listed on the venue (SOL, USDC, ...), dense from 0.
    AssetId(u16)
);
id_type!(
    /// A market (SOL_USDC, ...), dense from 0.
    MarketId(u16)
);
id_type!(
    /// An order, assigned by the engine in command order, from 1.
    OrderId(u64)
);
id_type!(
    /// The client's own `clientId` (Backpack: uint32), unique among an account's open orders.
    ClientId(u32)
);
id_type!(
    /// A trade, sequential per market from 1 (Backpack's `t`).
    TradeId(u64)
);
id_type!(
    /// The journal sequence number the sequencer stamps on a command, from 1.
    Seq(u64)
);
id_type!(
    /// Microseconds since the Unix epoch, stamped by the sequencer. The engine never reads a
    /// clock; time only arrives inside commands.
    Timestamp(u64)
);

impl Timestamp {
    /// Milliseconds since the epoch, as Backpack prints `createdAt` of live orders.
    pub const fn millis(self) -> u64 {
        self.0 / 1_000
    }
}

/// An external transaction id (a chain transaction hash, a bank reference), reduced at the edge
/// to a fixed 32-byte digest so commands stay plain data. Used to make deposits and
/// withdrawals idempotent.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TxId(pub [u8; 32]);

impl fmt::Debug for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TxId({self})")
    }
}

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in &self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// An API key: the 32-byte ED25519 public key whose signatures act for an account.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ApiKey(pub [u8; 32]);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({})", TxId(self.0))
    }
}

/// What an API key may do, as a set of bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Permissions(u8);

impl Permissions {
    /// Query balances, orders and history.
    pub const READ: Permissions = Permissions(1);
    /// Place and cancel orders.
    pub const TRADE: Permissions = Permissions(2);
    /// Request withdrawals.
    pub const WITHDRAW: Permissions = Permissions(4);
    pub const ALL: Permissions = Permissions(7);

    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Unknown bits are dropped.
    pub const fn from_bits(bits: u8) -> Permissions {
        Permissions(bits & Permissions::ALL.0)
    }

    pub const fn union(self, other: Permissions) -> Permissions {
        Permissions(self.0 | other.0)
    }

    pub const fn contains(self, other: Permissions) -> bool {
        self.0 & other.0 == other.0
    }
}
