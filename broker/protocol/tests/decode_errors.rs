//! Bad input is refused while decoding, with an error naming what was wrong.

use nara_protocol::{
    decode, decode_request, encode, request_id_of, DecodeError, DeskToBroker, KioskToBroker,
    OfferId, Request, RequestId, MAX_MESSAGE_BYTES,
};

#[test]
fn malformed_json_is_malformed() {
    let err = decode::<KioskToBroker>("{\"type\":").unwrap_err();
    assert!(matches!(err, DecodeError::Malformed(_)), "{err:?}");
}

#[test]
fn unknown_type_names_the_type() {
    let err = decode::<DeskToBroker>(r#"{"type":"launchMissiles"}"#).unwrap_err();
    assert_eq!(err, DecodeError::UnknownType("launchMissiles".into()));
}

#[test]
fn unknown_inner_enum_is_invalid_not_unknown_type() {
    let err = decode::<DeskToBroker>(r#"{"type":"setStatus","status":"asleep"}"#).unwrap_err();
    assert!(
        matches!(&err, DecodeError::Invalid(m) if m.contains("asleep")),
        "{err:?}"
    );
}

#[test]
fn invalid_id_names_the_rule() {
    let err =
        decode::<KioskToBroker>(r#"{"type":"endVisit","visit":"v 1; DROP TABLE"}"#).unwrap_err();
    assert!(
        matches!(&err, DecodeError::Invalid(m) if m.contains("visit id may contain only")),
        "{err:?}"
    );
}

#[test]
fn invalid_language_names_the_rule() {
    let err = decode::<KioskToBroker>(
        r#"{"type":"startVisit","language":"Swedish","agency":"csn","topic":null}"#,
    )
    .unwrap_err();
    assert!(
        matches!(&err, DecodeError::Invalid(m) if m.contains("ISO 639")),
        "{err:?}"
    );
}

#[test]
fn survey_score_out_of_u8_is_invalid() {
    let err =
        decode::<KioskToBroker>(r#"{"type":"survey","visit":"v-1","score":900}"#).unwrap_err();
    assert!(matches!(err, DecodeError::Invalid(_)), "{err:?}");
}

#[test]
fn oversized_message_is_refused_before_parsing() {
    let text = format!(
        r#"{{"type":"endVisit","visit":"{}"}}"#,
        "a".repeat(MAX_MESSAGE_BYTES)
    );
    let err = decode::<KioskToBroker>(&text).unwrap_err();
    assert!(matches!(err, DecodeError::TooLarge { .. }), "{err:?}");
}

#[test]
fn deeply_nested_json_is_refused_without_overflow() {
    let text = "[".repeat(10_000) + &"]".repeat(10_000);
    let err = decode::<KioskToBroker>(&text).unwrap_err();
    assert!(
        matches!(err, DecodeError::Malformed(_) | DecodeError::Invalid(_)),
        "{err:?}"
    );
}

#[test]
fn booking_code_typed_loosely_is_normalised() {
    let code = nara_protocol::BookingCode::parse_typed("k7m2 px9q").unwrap();
    assert_eq!(code.as_str(), "K7M2PX9Q");
    assert!(
        nara_protocol::BookingCode::parse_typed("K7M2PX90").is_err(),
        "0 is not in the alphabet"
    );
}

#[test]
fn a_request_carries_its_id_beside_the_message() {
    let request: Request<DeskToBroker> =
        decode_request(r#"{"type":"acceptOffer","offer":"o-1","requestId":"d7"}"#).unwrap();
    assert_eq!(request.request_id, Some(RequestId::new("d7").unwrap()));
    assert_eq!(
        request.message,
        DeskToBroker::AcceptOffer {
            offer: OfferId::new("o-1").unwrap()
        }
    );
    let unnamed: Request<KioskToBroker> =
        decode_request(r#"{"type":"endVisit","visit":"v-1"}"#).unwrap();
    assert_eq!(unnamed.request_id, None);
    assert_eq!(
        encode(&Request::unnamed(DeskToBroker::RefreshQueues)),
        r#"{"type":"refreshQueues"}"#
    );
}

#[test]
fn a_request_is_refused_as_its_bare_message_would_be_and_its_id_is_still_read() {
    let text = r#"{"type":"launchMissiles","requestId":"d8"}"#;
    let err = decode_request::<DeskToBroker>(text).unwrap_err();
    assert_eq!(err, DecodeError::UnknownType("launchMissiles".into()));
    assert_eq!(request_id_of(text), Some(RequestId::new("d8").unwrap()));

    let text = r#"{"type":"setStatus","status":"asleep","requestId":"d9"}"#;
    let err = decode_request::<DeskToBroker>(text).unwrap_err();
    assert!(
        matches!(&err, DecodeError::Invalid(m) if m.contains("asleep")),
        "{err:?}"
    );
    assert_eq!(request_id_of(text), Some(RequestId::new("d9").unwrap()));

    let err = decode_request::<DeskToBroker>(r#"{"type":"refreshQueues","requestId":"a b"}"#)
        .unwrap_err();
    assert!(
        matches!(&err, DecodeError::Invalid(m) if m.contains("request id")),
        "{err:?}"
    );
    assert_eq!(request_id_of("not json"), None);
}
