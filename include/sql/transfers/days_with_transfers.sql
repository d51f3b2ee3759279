-- The first day in [since, period_end) on which each registered recipient and destination had a transfer,
-- and the last: for the lawful-date and the stale-entry findings.
SELECT t.recipient, country, min(t.day) AS first_day, max(t.day) AS last_day
FROM governance.transfer_daily AS t, unnest(t.countries) AS country
WHERE t.day >= %(since)s AND t.day < %(period_end)s
GROUP BY t.recipient, country
