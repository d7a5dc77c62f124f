-- Interpreters are a pool of their own: the agencies each serves (comma-separated ids; none
-- means every agency). Empty for officers and administrators.
ALTER TABLE staff ADD COLUMN serves TEXT NOT NULL DEFAULT '';
