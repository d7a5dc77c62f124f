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
