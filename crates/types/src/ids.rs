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

/// An API key: the 32-byte ED25519 public key whose signatures act for an account. Its wire
/// form (base64) and curve-point check live with the API's authentication.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ApiKey(pub [u8; 32]);

impl ApiKey {
    pub const fn from_bytes(bytes: [u8; 32]) -> ApiKey {
        ApiKey(bytes)
    }

    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({})", TxId(self.0))
    }
}

/// The permissions granted to an API key: any combination of [`Permissions::READ`],
/// [`Permissions::TRADE`] and [`Permissions::WITHDRAW`].
///
/// Text form: comma-separated lower-case names (`"read,trade"`); the empty set is `""`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Permissions(u8);

/// A permission name that is not `read`, `trade` or `withdraw`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown permission name")]
pub struct UnknownPermission;

impl Permissions {
    /// No permission.
    pub const NONE: Permissions = Permissions(0);
    /// Queries and private WebSocket streams.
    pub const READ: Permissions = Permissions(1);
    /// Orders, cancels, borrow/lend, RFQ, strategies, vaults, account settings.
    pub const TRADE: Permissions = Permissions(1 << 1);
    /// Withdrawals and withdrawal-security settings.
    pub const WITHDRAW: Permissions = Permissions(1 << 2);
    /// Every permission.
    pub const ALL: Permissions = Permissions(0b111);

    const NAMES: [(Permissions, &'static str); 3] =
        [(Permissions::READ, "read"), (Permissions::TRADE, "trade"), (Permissions::WITHDRAW, "withdraw")];

    /// The raw bits (READ = 1, TRADE = 2, WITHDRAW = 4).
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// From raw bits; `None` if an unknown bit is set.
    pub const fn from_bits(bits: u8) -> Option<Permissions> {
        if bits & !Permissions::ALL.0 == 0 { Some(Permissions(bits)) } else { None }
    }

    /// Whether every permission in `other` is in `self`.
    pub const fn contains(self, other: Permissions) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// `self` with `other` added.
    pub const fn union(self, other: Permissions) -> Permissions {
        Permissions(self.0 | other.0)
    }

    /// `self` with `other` removed.
    pub const fn difference(self, other: Permissions) -> Permissions {
        Permissions(self.0 & !other.0)
    }
}

impl std::ops::BitOr for Permissions {
    type Output = Permissions;

    fn bitor(self, rhs: Permissions) -> Permissions {
        self.union(rhs)
    }
}

impl std::ops::BitOrAssign for Permissions {
    fn bitor_assign(&mut self, rhs: Permissions) {
        *self = self.union(rhs);
    }
}

impl std::ops::BitAnd for Permissions {
    type Output = Permissions;

    fn bitand(self, rhs: Permissions) -> Permissions {
        Permissions(self.0 & rhs.0)
    }
}

impl fmt::Display for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (flag, name) in Permissions::NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Permissions({self})")
    }
}

impl std::str::FromStr for Permissions {
    type Err = UnknownPermission;

    fn from_str(s: &str) -> Result<Permissions, UnknownPermission> {
        let mut set = Permissions::NONE;
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (flag, _) =
                Permissions::NAMES.iter().find(|(_, name)| part.eq_ignore_ascii_case(name)).ok_or(UnknownPermission)?;
            set |= *flag;
        }
        Ok(set)
    }
}
