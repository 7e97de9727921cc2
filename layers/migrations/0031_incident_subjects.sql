-- Whom and where an incident concerns (矛盾纠纷排查, issue 19): the household it
-- concerns (picked from the gazetteer) or a free address, and the parties' names
-- (0..n, personal data). The same household, address or pair of parties with
-- repeated disputes is listed as 重点关注 (layers/disputes.py).
--
-- No foreign keys to incidents or households, on purpose: both are being turned
-- into tables partitioned by county, whose keys then include the county (a
-- foreign key would have to name it). The rows join on the ids; a household that
-- goes keeps the incident's address snapshot here (address, address_key), and
-- the demo loader's TRUNCATE of incidents empties both through the trigger below.

CREATE TABLE incident_subjects (
    incident_id bigint PRIMARY KEY,           -- incidents.id
    household_id bigint,                      -- households.id, or NULL
    -- the address as typed, or the household's at registration (the snapshot)
    address text CHECK (char_length(address) BETWEEN 1 AND 200),
    -- geo.address.normalize_address(address): what "the same address" compares
    address_key text,
    CONSTRAINT incident_subjects_something
        CHECK (household_id IS NOT NULL OR address IS NOT NULL),
    CONSTRAINT incident_subjects_key CHECK ((address IS NULL) = (address_key IS NULL))
);
CREATE INDEX incident_subjects_household_idx ON incident_subjects (household_id)
    WHERE household_id IS NOT NULL;
CREATE INDEX incident_subjects_address_idx ON incident_subjects (address_key)
    WHERE address_key IS NOT NULL;

CREATE TABLE incident_parties (
    incident_id bigint NOT NULL,              -- incidents.id
    position smallint NOT NULL CHECK (position >= 1),
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 50),
    -- geo.disputes.normalize_name(name): what "the same pair of parties" compares
    name_key text NOT NULL,
    PRIMARY KEY (incident_id, position)
);
CREATE INDEX incident_parties_name_idx ON incident_parties (name_key);

CREATE FUNCTION incident_subjects_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE incident_subjects, incident_parties;
    RETURN NULL;
END $$;

CREATE TRIGGER incidents_truncate_subjects AFTER TRUNCATE ON incidents
    FOR EACH STATEMENT EXECUTE FUNCTION incident_subjects_truncate();

-- The rule (a deployment setting kept in the database, so that the API, the
-- phones' task lists and the monthly report job read the same one): `count`
-- disputes or more within `days` days. The deployment's administrator changes
-- it in the database (UPDATE meta SET value = '{"count": 4, "days": 60}' WHERE
-- key = 'recurring_disputes'); no page edits it yet.
INSERT INTO meta (key, value) VALUES ('recurring_disputes', '{"count": 3, "days": 90}')
    ON CONFLICT (key) DO NOTHING;
