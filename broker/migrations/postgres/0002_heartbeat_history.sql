-- The last heartbeats of each kiosk, for the administrator's kiosk page. Only the most recent
-- few per kiosk are kept (see record_heartbeat).
CREATE TABLE kiosk_heartbeats (kiosk_id TEXT NOT NULL, at BIGINT NOT NULL, heartbeat TEXT NOT NULL);
CREATE INDEX kiosk_heartbeats_kiosk ON kiosk_heartbeats (kiosk_id, at);
