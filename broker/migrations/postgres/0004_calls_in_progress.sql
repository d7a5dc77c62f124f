-- Calls in progress, so that a broker restart does not end them: who is in each call, who
-- owns it and any transfer under way, as one JSON record. Never chat or documents.
CREATE TABLE calls_in_progress (
    call_id TEXT PRIMARY KEY,
    record TEXT NOT NULL
);
