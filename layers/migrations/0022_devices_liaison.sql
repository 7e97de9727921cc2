-- The phone app (issue: phone page for grid workers and liaisons).
--
-- Device tokens: api_tokens rows of kind 'device', valid 30 days (expires_at),
-- issued by POST /api/v1/devices after the login checks. Ordinary tokens (kind
-- 'script') keep no expiry and stay until revoked. A password, role,
-- jurisdiction, state or staff-link change of the user revokes its device tokens
-- (as 0015 ends its sessions), whatever path makes the change.
ALTER TABLE api_tokens
    ADD COLUMN kind text NOT NULL DEFAULT 'script' CHECK (kind IN ('script', 'device')),
    ADD COLUMN expires_at timestamptz;
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id) WHERE revoked_at IS NULL;

-- The new role 网格联络员 (layers/access.py).
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('admin', 'planner', 'dispatcher', 'leader', 'field_worker',
                    'grid_liaison', 'viewer'));

-- An account may be the login of one grid staff person (tasks assigned to them,
-- their patrol tracks). Not a declared foreign key: the demo replaces grid_staff
-- with TRUNCATE, which a foreign key from users would refuse; the two triggers
-- below keep the link honest instead (an unknown person is refused; a deleted
-- person unlinks), and the demo loader unlinks before its TRUNCATE.
ALTER TABLE users ADD COLUMN staff_id bigint UNIQUE;

CREATE FUNCTION users_staff_exists() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.staff_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM grid_staff WHERE id = NEW.staff_id) THEN
        RAISE EXCEPTION 'no grid staff %', NEW.staff_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'users_staff_id_fkey';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER users_staff_exists BEFORE INSERT OR UPDATE OF staff_id ON users
    FOR EACH ROW EXECUTE FUNCTION users_staff_exists();

CREATE FUNCTION grid_staff_unlink_users() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE users SET staff_id = NULL WHERE staff_id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER grid_staff_unlink_users AFTER DELETE ON grid_staff
    FOR EACH ROW EXECUTE FUNCTION grid_staff_unlink_users();

-- One trigger for what ends a user's logins (0015 ended the sessions alone): a
-- password, role, jurisdiction or active change ends the sessions and revokes
-- the phones' device tokens; a change of the staff link revokes the device
-- tokens only (the phone works as that person). Scripts' tokens stay.
DROP TRIGGER users_end_sessions ON users;
DROP FUNCTION users_end_sessions();
CREATE FUNCTION users_end_logins() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.password_hash IS DISTINCT FROM NEW.password_hash
            OR OLD.role IS DISTINCT FROM NEW.role
            OR OLD.grid_code IS DISTINCT FROM NEW.grid_code
            OR OLD.active IS DISTINCT FROM NEW.active THEN
        DELETE FROM sessions WHERE user_id = NEW.id;
    END IF;
    UPDATE api_tokens SET revoked_at = now()
    WHERE user_id = NEW.id AND kind = 'device' AND revoked_at IS NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER users_end_logins AFTER UPDATE ON users FOR EACH ROW
    WHEN (OLD.password_hash IS DISTINCT FROM NEW.password_hash
          OR OLD.role IS DISTINCT FROM NEW.role
          OR OLD.grid_code IS DISTINCT FROM NEW.grid_code
          OR OLD.active IS DISTINCT FROM NEW.active
          OR OLD.staff_id IS DISTINCT FROM NEW.staff_id)
    EXECUTE FUNCTION users_end_logins();

-- Idempotency keys (api/idempotency.py): the first answer to a state-changing
-- request the phone may send again, per (user, key). status NULL: the first
-- request is still running.
CREATE TABLE idempotency_keys (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 200),
    request_sha256 text NOT NULL CHECK (request_sha256 ~ '^[0-9a-f]{64}$'),
    status smallint,
    content_type text,
    body text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
