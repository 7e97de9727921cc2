-- Accounts, API tokens, login throttling; personal data columns.
-- Roles are those of layers/access.py (ROLE_PERMISSIONS).

CREATE TABLE users (
    id bigserial PRIMARY KEY,
    username text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.@-]{2,64}$'),
    display_name text,
    role text NOT NULL
        CHECK (role IN ('admin', 'planner', 'dispatcher', 'leader', 'field_worker',
                        'viewer')),
    -- jurisdiction: the user sees and changes this grid's subtree only;
    -- NULL = the whole deployment (admins, county-level centres). No foreign key:
    -- grids are replaced wholesale by imports and demos, and a code that no longer
    -- exists simply matches nothing (fails closed).
    grid_code text CHECK (grid_code ~ '^[0-9]{9}([0-9]{3}){0,3}$'),
    password_hash text,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);

CREATE TABLE api_tokens (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    name text NOT NULL,
    -- sha256 of the token: the token itself is shown once and never stored
    token_sha256 text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text,
    last_used_at timestamptz,
    revoked_at timestamptz
);

-- Every login attempt: throttling (per account and per address) reads the recent
-- failures; kept in the database so that restarts and several server processes
-- share it, and so that failed logins are on record.
CREATE TABLE login_attempts (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    username text NOT NULL,
    address text,
    ok boolean NOT NULL
);
CREATE INDEX login_attempts_user_idx ON login_attempts (username, at);
CREATE INDEX login_attempts_address_idx ON login_attempts (address, at);

ALTER TABLE households ADD COLUMN id_number text;

-- Jurisdiction filters cut grid codes by prefix: index them for LIKE 'prefix%'.
CREATE INDEX cameras_grid_prefix_idx ON cameras (grid_code text_pattern_ops);
CREATE INDEX incidents_grid_prefix_idx ON incidents (grid_code text_pattern_ops);
CREATE INDEX grids_code_prefix_idx ON grids (code text_pattern_ops);
