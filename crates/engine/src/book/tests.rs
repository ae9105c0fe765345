use rucksack_types::{Lots, OrderId, Side, Ticks};

use super::standalone::OrderBook;

fn depth(book: &OrderBook, side: Side) -> Vec<(i64, i64)> {
    book.depth(side).into_iter().map(|(p, q)| (p.0, q.0)).collect()
}

#[test]
fn levels_stay_sorted_best_first_on_both_sides() {
    let mut book = OrderBook::default();
    for (id, price) in [(1, 100), (2, 98), (3, 99), (4, 97)] {
        book.add(OrderId(id), Side::Bid, Ticks(price), Lots(1));
    }
    for (id, price) in [(5, 103), (6, 101), (7, 102)] {
        book.add(OrderId(id), Side::Ask, Ticks(price), Lots(2));
    }
    assert_eq!(depth(&book, Side::Bid), vec![(100, 1), (99, 1), (98, 1), (97, 1)]);
    assert_eq!(depth(&book, Side::Ask), vec![(101, 2), (102, 2), (103, 2)]);
}

#[test]
fn cancel_anywhere_in_a_level_keeps_the_fifo_intact() {
    let mut book = OrderBook::default();
    for id in 1..=4 {
        book.add(OrderId(id), Side::Ask, Ticks(50), Lots(id as i64));
    }
    assert!(book.cancel(OrderId(2)));
    assert!(book.cancel(OrderId(4)));
    assert!(!book.cancel(OrderId(4)));
    assert_eq!(depth(&book, Side::Ask), vec![(50, 4)]);
    // Time priority among the survivors: 1 then 3.
    assert_eq!(book.take(Side::Bid, Ticks(50), Lots(2)), Lots(2));
    assert_eq!(depth(&book, Side::Ask), vec![(50, 2)]);
    assert!(!book.cancel(OrderId(1)), "order 1 was filled first");
    assert!(book.cancel(OrderId(3)));
    assert!(book.is_empty());
    assert_eq!(book.best_ask(), None);
}

#[test]
fn a_crossing_order_takes_then_rests_its_remainder() {
    let mut book = OrderBook::default();
    book.add(OrderId(1), Side::Ask, Ticks(10), Lots(3));
    book.add(OrderId(2), Side::Ask, Ticks(11), Lots(3));
    assert_eq!(book.add(OrderId(3), Side::Bid, Ticks(11), Lots(8)), Lots(6));
    assert_eq!(depth(&book, Side::Bid), vec![(11, 2)]);
    assert_eq!(book.best_ask(), None);
    assert_eq!(book.len(), 1);
}
