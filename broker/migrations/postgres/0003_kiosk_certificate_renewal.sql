-- A kiosk renewing its certificate: the one it had stays valid until the new one is first
-- presented, so a renewal whose answer is lost does not lock the kiosk out.
ALTER TABLE kiosks ADD COLUMN previous_cert_hash TEXT;
