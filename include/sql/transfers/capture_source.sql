-- What one source table recorded in [captured_from, captured_to), per UTC day and the value of
-- its recipient column: records, records without a legal basis, and a HyperLogLog sketch of the
-- subjects (precision 14). A subject is its user id, or the keyed pseudonym that replaced it on
-- the rows of an erased account. The sketch hashes it with PostgreSQL's seeded 64-bit hash and
-- a secret seed, so it holds no id, and without the seed nobody can test it for a known one.
-- Register index = the hash's top 14 bits; rank = 1 + the number of trailing zeros of the other
-- 50 (51 when they are all 0): w & -w isolates the lowest set bit, an exact power of two.
WITH per_subject AS (
    SELECT ({clock} AT TIME ZONE 'UTC')::date AS day, {column}::text AS seen, {subject} AS subject,
           {pseudonym}::text AS pseudonym, count(*) AS records, count(*) FILTER (WHERE {without_basis}) AS without_basis
    FROM {table}
    WHERE {clock} >= %(captured_from)s AND {clock} < %(captured_to)s
    GROUP BY 1, 2, 3, 4
), hashed AS (
    SELECT day, seen, records, without_basis,
           COALESCE(hashint8extended(subject, %(sketch_seed)s), hashtextextended('p:' || pseudonym, %(sketch_seed)s))
               AS h
    FROM per_subject
), registers AS (
    SELECT day, seen, ((h >> 50) & 16383)::integer AS idx,
           max(CASE WHEN h & 1125899906842623 = 0 THEN 51
                    ELSE round(ln((h & 1125899906842623 & -(h & 1125899906842623))::float8) / ln(2::float8))::integer + 1
               END) AS rank,
           sum(records) AS records, sum(without_basis) AS without_basis
    FROM hashed
    GROUP BY 1, 2, 3
)
SELECT day, seen, sum(records)::bigint AS records, sum(without_basis)::bigint AS records_without_basis,
       COALESCE(array_agg(idx * 64 + rank) FILTER (WHERE idx IS NOT NULL), '{{}}') AS subject_sketch
FROM registers
GROUP BY day, seen
