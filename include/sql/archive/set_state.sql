-- Move an archive object to its next state (and record what that state adds).
UPDATE governance.archive_manifests
SET state = %(state)s,
    version_id = coalesce(%(version_id)s, version_id),
    verified_at = CASE WHEN %(state)s = 'verified' THEN now() ELSE verified_at END,
    completed_at = CASE WHEN %(state)s = 'complete' THEN now() ELSE completed_at END,
    expired_at = CASE WHEN %(state)s = 'expired' THEN now() ELSE expired_at END,
    rows_removed = rows_removed + %(rows_removed)s
WHERE manifest_id = %(manifest_id)s
