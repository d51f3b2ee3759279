-- The people (first 64 bits of their pseudonyms) whose events an object holds.
INSERT INTO governance.archive_subjects (manifest_id, subject_hash)
SELECT %(manifest_id)s, h FROM unnest(%(hashes)s::bigint[]) AS h
