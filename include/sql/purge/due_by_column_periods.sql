-- Fragment: the row's clock started before the cutoff that its column value sets
-- (e.g. a payment's billing country), or before the default cutoff.
t.{clock} < COALESCE(
    (SELECT c.cutoff
     FROM unnest(%(period_values)s::text[], %(period_cutoffs)s::timestamptz[]) AS c(value, cutoff)
     WHERE c.value = t.{period_column}),
    %(cutoff)s)
