//! The desk's TypeScript types are generated from the Rust types. This test fails when the
//! checked-in `agent-desk/src/protocol/protocol.ts` differs from what the types generate;
//! `NARA_BLESS=1 cargo test -p nara-protocol --test typescript` rewrites it.

use nara_protocol::desk::*;
use nara_protocol::kiosk::*;
use nara_protocol::peer::*;
use nara_protocol::*;
use std::path::PathBuf;
use ts_rs::TS;

macro_rules! declarations {
    ($($t:ty),* $(,)?) => {
        vec![$(<$t as TS>::decl()),*]
    };
}

fn generate() -> String {
    let decls = declarations![
        KioskId,
        VisitId,
        CallId,
        StaffId,
        AgencyId,
        SiteId,
        RegionId,
        OfferId,
        RequestId,
        LanguageCode,
        Topic,
        BookingCode,
        Sdp,
        CandidateLine,
        ShortText,
        LongText,
        OpeningHours,
        Peer,
        SignalPayload,
        IceServer,
        WaitEstimate,
        WaitRange,
        StaffCard,
        StaffRoleKind,
        DeviceState,
        DeviceStates,
        NetworkQuality,
        KioskActivity,
        SelfTestReport,
        Outcome,
        ErrorCode,
        ErrorReply,
        KioskToBroker,
        AgencyChoice,
        VisitEndReason,
        BrokerToKiosk,
        AvailabilityChoice,
        StaffStatus,
        InviteTarget,
        TransferMode,
        DeskToBroker,
        OfferWithdrawnReason,
        OfferPurpose,
        WaitingVisit,
        QueueView,
        Me,
        BrokerToDesk,
        Sha256Hex,
        PageMediaType,
        PageManifest,
        DocumentFailure,
        PeerMessage,
    ];
    let header = format!(
        "// Generated from broker/protocol by its `typescript` test. Do not edit by hand:\n\
         // NARA_BLESS=1 cargo test -p nara-protocol --test typescript\n\n\
         export const PROTOCOL_VERSION = {PROTOCOL_VERSION};\n\n"
    );
    nara_protocol::typescript::module(&header, &decls)
}

#[test]
fn generated_typescript_is_current() {
    nara_protocol::typescript::check_or_bless(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../agent-desk/src/protocol/protocol.ts"),
        &generate(),
        "NARA_BLESS=1 cargo test -p nara-protocol --test typescript",
    );
}

/// The desk says each refusal an officer or interpreter can meet in its own words, in
/// Swedish and in English, chosen by code (`agent-desk/src/desk/refusal.ts`); a code added
/// here without words there fails this test.
#[test]
fn every_refusal_a_desk_can_meet_has_words_in_swedish_and_english() {
    let desk = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../agent-desk/src");
    let read = |path: &str| std::fs::read_to_string(desk.join(path)).unwrap();
    let refusal = read("desk/refusal.ts");
    let (swedish, english) = (read("messages/sv.ts"), read("messages/en.ts"));
    let text_of = |catalog: &str, key: &str| -> Option<String> {
        let start = catalog.find(&format!("'{key}': "))? + key.len() + 4;
        let rest = &catalog[start..];
        let quote = rest.chars().next()?;
        let end = rest[1..].find(quote)?;
        Some(rest[1..=end].to_string())
    };
    let desk_codes = [
        ErrorCode::AgencyUnknown,
        ErrorCode::AgencyClosed,
        ErrorCode::LanguageNotServed,
        ErrorCode::OfferGone,
        ErrorCode::CallGone,
        ErrorCode::NotOwner,
        ErrorCode::InCall,
        ErrorCode::AlreadyInvited,
        ErrorCode::TransferUnderway,
        ErrorCode::SameQueue,
        ErrorCode::OwnerCannotLeave,
        ErrorCode::RateLimited,
        ErrorCode::Internal,
        ErrorCode::SessionEnded,
    ];
    let mut seen = Vec::new();
    for code in desk_codes {
        let name = serde_json::to_value(code).unwrap();
        let name = name.as_str().unwrap();
        let key = format!("refusal.{name}");
        assert!(
            refusal.contains(&format!("{name}: '{key}'")),
            "refusal.ts gives {name} no words of its own"
        );
        let sv = text_of(&swedish, &key).unwrap_or_else(|| panic!("sv.ts lacks {key}"));
        let en = text_of(&english, &key).unwrap_or_else(|| panic!("en.ts lacks {key}"));
        assert!(!sv.is_empty() && sv != en, "{key}: {sv:?} / {en:?}");
        assert!(!seen.contains(&sv), "{key} repeats another refusal's words");
        seen.push(sv);
    }
    assert!(text_of(&swedish, "refusal.other").is_some());
}
