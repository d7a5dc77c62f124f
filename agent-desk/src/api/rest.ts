// Generated from the broker's REST types by its `typescript` test. Do not edit by hand:
// NARA_BLESS=1 cargo test -p nara-broker --test typescript

import type { KioskToBroker, SelfTestReport } from '../protocol/protocol';

/** A kiosk's last heartbeat as it sent it. */
export type Heartbeat = Extract<KioskToBroker, { type: 'heartbeat' }>;

export type ApiErrorCode = "badRequest" | "unauthorized" | "forbidden" | "notFound" | "conflict" | "unprocessable" | "methodNotAllowed" | "unsupportedMediaType" | "tooManyRequests" | "internal";

export type ApiErrorBody = { code: ApiErrorCode, message: string, };

export type Role = "officer" | "interpreter" | "admin";

export type LoginRequest = { username: string, password: string, };

export type MeResponse = { staff: string, displayName: string, role: Role, agency: string | null, region: string | null, languages: Array<string>, };

export type KioskView = { id: string, name: string, site: string, siteName: string, region: string, online: boolean, enrolled: boolean, revoked: boolean, outOfService: string | null, lastSeen: number | null, softwareVersion: string | null, lastHeartbeat: Heartbeat | null, lastSelfTest: SelfTestReport | null, 
/**
 * Plain-language problems for the alert list, e.g. "offline", "scanner: paper jam".
 */
alerts: Array<string>, 
/**
 * The latest heartbeats, newest first; only in a single kiosk's view.
 */
recentHeartbeats: Array<RecentHeartbeat>, };

export type RecentHeartbeat = { at: number, heartbeat: Heartbeat, };

export type NewKiosk = { site: string, name: string, };

export type NewKioskResponse = { kiosk: string, enrolmentCode: string, expiresAt: number, };

export type OutOfService = { 
/**
 * The message shown on the kiosk; `null` puts it back in service.
 */
message: string | null, };

export type AgencyRow = { id: string, name: string, 
/**
 * Opening hours, e.g. `mon-fri 09:00-16:00`.
 */
hours: string, 
/**
 * ISO 639 codes, e.g. `sv`, `ar`, `prs`.
 */
languages: Array<string>, };

export type SiteRow = { id: string, name: string, region: string, };

export type StaffView = { id: string, username: string, displayName: string, role: Role, agency: string | null, region: string | null, languages: Array<string>, skills: Array<string>, 
/**
 * An interpreter's agencies; none meaning all.
 */
serves: Array<string>, disabled: boolean, };

export type NewStaff = { 
/**
 * Letters, digits, `.`, `-` and `_`; the account's id is this with `.` as `-`.
 */
username: string, displayName: string, password: string, role: Role, agency: string | null, region: string | null, languages: Array<string>, skills: Array<string>, };

export type StaffAbilities = { languages: Array<string>, skills: Array<string>, serves: Array<string>, };

export type BookingRow = { code: string, agency: string, language: string, appointmentAt: number, interpreterNeeded: boolean, createdBy: string, checkedInAt: number | null, };

export type NewBooking = { agency: string, language: string, appointmentAt: number, interpreterNeeded: boolean, };

export type AuditRow = { at: number, actor: string, action: string, target: string, detail: string, };

export type GroupBy = "site" | "kiosk" | "agency" | "language" | "day" | "month";

export type StatsRow = { group: string, 
/**
 * Queue segments: a visit transferred once counts in both agencies.
 */
visits: number, served: number, 
/**
 * Meetings the citizen ended before the officer did.
 */
endedByCitizen: number, abandoned: number, transferred: number, failed: number, waitMedianSeconds: number | null, waitP90Seconds: number | null, durationMedianSeconds: number | null, documents: number, documentBytes: number, surveyAnswers: number, surveyAverage: number | null, };
