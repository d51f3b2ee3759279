-- The index row of a report object already recorded with the same bytes.
SELECT report_id FROM governance.report_index
WHERE bucket = %(bucket)s AND object_key = %(object_key)s AND sha256 = %(sha256)s
