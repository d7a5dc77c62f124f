//! The desk's types for the REST API are generated from the handlers' Rust types, as the
//! protocol's are. This test fails when the checked-in `agent-desk/src/api/rest.ts` differs;
//! `NARA_BLESS=1 cargo test -p nara-broker --test typescript` rewrites it.

use nara_broker::api::admin::*;
use nara_broker::api::auth::*;
use nara_broker::api::openapi::{ApiErrorBody, ApiErrorCode};
use nara_broker::api::staff::*;
use nara_broker::api::stats::*;
use nara_broker::storage::*;
use std::path::PathBuf;
use ts_rs::TS;

macro_rules! declarations {
    ($($t:ty),* $(,)?) => {
        vec![$(<$t as TS>::decl()),*]
    };
}

fn generate() -> String {
    let decls = declarations![
        ApiErrorCode,
        ApiErrorBody,
        Role,
        LoginRequest,
        MeResponse,
        KioskView,
        RecentHeartbeat,
        NewKiosk,
        NewKioskResponse,
        OutOfService,
        AgencyRow,
        SiteRow,
        StaffView,
        NewStaff,
        StaffAbilities,
        BookingRow,
        NewBooking,
        AuditRow,
        GroupBy,
        StatsRow,
    ];
    nara_protocol::typescript::module(
        "// Generated from the broker's REST types by its `typescript` test. Do not edit by hand:\n\
         // NARA_BLESS=1 cargo test -p nara-broker --test typescript\n\n\
         import type { KioskToBroker, SelfTestReport } from '../protocol/protocol';\n\n\
         /** A kiosk's last heartbeat as it sent it. */\n\
         export type Heartbeat = Extract<KioskToBroker, { type: 'heartbeat' }>;\n\n",
        &decls,
    )
}

#[test]
fn generated_typescript_is_current() {
    nara_protocol::typescript::check_or_bless(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../agent-desk/src/api/rest.ts"),
        &generate(),
        "NARA_BLESS=1 cargo test -p nara-broker --test typescript",
    );
}
