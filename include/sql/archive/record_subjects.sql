-- The pseudonyms of the people whose events an object holds.
INSERT INTO governance.archive_subjects (manifest_id, user_pseudonym)
SELECT %(manifest_id)s, p FROM unnest(%(pseudonyms)s::text[]) AS p
ON CONFLICT DO NOTHING
