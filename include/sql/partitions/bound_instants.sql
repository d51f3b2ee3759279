-- The instants that partition bounds name, read back by the server that printed them: a bound
-- is printed in this session's DateStyle and TimeZone, and read here in the same ones, so
-- the round trip is exact whatever they are. A bound of a timestamp or date column becomes the
-- instant this session's TimeZone gives it, the same one a comparison with a timestamptz
-- cutoff gives its rows. An infinite bound reads as NULL (no bound on that side).
SELECT CASE WHEN isfinite(literal.value::timestamptz) THEN literal.value::timestamptz END
FROM unnest(%(literals)s::text[]) WITH ORDINALITY AS literal(value, position)
ORDER BY literal.position
