-- Same schema as ../sqlite: BIGINT and TEXT only, so the queries are shared.
CREATE TABLE agencies (id TEXT PRIMARY KEY, name TEXT NOT NULL, hours TEXT NOT NULL, languages TEXT NOT NULL);
CREATE TABLE sites (id TEXT PRIMARY KEY, name TEXT NOT NULL, region TEXT NOT NULL);
CREATE TABLE staff (
    id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL, password_hash TEXT NOT NULL,
    role TEXT NOT NULL, agency TEXT, region TEXT, languages TEXT NOT NULL, skills TEXT NOT NULL, disabled BIGINT NOT NULL DEFAULT 0);
CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, staff_id TEXT NOT NULL, expires_at BIGINT NOT NULL);
CREATE TABLE kiosks (
    id TEXT PRIMARY KEY, site_id TEXT NOT NULL, name TEXT NOT NULL, cert_hash TEXT UNIQUE, enrolled_at BIGINT,
    revoked_at BIGINT, out_of_service TEXT, last_seen BIGINT, last_heartbeat TEXT, last_self_test TEXT, software_version TEXT);
CREATE TABLE enrolment_codes (code TEXT PRIMARY KEY, kiosk_id TEXT NOT NULL, created_by TEXT NOT NULL, expires_at BIGINT NOT NULL, used_at BIGINT);
CREATE TABLE bookings (
    code TEXT PRIMARY KEY, agency TEXT NOT NULL, language TEXT NOT NULL, appointment_at BIGINT NOT NULL,
    interpreter_needed BIGINT NOT NULL, created_by TEXT NOT NULL, checked_in_at BIGINT);
CREATE TABLE waiting_visits (
    visit_id TEXT PRIMARY KEY, kiosk_id TEXT NOT NULL, site_name TEXT NOT NULL, agency TEXT NOT NULL, language TEXT NOT NULL,
    topic TEXT, booking_at BIGINT, queued_at BIGINT NOT NULL, front BIGINT NOT NULL);
CREATE TABLE visit_segments (
    visit_id TEXT NOT NULL, kiosk_id TEXT NOT NULL, site_id TEXT NOT NULL, agency TEXT NOT NULL, language TEXT NOT NULL,
    queued_at BIGINT NOT NULL, first_offered_at BIGINT, answered_at BIGINT, ended_at BIGINT NOT NULL, outcome TEXT NOT NULL);
CREATE INDEX visit_segments_time ON visit_segments (queued_at);
CREATE TABLE visit_documents (visit_id TEXT NOT NULL, pages BIGINT NOT NULL, bytes BIGINT NOT NULL, at BIGINT NOT NULL);
CREATE TABLE visit_surveys (visit_id TEXT PRIMARY KEY, score BIGINT NOT NULL, at BIGINT NOT NULL);
CREATE TABLE audit_log (at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL);
