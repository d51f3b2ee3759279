-- Judge every indexed report of the listed buckets against their listing (stack_report_objects): one whose object
-- (that version, where the index has one) is gone gets missing_since, kept from the first time it was found gone;
-- one that is back (a restored state) loses it. Returns, per changed row, whether it is gone now.
WITH judged AS (
    SELECT r.report_id,
           NOT EXISTS (SELECT FROM stack_report_objects AS o
                       WHERE o.bucket = r.bucket AND o.object_key = r.object_key
                         AND (r.version_id IS NULL OR o.version_id = r.version_id)) AS gone
    FROM governance.report_index AS r
    WHERE r.bucket = ANY (%(buckets)s)
)
UPDATE governance.report_index AS r
SET missing_since = CASE WHEN judged.gone THEN now() END
FROM judged
WHERE judged.report_id = r.report_id AND judged.gone <> (r.missing_since IS NOT NULL)
RETURNING judged.gone
