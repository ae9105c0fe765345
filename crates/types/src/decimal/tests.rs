use super::*;
use proptest::prelude::*;

fn dec(text: &str) -> Decimal {
    Decimal::parse(text, Sign::Signed).expect("valid decimal")
}

#[test]
fn parses_plain_decimals_exactly() {
    assert_eq!(dec("143.27"), Decimal::new(14327, 2).unwrap());
    assert_eq!(dec("1.50"), Decimal::new(15, 1).unwrap());
    assert_eq!(dec("0"), Decimal::ZERO);
    assert_eq!(dec("-0.05"), Decimal::new(-5, 2).unwrap());
    assert_eq!(dec("007"), Decimal::new(7, 0).unwrap());
}

#[test]
fn refuses_everything_that_is_not_a_plain_decimal() {
    let cases = [
        ("", DecimalError::Empty),
        (" 1", DecimalError::Whitespace),
        ("1 ", DecimalError::Whitespace),
        ("1\t", DecimalError::Whitespace),
        ("+1", DecimalError::Sign),
        ("1-", DecimalError::Sign),
        ("1e5", DecimalError::Exponent),
        ("1E-2", DecimalError::Exponent),
        ("NaN", DecimalError::NotANumber),
        ("inf", DecimalError::NotANumber),
        ("Infinity", DecimalError::NotANumber),
        ("1.", DecimalError::NotANumber),
        (".5", DecimalError::NotANumber),
        ("1.2.3", DecimalError::NotANumber),
        ("0x10", DecimalError::NotANumber),
        ("1,5", DecimalError::NotANumber),
        ("-", DecimalError::NotANumber),
        ("99999999999999999999999999999999999999999", DecimalError::Overflow),
    ];
    for (text, expected) in cases {
        assert_eq!(Decimal::parse(text, Sign::Signed), Err(expected), "input {text:?}");
    }
    assert_eq!(Decimal::parse("-1", Sign::Unsigned), Err(DecimalError::Sign));
}

#[test]
fn converts_to_units_only_when_exact() {
    let tick = dec("0.01");
    assert_eq!(dec("143.27").to_units(tick), Ok(14327));
    assert_eq!(dec("143.270").to_units(tick), Ok(14327));
    assert_eq!(dec("143.275").to_units(tick), Err(DecimalError::TooPrecise { unit: tick }));
    let nickel = dec("0.05");
    assert_eq!(dec("1.10").to_units(nickel), Ok(22));
    assert_eq!(dec("1.12").to_units(nickel), Err(DecimalError::NotMultiple { unit: nickel }));
    assert_eq!(dec("10").to_units(dec("5")), Ok(2));
    assert_eq!(dec("92233720368547758080").to_units(dec("1")), Err(DecimalError::Overflow));
}

#[test]
fn field_errors_name_the_field() {
    let err = parse_units("price", "1.234", dec("0.01")).unwrap_err();
    assert_eq!(err.to_string(), "price has more decimal places than 0.01 allows");
    let err = parse_units("quantity", "0", dec("0.1")).unwrap_err();
    assert_eq!(err.to_string(), "quantity must be positive");
    let err = parse_units("quantity", "1e3", dec("0.1")).unwrap_err();
    assert_eq!(err.field, "quantity");
}

#[test]
fn formats_with_the_unit_scale() {
    assert_eq!(Decimal::format_units(14320, dec("0.01")), "143.20");
    assert_eq!(Decimal::format_units(5, dec("0.001")), "0.005");
    assert_eq!(Decimal::format_units(-5, dec("0.01")), "-0.05");
    assert_eq!(Decimal::format_units(3, dec("5")), "15");
    assert_eq!(dec("0.000001").to_string(), "0.000001");
}

proptest! {
    #[test]
    fn never_panics_on_any_text(text in "\\PC{0,48}") {
        let _ = Decimal::parse(&text, Sign::Signed);
        let _ = parse_units("price", &text, dec("0.01"));
    }

    #[test]
    fn format_then_parse_round_trips(units in 1i64..i64::MAX / 1000, scale in 0u32..9) {
        let unit = Decimal::new(1, scale).unwrap();
        let text = Decimal::format_units(units, unit);
        prop_assert_eq!(parse_units("quantity", &text, unit), Ok(units));
    }
}
