//! The trigger section of a snapshot: each market's last trade price, and every waiting trigger
//! order as the command that placed it.

use rucksack_types::codec::{Reader, Writer, decode_command, encode_command};
use rucksack_types::{Command, OrderId, Ticks, Timestamp};

use super::SnapshotError;
use crate::engine::Engine;
use crate::triggers::PendingTrigger;

impl Engine {
    pub(super) fn encode_triggers(&self, out: &mut Writer) {
        for market in &self.markets {
            match market.last_price {
                Some(price) => {
                    out.u8(1);
                    out.i64(price.0);
                }
                None => out.u8(0),
            }
        }
        out.u64(self.triggers.pending.len() as u64);
        for (id, trigger) in &self.triggers.pending {
            out.u64(id.0);
            out.u8(u8::from(trigger.rising));
            match trigger.related {
                Some(related) => {
                    out.u8(1);
                    out.u64(related.0);
                }
                None => out.u8(0),
            }
            let mut command = Writer::with_capacity(96);
            encode_command(Timestamp(0), &Command::PlaceOrder(trigger.new), &mut command);
            out.u32(command.bytes.len() as u32);
            out.bytes(&command.bytes);
        }
    }

    pub(super) fn decode_triggers(&mut self, r: &mut Reader<'_>) -> Result<(), SnapshotError> {
        for market in &mut self.markets {
            market.last_price = match r.u8()? {
                0 => None,
                1 => Some(Ticks(r.i64()?)),
                _ => return Err(SnapshotError::Inconsistent("last price tag")),
            };
        }
        let count = r.u64()?;
        for _ in 0..count {
            let id = OrderId(r.u64()?);
            let rising = match r.u8()? {
                0 => false,
                1 => true,
                _ => return Err(SnapshotError::Inconsistent("trigger direction")),
            };
            let related = match r.u8()? {
                0 => None,
                1 => Some(OrderId(r.u64()?)),
                _ => return Err(SnapshotError::Inconsistent("related order tag")),
            };
            let len = r.u32()? as usize;
            let (_, command) = decode_command(r.slice(len)?)?;
            let Command::PlaceOrder(new) = command else {
                return Err(SnapshotError::Inconsistent("trigger is not an order"));
            };
            if new.trigger.is_none() || self.ledger.find(new.account).is_none() {
                return Err(SnapshotError::Inconsistent("trigger order"));
            }
            self.triggers.insert(id, PendingTrigger { new, rising, related });
        }
        Ok(())
    }
}
