-- Cut the link to the person on rows that must outlive the account: user_id is cleared and
-- a keyed hash (HMAC-SHA256 with a secret key) takes its place.
UPDATE {table} AS t
SET {subject_column} = NULL, {pseudonym_column} = p.pseudonym
FROM unnest(%(subjects)s::bigint[], %(pseudonyms)s::text[]) AS p(subject, pseudonym)
WHERE t.{subject_column} = p.subject AND {filter}
