use super::*;

fn one(seq: u64, payload: &[u8]) -> Vec<u8> {
    let mut buf = Vec::new();
    encode(&mut buf, seq, payload);
    buf
}

#[test]
fn encode_layout_is_crc_len_seq_payload() {
    let buf = one(7, b"abc");
    assert_eq!(buf.len(), frame_len(3));
    assert_eq!(&buf[4..8], &3u32.to_le_bytes());
    assert_eq!(&buf[8..16], &7u64.to_le_bytes());
    assert_eq!(&buf[16..], b"abc");
    let crc = crc32fast::hash(&buf[4..]);
    assert_eq!(&buf[0..4], &crc.to_le_bytes());
}

#[test]
fn decode_round_trips() {
    let mut buf = one(1, b"hello");
    encode(&mut buf, 2, b"world!");
    buf.extend_from_slice(&[0; 32]);
    let Decoded::Record { seq, payload_start, next } = decode(&buf, 0) else {
        panic!("first frame should decode");
    };
    assert_eq!((seq, &buf[payload_start..next]), (1, &b"hello"[..]));
    let Decoded::Record { seq, payload_start, next: end } = decode(&buf, next) else {
        panic!("second frame should decode");
    };
    assert_eq!((seq, &buf[payload_start..end]), (2, &b"world!"[..]));
    assert_eq!(decode(&buf, end), Decoded::End);
}

#[test]
fn exactly_full_buffer_is_end() {
    let buf = one(1, b"x");
    assert_eq!(decode(&buf, buf.len()), Decoded::End);
    assert_eq!(decode(&buf, buf.len() + 100), Decoded::End);
}

#[test]
fn defects_are_classified() {
    let good = one(9, b"payload");

    let mut flipped = good.clone();
    flipped[18] ^= 0x01;
    assert!(matches!(decode(&flipped, 0), Decoded::Bad(FrameDefect::CrcMismatch { .. })));

    let mut huge = good.clone();
    huge[4..8].copy_from_slice(&(MAX_PAYLOAD as u32 + 1).to_le_bytes());
    assert!(matches!(decode(&huge, 0), Decoded::Bad(FrameDefect::LengthTooLarge { .. })));

    let cut = &good[..good.len() - 1];
    assert!(matches!(decode(cut, 0), Decoded::Bad(FrameDefect::PastSegmentEnd { len: 7 })));

    assert_eq!(decode(&good[..10], 0), Decoded::Bad(FrameDefect::PartialHeader));
    assert_eq!(decode(&[0u8; 10], 0), Decoded::End);
}

#[test]
fn later_frame_is_found_only_with_a_later_seq() {
    let mut buf = vec![0xAB; 5];
    let at = buf.len();
    encode(&mut buf, 12, b"later");
    let last = buf.len() - 1;
    assert_eq!(find_later_frame(&buf, 0, last, 11), Some((at, 12)));
    assert_eq!(find_later_frame(&buf, 0, last, 12), None);
    assert_eq!(find_later_frame(&buf, at + 1, last, 11), None);
}

#[test]
fn decode_never_panics_on_short_or_odd_input() {
    for len in 0..40 {
        let buf: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
        for pos in 0..len + 3 {
            let _ = decode(&buf, pos);
            let _ = find_later_frame(&buf, pos, len.saturating_sub(1), 0);
        }
    }
}
