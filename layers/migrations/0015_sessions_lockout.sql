-- Sessions live in the database (security issue, item 5): the cookie holds a random
-- session id, signed; its sha256 is kept here. Logout deletes the row, and a
-- password, role, jurisdiction or active change deletes every row of that user
-- (the trigger below: whatever path makes the change, the CLI, a page or SQL).
CREATE TABLE sessions (
    id_sha256 text PRIMARY KEY CHECK (id_sha256 ~ '^[0-9a-f]{64}$'),
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- the idle lifetime: each request pushes expires_at to now() + idle
    -- (layers/users.py principal_for_session), up to a maximum age
    idle interval NOT NULL,
    expires_at timestamptz NOT NULL,
    address text
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE FUNCTION users_end_sessions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM sessions WHERE user_id = NEW.id;
    RETURN NULL;
END $$;

CREATE TRIGGER users_end_sessions AFTER UPDATE ON users FOR EACH ROW
    WHEN (OLD.password_hash IS DISTINCT FROM NEW.password_hash
          OR OLD.role IS DISTINCT FROM NEW.role
          OR OLD.grid_code IS DISTINCT FROM NEW.grid_code
          OR OLD.active IS DISTINCT FROM NEW.active)
    EXECUTE FUNCTION users_end_sessions();

-- Login throttling (item 12): failures count per (account, address) pair and per
-- account since the later of the window's start and the account's last unlock by
-- an administrator.
ALTER TABLE users ADD COLUMN unlocked_at timestamptz;
