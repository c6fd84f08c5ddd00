-- One server, two databases: the archive (`lse`, owned by LSE_DATABASE_URL's user) and
-- Dagster's own run/event storage (`dagster`).
CREATE DATABASE dagster OWNER lse;
