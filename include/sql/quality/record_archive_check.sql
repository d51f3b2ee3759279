INSERT INTO dq_archive_objects (manifest_id, object_exists, sha256_matches, lock_mode, retain_until,
                                recorded_retain_until, required_until)
VALUES (%(manifest_id)s, %(object_exists)s, %(sha256_matches)s, %(lock_mode)s, %(retain_until)s,
        %(recorded_retain_until)s, %(required_until)s)
