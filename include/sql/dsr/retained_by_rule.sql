-- The newest clock among the person's kept rows that one retention rule governs, per value of the
-- rule's period column ({group}: the column, or NULL for a rule with one period).
SELECT {group} AS period_key, max({clock}) AS newest
FROM {schema}.{table}
WHERE {pseudonym_column} = %(pseudonym)s AND {matches} AND {clock} IS NOT NULL
GROUP BY 1
