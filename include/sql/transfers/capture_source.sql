-- What one source table recorded in [captured_from, captured_to), per UTC day and the value of
-- its recipient column: records, records without a legal basis, and a HyperLogLog sketch of the
-- subjects (precision 14). A subject is its user id, or the keyed pseudonym that replaced it on
-- the rows of an erased account; the sketch hashes it with a secret key, so it holds no id and
-- cannot be tested for a known one. Register index = the hash's first 14 bits; rank = the
-- position of the first 1 in the remaining 50 (51 when they are all 0).
WITH scoped AS (
    SELECT ({clock} AT TIME ZONE 'UTC')::date AS day,
           {column}::text AS seen,
           COALESCE('u:' || {subject}::text, 'p:' || {pseudonym}::text) AS subject,
           {without_basis} AS without_basis
    FROM {table}
    WHERE {clock} >= %(captured_from)s AND {clock} < %(captured_to)s
), per_subject AS (
    SELECT day, seen, subject, count(*) AS records, count(*) FILTER (WHERE without_basis) AS without_basis
    FROM scoped
    GROUP BY day, seen, subject
), hashed AS (
    SELECT day, seen, records, without_basis,
           ('x' || encode(substr(sha256(%(sketch_key)s::bytea || convert_to(subject, 'UTF8')), 1, 8), 'hex'))::bit(64)
               AS h
    FROM per_subject
), registers AS (
    SELECT day, seen, substring(h FROM 1 FOR 14)::integer AS idx,
           max(COALESCE(NULLIF(position(B'1' IN substring(h FROM 15)), 0), 51)) AS rank,
           sum(records) AS records, sum(without_basis) AS without_basis
    FROM hashed
    GROUP BY day, seen, idx
)
SELECT day, seen, sum(records)::bigint AS records, sum(without_basis)::bigint AS records_without_basis,
       COALESCE(array_agg(idx * 64 + rank ORDER BY idx) FILTER (WHERE idx IS NOT NULL), '{{}}') AS subject_sketch
FROM registers
GROUP BY day, seen
ORDER BY day, seen
