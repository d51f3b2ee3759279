-- Record an object's S3 legal hold after S3 confirmed it.
UPDATE governance.archive_manifests SET legal_hold = %(hold)s WHERE manifest_id = %(manifest_id)s
