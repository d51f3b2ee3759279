-- The intent of one archive object, recorded before it is uploaded: which key, which rows
-- (count and key range of the local file), its SHA-256 and its retain-until date.
INSERT INTO governance.archive_manifests
    (run_id, rule, source_table, partition_key, bucket, object_key, sha256, row_count, min_key, max_key,
     retain_until, state)
VALUES (%(run_id)s, %(rule)s, %(source_table)s, %(partition_key)s, %(bucket)s, %(object_key)s, %(sha256)s,
        %(row_count)s, %(min_key)s, %(max_key)s, %(retain_until)s, 'intent')
RETURNING manifest_id
