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
        vec![$(format!("export {}", <$t as TS>::decl())),*]
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
    let mut out = String::from(
        "// Generated from broker/protocol by its `typescript` test. Do not edit by hand:\n\
         // NARA_BLESS=1 cargo test -p nara-protocol --test typescript\n\n",
    );
    out.push_str(&format!(
        "export const PROTOCOL_VERSION = {};\n\n",
        PROTOCOL_VERSION
    ));
    for decl in decls {
        out.push_str(&decl);
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[test]
fn generated_typescript_is_current() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../agent-desk/src/protocol/protocol.ts");
    let generated = generate();
    if std::env::var_os("NARA_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "agent-desk/src/protocol/protocol.ts is stale: NARA_BLESS=1 cargo test -p nara-protocol --test typescript"
    );
}
