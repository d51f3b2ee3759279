-- Archive objects whose retention ended by the cutoff and that no legal hold keeps.
SELECT manifest_id, object_key, version_id, row_count, retain_until
FROM governance.archive_manifests
WHERE rule = %(rule)s AND bucket = %(bucket)s AND state = 'complete' AND NOT legal_hold
  AND retain_until <= %(cutoff)s
ORDER BY retain_until, manifest_id
